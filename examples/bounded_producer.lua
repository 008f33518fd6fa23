-- A producer faster than its consumer, held back by a fixed-size buffer:
-- buffer:waitaddmsg(timeout, ...) waits for room instead of failing, so the
-- queue never holds more than the buffer's fixed memory allows.
local llthreads = require("llthreads2.ex")
local mtmsg     = require("mtmsg")

-- A message of one integer occupies 2 + 9 = 11 bytes (see the README), so
-- size1 = 11 holds one message and size2 = 44 holds four; grow = 0 fixes
-- the sizes.
local CAPACITY, ITEMS = 4, 40
local queue = mtmsg.newbuffer("bounded.queue", 11, 11 * CAPACITY, 0)

local consumer = llthreads.new(function(count)
  local mtmsg = require("mtmsg")
  local queue = mtmsg.buffer("bounded.queue")
  for expected = 1, count do
    mtmsg.sleep(0.002)                   -- a slow consumer
    local item = queue:nextmsg(10)
    if item ~= expected then
      error("got item " .. tostring(item) .. ", expected " .. expected)
    end
  end
  return count
end, ITEMS)
assert(consumer:start())

local waited = 0
for item = 1, ITEMS do
  if not queue:addmsg(item) then         -- full: wait for the consumer
    waited = waited + 1
    assert(queue:waitaddmsg(10, item), "no room within 10 seconds")
  end
  assert(queue:msgcnt() <= CAPACITY, "more messages than the buffer holds")
end

local ok, consumed = consumer:join()
assert(ok, consumed)
assert(consumed == ITEMS)
print(string.format("%d items through a buffer of %d; the producer waited for room %d times",
                    ITEMS, CAPACITY, waited))
assert(waited > 0, "the producer never had to wait")

-- With nobody consuming, the wait ends after its timeout and nothing is added.
for item = 1, CAPACITY do assert(queue:addmsg(item)) end
local start = mtmsg.time()
local added = queue:waitaddmsg(0.1, CAPACITY + 1)
local waited_for = mtmsg.time() - start
print(string.format("full buffer: waitaddmsg(0.1, ...) returned %s after %.2f s", tostring(added), waited_for))
assert(added == false and waited_for >= 0.09 and queue:msgcnt() == CAPACITY)
