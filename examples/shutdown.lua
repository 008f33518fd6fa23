-- Shutting threads down that wait for messages. Three ways, from the
-- widest to the narrowest:
--   mtmsg.abort()       every buffer and listener of the process: every
--                       waiting thread wakes with mtmsg.error.operation_aborted;
--                       mtmsg.abort(false) undoes it
--   buffer:abort()      one buffer, the same way; buffer:abort(false) undoes it
--   buffer:close()      one buffer for good: waiters wake with object_closed
local llthreads = require("llthreads2.ex")
local mtmsg     = require("mtmsg")

-- A worker that waits for messages until it is woken by an error, and
-- returns the error's name.
local function waiter(name, ready_id)
  local mtmsg = require("mtmsg")
  local inbox = mtmsg.buffer(name)
  mtmsg.buffer(ready_id):addmsg(name)   -- tell the main thread it waits now
  while true do
    local ok, err = pcall(inbox.nextmsg, inbox)
    if not ok then
      for errname, text in pairs(mtmsg.error) do
        if err:find(text, 1, true) == 1 then return errname end
      end
      error(err)
    end
  end
end

local ready = mtmsg.newbuffer()

-- Starts one waiter per name and returns once all of them wait.
local function start_waiters(names)
  local threads = {}
  for i, name in ipairs(names) do
    threads[i] = llthreads.new(waiter, name, ready:id())
    assert(threads[i]:start())
  end
  for _ = 1, #names do assert(ready:nextmsg(10), "a waiter did not start") end
  mtmsg.sleep(0.05) -- let them get into nextmsg (an abort before it ends them all the same)
  return threads
end

local function expect_woken(threads, want)
  for _, thread in ipairs(threads) do
    local ok, woken_by = thread:join()
    assert(ok, woken_by)
    print("  woken by " .. woken_by)
    assert(woken_by == want, "expected " .. want .. ", got " .. woken_by)
  end
end

print("mtmsg.abort(): every waiter of the process")
local inboxes = { mtmsg.newbuffer("inbox.1"), mtmsg.newbuffer("inbox.2"), mtmsg.newbuffer("inbox.3") }
local threads = start_waiters({ "inbox.1", "inbox.2", "inbox.3" })
mtmsg.abort()
expect_woken(threads, "operation_aborted")
assert(mtmsg.isabort())
mtmsg.abort(false)                       -- everything works again
assert(inboxes[1]:addmsg("still here") and inboxes[1]:nextmsg() == "still here")

print("buffer:abort(): the waiter of one buffer")
threads = start_waiters({ "inbox.2" })
inboxes[2]:abort()
expect_woken(threads, "operation_aborted")
assert(inboxes[2]:isabort() and not inboxes[3]:isabort())
inboxes[2]:abort(false)

print("buffer:close(): one buffer, for good")
threads = start_waiters({ "inbox.3" })
inboxes[3]:close()
expect_woken(threads, "object_closed")
assert(not pcall(inboxes[3].addmsg, inboxes[3], "too late"))
print("every waiter woke as expected")
