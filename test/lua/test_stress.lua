-- Stress from Lua: producer and consumer threads, each with its
-- own Lua state, on one buffer (growing; fixed, its producers waiting for
-- room or retrying addmsg), on a listener with many buffers, through
-- writers and readers, and on a buffer whose notifier announces each
-- message in another that consumers wait on; with faults while the
-- traffic runs: the
-- global mtmsg.abort() and buffer aborts, a buffer closed, buffers
-- collected with messages still queued, and threads that end (their states
-- closed) while others wait on what they created. Every message is checked
-- (stresslib.lua) and accounted for: each taken exactly once, in order per
-- producer for each consumer; when a buffer is closed, what was taken of
-- each producer is what it sent first.
--
-- MTMSG_STRESS_MESSAGES: messages per case (default 2000; make stress runs
-- 1,000,000). MTMSG_STRESS_BURNERS: threads that only spin beside every
-- case (default 0; make stress and the burner suite of make test set
-- them). Each case prints its figures. MTMSG_TEST_QUICK (valgrind): at most
-- 5 aborts per case.

local t = require "testlib"
local s = require "stresslib"
local mtmsg = t.mtmsg
local tests = t.suite()

local messages = tonumber(os.getenv("MTMSG_STRESS_MESSAGES") or "") or 2000
local burners = tonumber(os.getenv("MTMSG_STRESS_BURNERS") or "") or 0

-- Sends seq 0 .. n-1 of producer p to the buffer `id` (through a writer
-- when `how` is "writer", to its own listener buffers when "listener",
-- dropping each after `collect_every` messages when given; with addmsg
-- again while the fixed buffer is full when "retry", else waiting for
-- room). Retries while aborted; stops at object_closed. Returns how many
-- it sent.
local function produce(how, id, p, n, collect_every)
  local mtmsg = require "mtmsg"
  local s = require "stresslib"
  local function retry(f, ...)
    while true do
      local ok, result = pcall(f, ...)
      if ok then return true, result end
      local name = s.error_name(result)
      if name == "object_closed" then return false end
      if name ~= "operation_aborted" then error(result, 0) end
    end
  end
  local _, target
  if how == "listener" then
    _, target = retry(mtmsg.listener, id)
  else
    _, target = retry(mtmsg.buffer, id)
  end
  local buffers, w = {}, nil
  if how == "listener" then
    for i = 1, 4 do _, buffers[i] = retry(target.newbuffer, target) end
  end
  if how == "writer" then w = mtmsg.newwriter(16) end
  for seq = 0, n - 1 do
    local ok
    if how == "writer" then
      w:clear()
      w:add(p, seq)
      w:add(select(3, s.message(p, seq)))
      ok = retry(w.addmsg, w, target)
    elseif how == "listener" then
      local i = seq % #buffers + 1
      ok = retry(buffers[i].addmsg, buffers[i], s.message(p, seq))
      if collect_every and seq % collect_every == collect_every - 1 then
        -- the last reference goes with messages queued: still delivered
        buffers[i] = nil
        collectgarbage()
        _, buffers[i] = retry(target.newbuffer, target)
      end
    elseif how == "retry" then
      -- false while the buffer is full
      local added
      repeat ok, added = retry(target.addmsg, target, s.message(p, seq)) until not ok or added
    else
      -- waits for room when the buffer is fixed and full
      ok = retry(target.waitaddmsg, target, nil, s.message(p, seq))
    end
    if not ok then return seq end
  end
  return n
end

-- Takes messages from the buffer or listener `id` until a "stop" message
-- or object_closed (order checked per `streams`, see stresslib.tally);
-- retries while aborted. With `how` "notified" it waits on the buffer
-- `notified_id` instead, and takes a message from `id` for each empty
-- message there. Each time it finds nothing queued it tells the buffer
-- `progress_id` how many it took since it last told, then waits without
-- a timeout. Returns its tally (encoded).
local function consume(how, id, producers, progress_id, streams, notified_id)
  local mtmsg = require "mtmsg"
  local s = require "stresslib"
  local function find(f, key)
    while true do
      local ok, found = pcall(f, key)
      if ok then return found end
      if not tostring(found):find("operation_aborted", 1, true) then error(found, 0) end
    end
  end
  local source = find(how == "listener" and mtmsg.listener or mtmsg.buffer, id)
  local progress = find(mtmsg.buffer, progress_id)
  local notified = notified_id and find(mtmsg.buffer, notified_id)
  local reader = (how == "writer" or how == "notified") and mtmsg.newreader(16)
  local tally, taken = s.tally(producers, streams), 0
  local function report()
    while taken > 0 do
      local ok, err = pcall(progress.addmsg, progress, taken)
      if ok then
        taken = 0
      elseif not tostring(err):find("operation_aborted", 1, true) then
        error(err, 0)
      end
    end
  end
  -- the next message as stresslib.take gives it
  local function take(timeout)
    if how == "writer" then
      local ok, got = pcall(reader.nextmsg, reader, source, timeout)
      if not ok then return s.error_name(got), got end
      if not got then return "empty" end
      local values = { reader:next(6) }
      return "ok", #values, values[1], values[2], values[3], values[4], values[5]
    elseif how == "notified" then
      local ok, got = pcall(reader.nextmsg, reader, notified, timeout)
      if not ok then return s.error_name(got), got end
      if not got then return "empty" end
      -- each notification comes after its message, and each consumer
      -- takes one message per notification: the message is there
      local status, n, a, b, c, d, e = s.take(mtmsg, source, 0)
      if status == "empty" then error("consumer: notified of a message the buffer did not have", 0) end
      return status, n, a, b, c, d, e
    end
    return s.take(mtmsg, source, timeout)
  end
  local timeout = 0
  while true do
    local status, n, a, b, c, d, e = take(timeout)
    if status == "ok" and a == "stop" then
      break
    elseif status == "ok" then
      s.record(tally, n, a, b, c, d, e)
      taken = taken + 1
      timeout = 0
    elseif status == "empty" then -- nothing queued: tell, then wait
      report()
      timeout = nil
    elseif status == "object_closed" then
      break
    elseif status ~= "operation_aborted" then
      error("consumer: " .. tostring(n or a), 0)
    end
  end
  report()
  return s.encode(tally)
end

-- Aborts everything (and the buffer `id`) now and then until told to stop
-- through the buffer `stop_id`, at most `most` times; returns how many.
local function abort_now_and_then(stop_id, id, most)
  local mtmsg = require "mtmsg"
  local s = require "stresslib"
  local stop = mtmsg.buffer(stop_id)
  local target = id and mtmsg.buffer(id)
  local aborts = 0
  while stop:msgcnt() == 0 and aborts < most do
    if target and aborts % 2 == 1 then
      target:abort(true)
      s.spin(mtmsg, 0.0005)
      target:abort(false)
    else
      mtmsg.abort(true)
      s.spin(mtmsg, 0.0005)
      mtmsg.abort(false)
    end
    aborts = aborts + 1
    mtmsg.sleep(0.002)
  end
  return aborts
end

local function start_all(fn, count, ...)
  local threads = {}
  for i = 1, count do threads[i] = t.start(fn, ...) end
  return threads
end

-- Runs f(...) with `burners` threads beside it that only spin.
local function with_burners(f, ...)
  if burners <= 0 then return f(...) end
  local stop = mtmsg.newbuffer()
  local threads = start_all(s.burn, burners, stop:id())
  local results = t.pack(pcall(f, ...))
  -- a failed case may have left everything aborted for a moment
  while not pcall(stop.addmsg, stop, "stop") do end
  for i = 1, burners do t.join(threads[i]) end
  if not results[1] then error(results[2], 0) end
  return t.unpack(results, 2, results.n)
end

-- Runs one case; returns the merged tally and what each producer sent.
local function traffic_beside_burners(opts)
  local producers, consumers, how = opts.producers, opts.consumers, opts.how
  local per_producer = math.max(2, math.floor(messages / producers))
  local fixed = opts.fixed or how == "retry"
  local source = how == "listener" and mtmsg.newlistener() or mtmsg.newbuffer(fixed and 256 or 128,
    fixed and 4096 or 1024, fixed and 0 or 2)
  local control = how == "listener" and source:newbuffer() or source
  local notified
  if how == "notified" then
    notified = mtmsg.newbuffer()
    source:notifier(notified, ">")
  end
  local start = mtmsg.time()
  local progress = mtmsg.newbuffer()
  local consumer_threads = {}
  -- order: per producer; per producer and buffer on a listener (each
  -- producer sends to its 4 in turn); none when buffers are replaced
  local streams = how ~= "listener" and 1 or opts.collect_every and 0 or 4
  for i = 1, consumers do
    consumer_threads[i] = t.start(consume, how, source:id(), producers, progress:id(), streams,
      notified and notified:id())
  end
  local stop, fault
  if opts.abort then
    stop = mtmsg.newbuffer()
    -- under valgrind (MTMSG_TEST_QUICK) a few: its threads take turns, and
    -- those retrying while aborted starve the others
    local most = os.getenv("MTMSG_TEST_QUICK") and 5 or 1e9
    fault = t.start(abort_now_and_then, stop:id(), how ~= "listener" and source:id() or nil, most)
  end
  local producer_threads = {}
  for p = 1, producers do
    producer_threads[p] = t.start(produce, how, source:id(), p, per_producer, opts.collect_every)
  end
  if opts.close_after then
    mtmsg.sleep(opts.close_after)
    source:close()
  end
  local sent, total = {}, 0
  for p = 1, producers do
    sent[p] = t.join(producer_threads[p])
    total = total + sent[p]
  end
  local aborts = 0
  if fault then
    -- the fault thread may be amid an abort of everything
    while not pcall(stop.addmsg, stop) do end
    aborts = t.join(fault)
    mtmsg.abort(false)
  end
  if not opts.close_after then
    -- every message taken, then one stop message for each consumer; no
    -- buffer ever counts more than were sent and not yet told taken
    local told, limit = 0, tonumber(os.getenv("MTMSG_TEST_WATCHDOG") or "") or 60
    while told < total do
      local n = progress:nextmsg(limit > 0 and limit / 2 or nil)
      if n == nil then error("the consumers took " .. told .. " of " .. total .. " messages and stopped") end
      told = told + n
      local counted = { notified }
      if how ~= "listener" then counted[#counted + 1] = source end
      for _, queue in ipairs(counted) do
        local count = queue:msgcnt()
        t.check(count <= total - told, "msgcnt " .. count .. " with " .. total .. " sent, " .. told .. " taken")
      end
    end
    for _ = 1, consumers do control:addmsg("stop") end
  end
  local tallies = {}
  for i = 1, consumers do tallies[i] = t.join(consumer_threads[i]) end
  local took = mtmsg.time() - start
  local all = s.merge(producers, tallies)
  local taken = 0
  for p = 1, producers do taken = taken + all.count[p] end
  t.note(string.format("P=%d C=%d, %d burners: %d messages checked of %d sent, %.2f s; faults: %d aborts%s%s",
    producers, consumers, burners, taken, total, took, aborts, opts.close_after and ", 1 close" or "",
    opts.collect_every and (", buffers collected every " .. opts.collect_every .. " messages") or ""))
  t.eq(all.corrupt, 0, "corrupt messages")
  t.eq(all.disorder, 0, "messages out of order for a consumer")
  return all, sent, per_producer
end

local function traffic(opts)
  return with_burners(traffic_beside_burners, opts)
end

local function delivered_exactly_once(opts)
  local all, sent, per_producer = traffic(opts)
  for p = 1, opts.producers do
    t.eq(sent[p], per_producer, "messages sent by producer " .. p)
    t.check(s.exactly(all, p, per_producer),
      "producer " .. p .. ": taken " .. all.count[p] .. " of " .. per_producer .. ", not each exactly once")
  end
end

function tests.stress_producers_and_consumers_on_one_buffer()
  delivered_exactly_once { producers = 1, consumers = 1, how = "buffer" }
  delivered_exactly_once { producers = 4, consumers = 4, how = "buffer" }
  delivered_exactly_once { producers = 2, consumers = 3, how = "buffer", fixed = true }
end

function tests.stress_producers_and_consumers_on_a_listener_with_many_buffers()
  delivered_exactly_once { producers = 3, consumers = 3, how = "listener" }
end

function tests.stress_producers_retrying_addmsg_on_a_full_fixed_buffer()
  delivered_exactly_once { producers = 3, consumers = 2, how = "retry" }
end

function tests.stress_through_writers_and_readers()
  delivered_exactly_once { producers = 2, consumers = 2, how = "writer" }
end

function tests.stress_consumers_waiting_on_the_notifier_of_a_buffer()
  delivered_exactly_once { producers = 3, consumers = 3, how = "notified" }
  delivered_exactly_once { producers = 2, consumers = 3, how = "notified", fixed = true }
end

function tests.stress_with_everything_and_the_buffer_aborted_now_and_then()
  delivered_exactly_once { producers = 3, consumers = 3, how = "buffer", abort = true }
end

function tests.stress_with_listener_buffers_collected_holding_messages()
  delivered_exactly_once { producers = 3, consumers = 2, how = "listener", collect_every = 50, abort = true }
end

function tests.stress_with_the_buffer_closed_while_the_traffic_runs()
  local all, sent = traffic { producers = 3, consumers = 3, how = "buffer", close_after = 0.02 }
  for p = 1, 3 do
    -- what was taken is what was sent first: the messages freed by the
    -- close are the last ones
    local n = all.count[p]
    t.check(n <= sent[p], "producer " .. p .. ": taken " .. n .. " of " .. sent[p] .. " sent")
    t.check(s.exactly(all, p, n), "producer " .. p .. ": taken " .. n .. ", not the first ones each once")
  end
end

-- Creates a buffer and a listener with one buffer holding a message, hands
-- their ids over, waits until told to end, and ends: its state is closed
-- when the main thread joins it.
local function create_then_end(ready_id, go_id)
  local mtmsg = require "mtmsg"
  local b = mtmsg.newbuffer()
  local lst = mtmsg.newlistener()
  local lb = lst:newbuffer()
  lb:addmsg("left behind")
  mtmsg.buffer(ready_id):addmsg(b:id(), lst:id())
  mtmsg.buffer(go_id):nextmsg()
  return true
end

local function wait_on(kind, id, ready_id)
  local mtmsg = require "mtmsg"
  local source = kind == "listener" and mtmsg.listener(id) or mtmsg.buffer(id)
  mtmsg.buffer(ready_id):addmsg()
  local first = source:nextmsg()
  if kind ~= "listener" then return first end
  -- its only buffer went with its creator's state: no_buffers, not a hang
  local ok, err = pcall(source.nextmsg, source)
  return first, ok and "no error" or err
end

function tests.stress_threads_end_while_others_wait_on_what_they_created()
  with_burners(function()
    local rounds = math.max(10, math.min(200, math.floor(messages / 100)))
    local start = mtmsg.time()
    for _ = 1, rounds do
      local ready, go, waiting = mtmsg.newbuffer(), mtmsg.newbuffer(), mtmsg.newbuffer()
      local creator = t.start(create_then_end, ready:id(), go:id())
      local buffer_id, listener_id = ready:nextmsg(10)
      t.check(buffer_id, "the creator did not start")
      local on_buffer = t.start(wait_on, "buffer", buffer_id, waiting:id())
      local on_listener = t.start(wait_on, "listener", listener_id, waiting:id())
      t.eq(select("#", waiting:nextmsg(10)), 0)
      t.eq(select("#", waiting:nextmsg(10)), 0)
      go:addmsg()
      t.join(creator) -- its state closed: its references gone
      mtmsg.buffer(buffer_id):addmsg("hello")
      t.eq(t.join(on_buffer), "hello", "the waiter on the ended thread's buffer")
      local first, second = t.join(on_listener)
      t.eq(first, "left behind", "the waiter on the ended thread's listener")
      t.check(tostring(second):find(mtmsg.error.no_buffers, 1, true) == 1, "then: " .. tostring(second))
      t.raises("unknown_object", mtmsg.listener, listener_id)
    end
    t.note(string.format("%d rounds: a thread ended (its state closed) while two others waited on what it made, %.2f s",
      rounds, mtmsg.time() - start))
  end)
end

return tests
