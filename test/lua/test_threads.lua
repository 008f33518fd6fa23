-- Several OS threads, each with its own Lua state (the host's llthreads2.ex).
-- Thread functions are dumped and loaded in a new state: they use only their
-- arguments and globals, never upvalues (t.start checks).

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

local function seed_thread(bufferId)
  local mtmsg  = require("mtmsg")
  local buffer = mtmsg.buffer(bufferId)
  return buffer:nextmsg()
end

function tests.seed_example_passes_a_message_to_another_thread()
  local buffer = mtmsg.newbuffer()
  local thread = t.start(seed_thread, buffer:id())
  buffer:addmsg("Hello", "world!")
  local a, b = t.join(thread)
  t.eq(a, "Hello"); t.eq(b, "world!")
end

-- Blocks in buffer:nextmsg() after telling `ready`; returns the message and
-- when it arrived.
local function wait_for_message(id, ready_id)
  local mtmsg = require "mtmsg"
  local b = mtmsg.buffer(id)
  mtmsg.buffer(ready_id):addmsg()
  local msg = b:nextmsg()
  return msg, mtmsg.time()
end

function tests.thread_blocked_in_nextmsg_wakes_when_another_thread_adds()
  local b, ready = mtmsg.newbuffer(), mtmsg.newbuffer()
  local thread = t.start(wait_for_message, b:id(), ready:id())
  t.eq(select("#", ready:nextmsg(10)), 0, "ready signal")
  mtmsg.sleep(0.1)
  local start = mtmsg.time()
  b:addmsg("wake up")
  local msg, woke = t.join(thread)
  t.eq(msg, "wake up")
  t.note("woken after", woke - start, "s")
  t.check(woke - start < t.WAKE_LIMIT, "woken after " .. (woke - start) .. " s")
end

local function wait_in_listener(id, ready_id)
  local mtmsg = require "mtmsg"
  local lst = mtmsg.listener(id)
  mtmsg.buffer(ready_id):addmsg()
  local msg = lst:nextmsg()
  return msg, mtmsg.time()
end

function tests.thread_blocked_in_listener_nextmsg_wakes_when_a_buffer_gets_a_message()
  local lst, ready = mtmsg.newlistener(), mtmsg.newbuffer()
  local a, b = lst:newbuffer(), lst:newbuffer()
  local thread = t.start(wait_in_listener, lst:id(), ready:id())
  ready:nextmsg(10)
  mtmsg.sleep(0.1)
  local start = mtmsg.time()
  b:addmsg("to b")
  local msg, woke = t.join(thread)
  t.eq(msg, "to b")
  t.check(woke - start < t.WAKE_LIMIT, "woken after " .. (woke - start) .. " s")
  t.eq(a:msgcnt(), 0)
end

-- Worker pool: 4 threads take jobs from one buffer and answer into the
-- buffers of one listener.
local function worker(jobs_id, results_id)
  local mtmsg = require "mtmsg"
  local jobs, results = mtmsg.buffer(jobs_id), mtmsg.buffer(results_id)
  local done = 0
  while true do
    local job = jobs:nextmsg(10)
    if job == nil then return false, "no job for 10 s" end
    if job == 0 then return done end
    results:addmsg(job, job * job + 1)
    done = done + 1
  end
end

function tests.worker_pool_of_4_threads_computes_10000_results()
  local jobs, lst = mtmsg.newbuffer(), mtmsg.newlistener()
  local results, threads = {}, {}
  for i = 1, 4 do
    results[i] = lst:newbuffer()
    threads[i] = t.start(worker, jobs:id(), results[i]:id())
  end
  local n = 10000
  for i = 1, n do jobs:addmsg(i) end
  for _ = 1, 4 do jobs:addmsg(0) end
  local seen, wrong = {}, 0
  for _ = 1, n do
    local job, result = lst:nextmsg(10)
    t.check(job ~= nil, "no result for 10 s")
    if seen[job] or result ~= job * job + 1 then wrong = wrong + 1 end
    seen[job] = true
  end
  local done = 0
  for i = 1, 4 do
    local count, err = t.join(threads[i])
    t.check(count, err)
    done = done + count
  end
  t.eq(wrong, 0, "wrong or repeated results")
  for i = 1, n do t.check(seen[i], "no result for job " .. i) end
  t.eq(done, n, "jobs done by the workers")
  t.eq(select("#", lst:nextmsg(0)), 0, "results left over")
end

-- Wake-ups: a thread blocked in nextmsg (buffer, listener), in sleep or in
-- the wait for room, woken by close(), the object's abort() or mtmsg.abort().
local function block_in(kind, id, ready_id, wait_add)
  local mtmsg = require "mtmsg"
  local ready = mtmsg.buffer(ready_id)
  local obj
  if kind == "listener" then obj = mtmsg.listener(id)
  elseif kind ~= "sleep" then obj = mtmsg.buffer(id) end
  ready:addmsg()
  local ok, err = pcall(function()
    if kind == "sleep" then return mtmsg.sleep(10) end
    if kind == "wait_add" then return obj[wait_add](obj, nil, "one more") end
    return obj:nextmsg()
  end)
  return ok, tostring(err), mtmsg.time()
end

local function blocked_object(kind)
  if kind == "buffer" then
    local b = mtmsg.newbuffer("blocked")
    return b, b
  elseif kind == "listener" then
    local lst = mtmsg.newlistener("blocked")
    return lst, lst:newbuffer()
  elseif kind == "wait_add" then
    local b = t.full_fixed_buffer()
    return b, b
  end
end

local function works_again(kind, obj, buffer)
  if kind == "sleep" then
    mtmsg.sleep(0.01)
  elseif kind == "wait_add" then
    obj:nextmsg(0)
    t.eq(t.wait_add(obj, 1, "fill it up"), true, "wait_add after the wake-up")
  else
    t.eq(buffer:addmsg("again"), true, "addmsg after the wake-up")
    t.eq(obj:nextmsg(0), "again", "nextmsg after the wake-up")
  end
end

local function wake_test(kind, trigger)
  local obj, buffer = blocked_object(kind)
  local ready = mtmsg.newbuffer()
  local thread = t.start(block_in, kind, obj and obj:id() or 0, ready:id(), t.WAIT_ADD)
  t.eq(select("#", ready:nextmsg(10)), 0, "ready signal")
  mtmsg.sleep(0.1) -- let it block
  local start = mtmsg.time()
  if trigger == "close" then obj:close()
  elseif trigger == "abort" then obj:abort()
  else mtmsg.abort() end
  local ok, err, woke = t.join(thread)
  if trigger == "global" then mtmsg.abort(false) end
  local want = trigger == "close" and mtmsg.error.object_closed or mtmsg.error.operation_aborted
  t.eq(ok, false, "the blocked call returned normally (" .. err .. ")")
  t.check(err:find(want, 1, true) == 1, "error: " .. err .. ", want " .. want)
  t.note(kind, trigger, "woken after", woke - start, "s")
  t.check(woke - start < t.WAKE_LIMIT, "woken after " .. (woke - start) .. " s")
  if trigger == "abort" then
    t.eq(obj:isabort(), true)
    obj:abort(false)
  end
  if trigger == "close" then
    t.raises("object_closed", obj.nextmsg, obj, 0)
  else
    works_again(kind, obj, buffer)
  end
end

local kind_names = { buffer = "buffer_nextmsg", listener = "listener_nextmsg",
                     sleep = "sleep", wait_add = "wait_for_room" }
local trigger_names = { close = "close", abort = "object_abort", global = "mtmsg_abort" }
local wake_cases = {
  { "buffer", "close" }, { "buffer", "abort" }, { "buffer", "global" },
  { "listener", "close" }, { "listener", "abort" }, { "listener", "global" },
  { "sleep", "global" },
  { "wait_add", "close" }, { "wait_add", "abort" }, { "wait_add", "global" },
}
for _, case in ipairs(wake_cases) do
  local kind, trigger = case[1], case[2]
  tests["thread_blocked_in_" .. kind_names[kind] .. "_is_woken_by_" .. trigger_names[trigger]] =
    function() wake_test(kind, trigger) end
end

local function wait_for_room(id, ready_id, wait_add)
  local mtmsg = require "mtmsg"
  local b = mtmsg.buffer(id)
  mtmsg.buffer(ready_id):addmsg()
  local added = b[wait_add](b, nil, "fill it up")
  return added, mtmsg.time()
end

function tests.thread_waiting_for_room_adds_when_another_thread_takes_a_message()
  local b, ready = t.full_fixed_buffer(), mtmsg.newbuffer()
  local count = b:msgcnt()
  local thread = t.start(wait_for_room, b:id(), ready:id(), t.WAIT_ADD)
  ready:nextmsg(10)
  mtmsg.sleep(0.1)
  t.eq(b:msgcnt(), count, "msgcnt while the thread waits")
  local start = mtmsg.time()
  b:nextmsg(0)
  local added, woke = t.join(thread)
  t.eq(added, true)
  t.check(woke - start < t.WAKE_LIMIT, "added after " .. (woke - start) .. " s")
  t.eq(b:msgcnt(), count)
end

-- Nonblock under contention: both threads in nonblock mode for a second.
local function nonblock_producer(id, seconds)
  local mtmsg = require "mtmsg"
  local b = mtmsg.buffer(id)
  b:nonblock(true)
  local accepted, refused, hash, i = 0, 0, 0, 0
  local stop_at = mtmsg.time() + seconds
  while mtmsg.time() < stop_at do
    for _ = 1, 100 do
      i = i + 1
      if b:addmsg(i) then
        accepted = accepted + 1
        hash = (hash * 31 + i) % 2147483647
      else
        refused = refused + 1
      end
    end
  end
  while not b:addmsg("stop") do end
  return accepted, refused, hash
end

local function nonblock_consumer(id)
  local mtmsg = require "mtmsg"
  local b = mtmsg.buffer(id)
  b:nonblock(true)
  local received, empty, hash, last = 0, 0, 0, 0
  while true do
    local v = b:nextmsg()
    if v == "stop" then break end
    if v == nil then
      empty = empty + 1
    else
      if v <= last then return false, "message " .. v .. " after " .. last end
      last = v
      received = received + 1
      hash = (hash * 31 + v) % 2147483647
    end
  end
  return received, empty, hash
end

function tests.nonblock_under_contention_delivers_every_accepted_message_once()
  local b = mtmsg.newbuffer()
  local consumer = t.start(nonblock_consumer, b:id())
  local producer = t.start(nonblock_producer, b:id(), 1.0)
  local accepted, refused, sent_hash = t.join(producer)
  local received, empty, got_hash = t.join(consumer)
  t.check(received, empty)
  t.note("accepted", accepted, "refused", refused, "received", received, "empty polls", empty)
  t.eq(received, accepted, "messages received")
  t.eq(got_hash, sent_hash, "hash of the received sequence")
  t.eq(b:msgcnt(), 0, "messages left")
end

-- Closing while another thread adds.
local function add_until_closed(id, ready_id)
  local mtmsg = require "mtmsg"
  local b = mtmsg.buffer(id)
  mtmsg.buffer(ready_id):addmsg()
  local count = 0
  local ok, err = pcall(function()
    while true do
      b:addmsg(count, "some payload")
      count = count + 1
      if count % 1000 == 0 then b:clear() end
    end
  end)
  return ok, tostring(err), count
end

function tests.closing_a_buffer_while_another_thread_adds_is_safe()
  local b, ready = mtmsg.newbuffer(), mtmsg.newbuffer()
  local thread = t.start(add_until_closed, b:id(), ready:id())
  ready:nextmsg(10)
  mtmsg.sleep(0.05)
  b:close()
  local ok, err, count = t.join(thread)
  t.eq(ok, false)
  t.check(err:find(mtmsg.error.object_closed, 1, true) == 1, "error: " .. err)
  t.check(count > 0, "the thread added nothing before the close")
end

-- A buffer created by a thread outlives that thread's state while another
-- reference lives; a third thread blocked on it is served.
local function create_and_end(ready_id, go_id)
  local mtmsg = require "mtmsg"
  local b = mtmsg.newbuffer()
  b:addmsg("from the ended thread")
  mtmsg.buffer(ready_id):addmsg(b:id())
  mtmsg.buffer(go_id):nextmsg(10)
  return true
end

function tests.buffer_of_an_ended_thread_lives_on_through_other_references()
  local ready, go = mtmsg.newbuffer(), mtmsg.newbuffer()
  local creator = t.start(create_and_end, ready:id(), go:id())
  local id = ready:nextmsg(10)
  t.check(id, "no id from the creating thread")
  local b = mtmsg.buffer(id)
  local ready2 = mtmsg.newbuffer()
  t.eq(b:nextmsg(0), "from the ended thread")
  local waiter = t.start(wait_for_message, id, ready2:id())
  ready2:nextmsg(10)
  go:addmsg()
  t.join(creator)
  collectgarbage()
  b:addmsg("after the creator ended")
  local msg = t.join(waiter)
  t.eq(msg, "after the creator ended")
end

-- Closing while the last reference is collected in another state.
local function close_by_id(ids_id)
  local mtmsg = require "mtmsg"
  local ids = mtmsg.buffer(ids_id)
  local closed, gone = 0, 0
  while true do
    local id = ids:nextmsg(10)
    if id == nil or id == 0 then break end
    local ok = pcall(function() mtmsg.buffer(id):close() end)
    if ok then closed = closed + 1 else gone = gone + 1 end
  end
  return closed, gone
end

function tests.closing_while_the_last_reference_is_collected_is_safe()
  local ids = mtmsg.newbuffer()
  local thread = t.start(close_by_id, ids:id())
  for i = 1, 300 do
    local b = mtmsg.newbuffer()
    b:addmsg(i)
    ids:addmsg(b:id())
    for _ = 1, (i % 7) * 3000 do end -- let the closer race the collection
    b = nil
    collectgarbage()
  end
  ids:addmsg(0)
  local closed, gone = t.join(thread)
  t.note("closed", closed, "already collected", gone)
  t.eq(closed + gone, 300)
end

-- Threads end while a buffer they looked up is in use elsewhere.
local function look_up_and_end(id)
  local mtmsg = require "mtmsg"
  local b = mtmsg.buffer(id)
  b:addmsg("hello from a short thread")
  return true
end

function tests.many_short_threads_leave_the_buffer_working()
  local b = mtmsg.newbuffer()
  for _ = 1, 20 do
    t.join(t.start(look_up_and_end, b:id()))
  end
  t.eq(b:msgcnt(), 20)
  t.eq(b:nextmsg(0), "hello from a short thread")
end

return tests
