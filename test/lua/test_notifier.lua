-- buffer:notifier(target[, kind[, threshold]]): an empty message into the
-- target after each message added (">") or removed ("<").

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

function tests.notifier_adds_an_empty_message_per_added_message()
  local target = mtmsg.newbuffer()
  local b = mtmsg.newbuffer()
  b:notifier(target)
  b:addmsg(1); b:addmsg(2)
  t.eq(target:msgcnt(), 2, "notifications")
  local r = mtmsg.newreader()
  t.eq(r:nextmsg(target, 0), true)
  t.eq(select("#", r:next()), 0, "values of a notification")
  b:nextmsg(0)
  t.eq(target:msgcnt(), 1, "removing does not notify with kind '>'")
end

function tests.one_buffer_notified_by_two_producer_buffers_gets_one_message_per_message()
  local target = mtmsg.newbuffer()
  local p1, p2 = mtmsg.newbuffer(), mtmsg.newbuffer()
  p1:notifier(target, ">")
  p2:notifier(target, ">")
  p1:addmsg("a"); p2:addmsg("b"); p1:addmsg("c")
  p2:setmsg("d")
  t.eq(target:msgcnt(), 4, "notifications for 3 addmsg and 1 setmsg")
end

function tests.added_kind_with_threshold_notifies_only_above_it()
  local target = mtmsg.newbuffer()
  local b = mtmsg.newbuffer()
  b:notifier(target, ">", 2)
  b:addmsg(1)
  b:addmsg(2)
  t.eq(target:msgcnt(), 0, "count 1 and 2 are not above 2")
  b:addmsg(3)
  t.eq(target:msgcnt(), 1, "count 3")
  b:addmsg(4)
  t.eq(target:msgcnt(), 2, "count 4")
end

function tests.removed_kind_notifies_after_each_message_taken()
  local target = mtmsg.newbuffer()
  local b = mtmsg.newbuffer()
  b:notifier(target, "<")
  b:addmsg(1); b:addmsg(2)
  t.eq(target:msgcnt(), 0, "adding does not notify with kind '<'")
  b:nextmsg(0)
  t.eq(target:msgcnt(), 1)
  b:nextmsg(0)
  t.eq(target:msgcnt(), 2)
  b:nextmsg(0)
  t.eq(target:msgcnt(), 2, "nextmsg of an empty buffer took nothing")
end

function tests.removed_kind_with_threshold_notifies_only_below_it()
  local target = mtmsg.newbuffer()
  local b = mtmsg.newbuffer()
  b:notifier(target, "<", 2)
  for i = 1, 4 do b:addmsg(i) end
  b:nextmsg(0)
  t.eq(target:msgcnt(), 0, "count 3")
  b:nextmsg(0)
  t.eq(target:msgcnt(), 0, "count 2 is not below 2")
  b:nextmsg(0)
  t.eq(target:msgcnt(), 1, "count 1")
  b:nextmsg(0)
  t.eq(target:msgcnt(), 2, "count 0")
end

function tests.reader_and_listener_removals_notify_too()
  local target = mtmsg.newbuffer()
  local lst = mtmsg.newlistener()
  local b = lst:newbuffer()
  b:notifier(target, "<")
  b:addmsg(1); b:addmsg(2)
  lst:nextmsg(0)
  local r = mtmsg.newreader()
  r:nextmsg(b, 0)
  t.eq(target:msgcnt(), 2)
end

function tests.second_notifier_of_a_kind_raises_has_notifier()
  local b = mtmsg.newbuffer()
  local n1, n2 = mtmsg.newbuffer(), mtmsg.newbuffer()
  b:notifier(n1)
  local err = t.raises("has_notifier", b.notifier, b, n2)
  t.check(err:match(mtmsg.error.has_notifier), err)
  t.raises("has_notifier", b.notifier, b, n2, ">")
  b:notifier(n2, "<") -- one per kind
  b:addmsg(1)
  b:nextmsg(0)
  t.eq(n1:msgcnt(), 1, "'>' notifications")
  t.eq(n2:msgcnt(), 1, "'<' notifications")
end

function tests.nil_target_disconnects_the_notifier()
  local b = mtmsg.newbuffer()
  local n1, n2 = mtmsg.newbuffer(), mtmsg.newbuffer()
  b:notifier(n1)
  b:addmsg(1)
  b:notifier(nil)
  b:addmsg(2)
  t.eq(n1:msgcnt(), 1, "notifications after disconnecting")
  b:notifier(n2)
  b:addmsg(3)
  t.eq(n2:msgcnt(), 1, "notifications of the new notifier")
end

function tests.notifier_target_must_be_a_buffer()
  local b = mtmsg.newbuffer()
  t.argerror(function() local r = b:notifier({}) return r end)
  t.argerror(function() local r = b:notifier(mtmsg.newlistener()) return r end)
  t.argerror(function() local r = b:notifier(mtmsg.newbuffer(), "x") return r end)
end

-- A consumer thread waits on the notified buffer and takes one message per
-- notification from whichever producer buffer has one.
local function notified_consumer(target_id, p1_id, p2_id, total)
  local mtmsg = require "mtmsg"
  local target = mtmsg.buffer(target_id)
  local p1, p2 = mtmsg.buffer(p1_id), mtmsg.buffer(p2_id)
  local wakeups, sum = 0, 0
  for _ = 1, total do
    if select("#", target:nextmsg(10)) ~= 0 then return false, "notification with values" end
    wakeups = wakeups + 1
    local v = p1:nextmsg(0) or p2:nextmsg(0)
    if not v then return false, "woken with no message in either producer buffer" end
    sum = sum + v
  end
  return wakeups, sum, target:msgcnt()
end

function tests.notified_buffer_wakes_a_consumer_once_per_message_of_two_producers()
  local target = mtmsg.newbuffer()
  local p1, p2 = mtmsg.newbuffer(), mtmsg.newbuffer()
  p1:notifier(target)
  p2:notifier(target)
  local total = 2000
  local thread = t.start(notified_consumer, target:id(), p1:id(), p2:id(), total)
  local want = 0
  for i = 1, total do
    if i % 2 == 0 then p1:addmsg(i) else p2:addmsg(i) end
    want = want + i
  end
  local wakeups, sum, left = t.join(thread)
  t.check(wakeups, sum)
  t.eq(wakeups, total, "wake-ups")
  t.eq(sum, want, "sum of the messages taken")
  t.eq(left, 0, "notifications left over")
end

-- A producer that keeps at most `limit` messages in the buffer: it waits
-- on the "<" notifications instead of polling.
local function bounded_producer(b_id, room_id, total, limit)
  local mtmsg = require "mtmsg"
  local b, room = mtmsg.buffer(b_id), mtmsg.buffer(room_id)
  local waits, most = 0, 0
  local i = 1
  while i <= total do
    local count = b:msgcnt()
    if count > most then most = count end
    if count < limit then
      b:addmsg(i)
      i = i + 1
    else
      if select("#", room:nextmsg(10)) ~= 0 then return false, "bad notification" end
      waits = waits + 1
    end
  end
  return waits, most
end

function tests.removed_kind_with_threshold_drives_a_bounded_producer()
  local b, room = mtmsg.newbuffer(), mtmsg.newbuffer()
  b:notifier(room, "<", 5)
  local total, limit = 500, 10
  local thread = t.start(bounded_producer, b:id(), room:id(), total, limit)
  local most = 0
  for i = 1, total do
    local count = b:msgcnt()
    if count > most then most = count end
    local v = b:nextmsg(10)
    t.eq(v, i, "message")
    if i % 50 == 0 then mtmsg.sleep(0.001) end
  end
  local waits, producer_most = t.join(thread)
  t.check(waits, producer_most)
  t.note("producer waited", waits, "times; most queued", most)
  t.check(most <= limit, "the consumer saw " .. most .. " queued messages, limit " .. limit)
  t.check(waits > 0, "the producer never waited for room")
end

return tests
