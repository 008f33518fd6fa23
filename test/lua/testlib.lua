-- Helpers shared by the test files: assertions, error checks, threads.
-- Runs on Lua 5.1-5.5 and LuaJIT: no goto, no //, no bit operators.

local mtmsg = require "mtmsg"

local t = {}

t.mtmsg = mtmsg
t.unpack = table.unpack or unpack
t.load = loadstring or load
t.luajit = rawget(_G, "jit") ~= nil
t.has_integers = math.type ~= nil
t.lua_version = _VERSION:match("%d+%.%d+")

-- A table of tests that remembers the order in which they are defined:
--   local tests = t.suite()
--   function tests.setmsg_discards_older_messages() ... end
function t.suite()
  local order = {}
  return setmetatable({}, {
    __newindex = function(self, name, fn)
      order[#order + 1] = { name = name, fn = fn }
      rawset(self, name, fn)
    end,
    __index = { _order = order },
  })
end

local function show(v)
  if type(v) == "string" then
    if #v > 60 then v = v:sub(1, 60) .. "...(" .. #v .. " bytes)" end
    return string.format("%q", v)
  end
  if t.has_integers and math.type(v) == "float" and v == math.floor(v) then
    return tostring(v) .. "(float)"
  end
  return tostring(v)
end

function t.check(cond, msg, level)
  if not cond then error(msg or "check failed", (level or 1) + 1) end
  return cond
end

function t.eq(got, want, what)
  if got ~= want then
    error((what and what .. ": " or "") .. "got " .. show(got) .. ", want " .. show(want), 2)
  end
end

-- Identity of values as mtmsg must keep them: NaN equals NaN, -0.0 differs
-- from 0.0, an integer differs from the float of the same value.
function t.same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then
    if a ~= a then return b ~= b end
    if t.has_integers and math.type(a) ~= math.type(b) then return false end
    if a == 0 and b == 0 then return 1 / a == 1 / b end
  end
  return a == b
end

function t.pack(...)
  return { n = select("#", ...), ... }
end

-- Compares a packed list of values with another, value by value (t.same).
function t.eq_values(got, want, what)
  what = what and what .. ": " or ""
  if got.n ~= want.n then
    error(what .. "got " .. got.n .. " values, want " .. want.n, 2)
  end
  for i = 1, want.n do
    if not t.same(got[i], want[i]) then
      error(what .. "value " .. i .. ": got " .. show(got[i]) .. ", want " .. show(want[i]), 2)
    end
  end
end

-- Calls f(...) expecting an error; returns the error text.
function t.fails(f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected an error, the call succeeded", 3) end
  if type(err) ~= "string" then error("expected an error string, got " .. show(err), 3) end
  return err
end

-- Expects f(...) to raise mtmsg.error.<name> (the text begins with it).
function t.raises(name, f, ...)
  local want = mtmsg.error[name]
  if not want then error("no error name " .. name, 2) end
  local ok, err = pcall(f, ...)
  if ok then error("expected " .. want .. ", the call succeeded", 2) end
  if type(err) ~= "string" or err:find(want, 1, true) ~= 1 then
    error("expected " .. want .. ", got " .. show(err), 2)
  end
  return err
end

-- Expects f(...) to raise a Lua argument error ("bad argument #n to 'f' ...").
function t.argerror(f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected an argument error, the call succeeded", 2) end
  if type(err) ~= "string" or not err:find("bad argument", 1, true) then
    error("expected an argument error, got " .. show(err), 2)
  end
  return err
end

-- Ends the current test without counting it as passed or failed.
function t.skip(reason)
  error({ skip = reason }, 0)
end

local name_counter = 0
-- A name no other test uses (names are process wide, buffers of earlier
-- tests may still be alive).
function t.uname(base)
  name_counter = name_counter + 1
  return "test." .. base .. "." .. name_counter
end

function t.collect()
  collectgarbage()
  collectgarbage()
end

-- Prints a measurement next to the test output, so slow runs are visible.
function t.note(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  print("  # " .. table.concat(parts, " "))
end

function t.elapsed_since(start)
  return mtmsg.time() - start
end

-- Threads (the test host's "llthreads2.ex"). The function given to t.start
-- is dumped and loaded in a new Lua state: it must not use upvalues, only
-- its arguments (nil, boolean, number, string) and globals.
local has_threads, llthreads = pcall(require, "llthreads2.ex")
t.llthreads = has_threads and llthreads or nil

function t.start(fn, ...)
  if not t.llthreads then t.skip("no thread module (llthreads2.ex)") end
  for i = 1, 255 do
    local name = debug.getupvalue(fn, i)
    if name == nil then break end
    if name ~= "_ENV" then error("thread function uses the upvalue " .. name, 2) end
  end
  local thread = t.llthreads.new(fn, ...)
  t.check(thread:start(), "thread did not start", 2)
  return thread
end

-- Joins a thread; raises its error if it failed, else returns its results.
function t.join(thread)
  local r = t.pack(thread:join())
  if not r[1] then error("thread failed: " .. tostring(r[2]), 2) end
  return t.unpack(r, 2, r.n)
end

-- The wait-for-room call: like addmsg, but when
-- a fixed-size buffer is full it waits up to `timeout` seconds (nil: as
-- long as it takes) for room; true when added, false on timeout. Its name
-- is spelled here only (threads get it as an argument).
t.WAIT_ADD = "waitaddmsg"
function t.wait_add(buffer, timeout, ...)
  return buffer[t.WAIT_ADD](buffer, timeout, ...)
end

-- The time limit for "woken within 100 ms": generous, this machine is noisy.
t.WAKE_LIMIT = 0.5

-- A fixed-size buffer with no room left for another "fill it up".
function t.full_fixed_buffer()
  local b = mtmsg.newbuffer(64, 64, 0)
  for _ = 1, 100 do
    if not b:addmsg("fill it up") then break end
  end
  t.eq(b:addmsg("fill it up"), false, "the buffer is full")
  return b
end

return t
