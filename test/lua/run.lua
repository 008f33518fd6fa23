-- The Lua test suite of mtmsg.
--
--   build/lua5.4/mtlua test/lua/run.lua [text]
--
-- Runs every test of the files below (only those whose "file.test" name
-- contains `text`, when given), prints "ok name", "FAIL name: error" or
-- "skip name: reason" per test and one last line "N passed, N failed".
-- Exits non-zero when a test failed. Runs on Lua 5.1-5.5 and LuaJIT.
--
-- A watchdog thread ends the run with a failure naming the test when a test
-- hangs for MTMSG_TEST_WATCHDOG seconds (default 60; 0 turns it off).

local files = {
  "test_values",
  "test_tables",
  "test_buffer",
  "test_listener",
  "test_lifecycle",
  "test_close",
  "test_writer_reader",
  "test_notifier",
  "test_threads",
  "test_versions",
  "test_errors",
  "test_stress",
}

local dir = (arg and arg[0] or ""):match("^(.*)[/\\][^/\\]*$") or "."
package.path = dir .. "/?.lua;" .. package.path

local filter = arg and arg[1]
local passed, failed = 0, 0

local function finish()
  print(passed .. " passed, " .. failed .. " failed")
  io.stdout:flush()
  os.exit(failed == 0 and 0 or 1, true) -- true: close the state first (5.2+), so valgrind sees everything freed
end

local loaded, t = pcall(require, "testlib")
if not loaded then
  print("FAIL load testlib: " .. tostring(t))
  failed = failed + 1
  finish()
end
local mtmsg = t.mtmsg

-- Runs in its own thread and state: no upvalues.
local function watchdog(box_id, limit)
  local mtmsg = require "mtmsg"
  local box = mtmsg.buffer(box_id)
  local current, passed, failed = "(start)", 0, 0
  local deadline = os.time() + limit
  while true do
    local ok, cmd, name, p, f = pcall(box.nextmsg, box, 1)
    if ok then
      if cmd == "stop" then return true end
      if cmd == "test" then
        current, passed, failed = name, p, f
        deadline = os.time() + limit
      end
    else
      -- a test aborted every buffer (mtmsg.abort()): wait without mtmsg
      os.execute("sleep 0.05")
    end
    if os.time() > deadline then
      io.stdout:write("FAIL " .. current .. ": hangs (watchdog: no result after "
        .. limit .. " s)\n" .. passed .. " passed, " .. (failed + 1) .. " failed\n")
      io.stdout:flush()
      os.exit(1)
    end
  end
end

local watch_box, watch_thread
local limit = tonumber(os.getenv("MTMSG_TEST_WATCHDOG") or "60") or 60
if limit > 0 and t.llthreads then
  watch_box = mtmsg.newbuffer()
  watch_thread = t.llthreads.new(watchdog, watch_box:id(), limit)
  watch_thread:start()
end

local function tell_watchdog(...)
  if watch_box then pcall(watch_box.addmsg, watch_box, ...) end
end

-- Keeps the error text and adds where in a test file it was raised.
local function locate(err)
  if type(err) ~= "string" then return err end
  local trace = debug.traceback("", 2)
  local where = trace:match("([%w_]*test_[%w_]+%.lua:%d+):")
  if where and not err:find(where, 1, true) then
    return err .. " (at " .. where .. ")"
  end
  return err
end

local function run_test(name, fn)
  tell_watchdog("test", name, passed, failed)
  local ok, err = xpcall(fn, locate)
  if ok then
    passed = passed + 1
    print("ok " .. name)
  elseif type(err) == "table" and err.skip then
    print("skip " .. name .. ": " .. tostring(err.skip))
  else
    failed = failed + 1
    print("FAIL " .. name .. ": " .. tostring(err))
  end
  io.stdout:flush()
  -- a failed test must not leave the next ones aborted
  if mtmsg.isabort() then mtmsg.abort(false) end
  collectgarbage()
end

for _, file in ipairs(files) do
  local ok, tests = pcall(dofile, dir .. "/" .. file .. ".lua")
  if not ok then
    failed = failed + 1
    print("FAIL " .. file .. ": cannot load: " .. tostring(tests))
  else
    for _, test in ipairs(tests._order) do
      if not filter or (file .. "." .. test.name):find(filter, 1, true) then
        run_test(test.name, test.fn)
      end
    end
  end
end

if watch_thread then
  tell_watchdog("stop")
  watch_thread:join()
end
finish()
