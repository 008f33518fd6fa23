-- Releasing a reference before the collector does: to-be-closed variables
-- (`local b <close> = ...`, Lua 5.4 and later) and __close called by hand
-- (every version), and what a released object still does.
--
-- The chunks that declare <close> variables are compiled with load(), so
-- that Lua 5.1-5.3 and LuaJIT can parse this file; there those tests skip.

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

local has_close = t.load("local x <close> = nil") ~= nil

-- A chunk that uses <close>; skips the test where Lua has no such variables.
local function close_chunk(source)
  if not has_close then t.skip("no to-be-closed variables in " .. _VERSION) end
  return assert(t.load(source))
end

-- Runs f(...) with the collector stopped, so that what is released was
-- released by __close and not collected.
local function without_collector(f, ...)
  collectgarbage("stop")
  local r = t.pack(pcall(f, ...))
  collectgarbage("restart")
  if not r[1] then error(r[2], 0) end
  return t.unpack(r, 2, r.n)
end

-- Makes an object in a <close> variable, hands it to keep, and leaves the
-- scope normally or (fail) by an error.
local scope = [[
  local make, keep, fail = ...
  local object <close> = make()
  keep(object)
  if fail then error("left by an error", 0) end
  return "left normally"
]]

-- The object that make() returned, after the scope that held it in a
-- <close> variable has ended.
local function leave_scope(make, fail)
  local chunk = close_chunk(scope)
  local kept
  local ok, result = pcall(chunk, make, function(object) kept = object end, fail)
  if fail then
    t.eq(ok, false, "a scope left by an error")
    t.eq(result, "left by an error", "the error is the scope's own")
  else
    t.check(ok, result)
    t.eq(result, "left normally")
  end
  return kept
end

-- A released object: tostring says so, any method raises an argument error on self.
local function check_released(object, class, method, ...)
  t.eq(tostring(object), class .. ": released", "tostring")
  t.eq(mtmsg.type(object), class, "mtmsg.type")
  local err = t.argerror(object[method], object, ...)
  t.check(err:find("bad argument #1", 1, true) and err:find(class .. " reference released", 1, true), err)
end

local makers = {
  ["mtmsg.buffer"] = function(name) return mtmsg.newbuffer(name) end,
  ["mtmsg.listener"] = function(name) return mtmsg.newlistener(name) end,
  ["mtmsg.writer"] = function() return mtmsg.newwriter() end,
  ["mtmsg.reader"] = function() return mtmsg.newreader() end,
}

local function check_scope_releases_buffer(fail)
  local name = t.uname("closed")
  without_collector(function()
    local b = leave_scope(function() return makers["mtmsg.buffer"](name) end, fail)
    t.raises("unknown_object", mtmsg.buffer, name) -- its only reference is gone at once
    check_released(b, "mtmsg.buffer", "addmsg", 1)
  end)
end

local function check_scope_releases_listener(fail)
  local name = t.uname("closed")
  without_collector(function()
    local l = leave_scope(function() return makers["mtmsg.listener"](name) end, fail)
    t.raises("unknown_object", mtmsg.listener, name)
    check_released(l, "mtmsg.listener", "nextmsg", 0)
  end)
end

function tests.buffer_close_variable_releases_the_reference_at_scope_end()
  check_scope_releases_buffer(false)
end

function tests.listener_close_variable_releases_the_reference_at_scope_end()
  check_scope_releases_listener(false)
end

function tests.writer_close_variable_releases_it_at_scope_end()
  local w = leave_scope(makers["mtmsg.writer"], false)
  check_released(w, "mtmsg.writer", "add", 1)
end

function tests.reader_close_variable_releases_it_at_scope_end()
  local r = leave_scope(makers["mtmsg.reader"], false)
  check_released(r, "mtmsg.reader", "next")
end

function tests.close_variables_of_every_class_release_when_an_error_leaves_the_scope()
  check_scope_releases_buffer(true)
  check_scope_releases_listener(true)
  check_released(leave_scope(makers["mtmsg.writer"], true), "mtmsg.writer", "clear")
  check_released(leave_scope(makers["mtmsg.reader"], true), "mtmsg.reader", "clear")
end

function tests.close_variable_releases_only_its_own_reference()
  local lst = mtmsg.newlistener()
  local b = lst:newbuffer(t.uname("shared"))
  local chunk = close_chunk([[
    local mtmsg, id = ...
    local mine <close> = mtmsg.buffer(id)
    mine:addmsg("from the closed reference")
    return mine
  ]])
  local mine = chunk(mtmsg, b:id())
  check_released(mine, "mtmsg.buffer", "msgcnt")
  t.eq(b:msgcnt(), 1, "the buffer is not closed")
  t.eq(b:addmsg("after"), true)
  t.eq(lst:nextmsg(0), "from the closed reference")
  t.eq(b:nextmsg(0), "after")
end

function tests.close_variables_of_a_closed_coroutine_are_released()
  local name = t.uname("coroutine")
  local chunk = close_chunk([[
    local mtmsg, name = ...
    local b <close> = mtmsg.newbuffer(name)
    coroutine.yield(b)
  ]])
  without_collector(function()
    local co = coroutine.create(chunk)
    local ok, b = coroutine.resume(co, mtmsg, name)
    t.check(ok, b)
    t.eq(b:addmsg("alive while the coroutine is suspended"), true)
    t.check(coroutine.close(co), "coroutine.close")
    t.raises("unknown_object", mtmsg.buffer, name)
    check_released(b, "mtmsg.buffer", "nextmsg", 0)
  end)
end

-- __close is there on every version: called by hand it releases the reference.
function tests.close_metamethod_called_by_hand_releases_on_every_lua_version()
  for class, make in pairs(makers) do
    local name = t.uname("by.hand")
    local object = make(name)
    local close = getmetatable(object).__close
    t.eq(type(close), "function", class .. " __close")
    without_collector(function()
      close(object)
      if class == "mtmsg.buffer" then t.raises("unknown_object", mtmsg.buffer, name) end
      if class == "mtmsg.listener" then t.raises("unknown_object", mtmsg.listener, name) end
    end)
    t.eq(tostring(object), class .. ": released")
  end
end

-- Arguments that each method accepts, in the order the methods are tried.
local function method_arguments(class, live)
  local args = {
    ["mtmsg.buffer"] = { id = {}, name = {}, addmsg = { 1 }, setmsg = { 1 }, waitaddmsg = { 0, 1 },
                         nextmsg = { 0 }, msgcnt = {}, clear = {}, close = {}, abort = { false },
                         isabort = {}, nonblock = { false }, isnonblock = {}, notifier = { live.buffer } },
    ["mtmsg.listener"] = { id = {}, name = {}, newbuffer = {}, nextmsg = { 0 }, clear = {}, close = {},
                           abort = { false }, isabort = {}, nonblock = { false }, isnonblock = {} },
    ["mtmsg.writer"] = { add = { 1 }, addmsg = { live.buffer }, setmsg = { live.buffer }, clear = {} },
    ["mtmsg.reader"] = { nextmsg = { live.buffer, 0 }, next = {}, clear = {} },
  }
  return args[class]
end

function tests.released_object_refuses_every_method_as_self_and_as_argument()
  local live = { buffer = mtmsg.newbuffer(), listener = mtmsg.newlistener(),
                 writer = mtmsg.newwriter(), reader = mtmsg.newreader() }
  local released = {}
  for class, make in pairs(makers) do
    local object = make()
    getmetatable(object).__close(object)
    released[class] = object
    local args = method_arguments(class, live)
    for name, method in pairs(getmetatable(object).__index) do
      local arg = args[name]
      t.check(arg, class .. ":" .. name .. " has no arguments in this test")
      local err = t.argerror(method, object, t.unpack(arg))
      t.check(err:find(class .. " reference released", 1, true), class .. ":" .. name .. ": " .. err)
    end
  end
  -- released objects as arguments
  local function refused(class, f, ...)
    local err = t.argerror(f, ...)
    t.check(err:find("bad argument #2", 1, true) and err:find(class .. " reference released", 1, true), err)
  end
  refused("mtmsg.buffer", live.writer.addmsg, live.writer, released["mtmsg.buffer"])
  refused("mtmsg.buffer", live.writer.setmsg, live.writer, released["mtmsg.buffer"])
  refused("mtmsg.buffer", live.reader.nextmsg, live.reader, released["mtmsg.buffer"], 0)
  refused("mtmsg.listener", live.reader.nextmsg, live.reader, released["mtmsg.listener"], 0)
  refused("mtmsg.buffer", live.buffer.notifier, live.buffer, released["mtmsg.buffer"])
  -- the live objects are untouched
  t.eq(live.buffer:addmsg("still"), true)
  t.eq(live.reader:nextmsg(live.buffer, 0), true)
  t.eq(live.reader:next(), "still")
end

function tests.released_object_can_be_released_again_and_collected()
  for class, make in pairs(makers) do
    local object = make()
    local mt = getmetatable(object)
    mt.__close(object)
    mt.__close(object, "an error value, as Lua 5.4 passes it")
    mt.__gc(object)
    t.eq(tostring(object), class .. ": released")
    t.argerror(mt.__close, class == "mtmsg.buffer" and mtmsg.newwriter() or mtmsg.newbuffer())
  end
  t.collect()
end

-- Calls fn when the collector finds this new garbage (a table's __gc from
-- 5.2 on; 5.1 and LuaJIT finalize only userdata).
local function plant_finalizer(fn)
  local newproxy = rawget(_G, "newproxy")
  if newproxy then
    getmetatable(newproxy(true)).__gc = fn
  else
    setmetatable({}, { __gc = fn })
  end
end

-- Finalizers that close a reader while reader:next pushes a long message out
-- of it: the values stay intact (the reader keeps its memory until the push
-- is over, and the collector releases it later).
function tests.reader_closed_by_a_finalizer_while_it_pushes_keeps_the_values_intact()
  local count = (t.luajit or t.lua_version == "5.1") and 7000 or 50000
  local values = {}
  for i = 1, count do values[i] = string.rep(string.char(65 + i % 26), 64) .. i end
  local b = mtmsg.newbuffer()
  t.eq(b:addmsg(t.unpack(values, 1, count)), true)
  local r = mtmsg.newreader()
  t.eq(r:nextmsg(b, 0), true)
  local armed, runs, kept = false, 0, 0
  collectgarbage("stop") -- none of them runs before the push
  for _ = 1, 100 do
    plant_finalizer(function()
      if not armed then return end
      runs = runs + 1
      getmetatable(r).__close(r)
      if tostring(r) ~= "mtmsg.reader: released" then kept = kept + 1 end
    end)
  end
  collectgarbage("restart")
  armed = true
  local got = t.pack(r:next(count))
  armed = false
  t.eq(got.n, count, "values")
  for i = 1, count do
    if got[i] ~= values[i] then error("value " .. i .. " changed: " .. tostring(got[i])) end
  end
  t.note("finalizers that closed the reader:", runs, "of them while it pushed:", kept)
  getmetatable(r).__close(r)
  t.eq(tostring(r), "mtmsg.reader: released")
end

return tests
