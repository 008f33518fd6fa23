-- What the threads of test_stress.lua share (they require it: thread
-- functions may not use upvalues). A message is
--   producer, seq, payload, seq / 4, checksum
-- where the payload follows from (producer, seq) and the checksum covers
-- them all; a consumer regenerates and compares everything.

local s = {}

local char, rep, byte = string.char, string.rep, string.byte

function s.payload(producer, seq)
  local n = (seq * 13 + producer * 7) % 60
  return rep(char(65 + (producer * 7 + seq) % 26, 97 + seq % 26), n) .. seq
end

-- Sum of the bytes, weighted by position, with producer and seq, mod 2^31.
function s.checksum(producer, seq, payload)
  local sum = producer * 1000003 + seq * 7919 + #payload
  local bytes = { byte(payload, 1, -1) }
  for i = 1, #bytes do sum = (sum * 31 + bytes[i]) % 2147483647 end
  return sum
end

function s.message(producer, seq)
  local payload = s.payload(producer, seq)
  return producer, seq, payload, seq / 4, s.checksum(producer, seq, payload)
end

-- Sums are kept modulo this prime, exact in a double on every Lua.
local M = 1000000007

-- What one consumer took: per producer the count, the sum and the sum of
-- squares of the sequence numbers (mod M), the largest; and how many were
-- out of order or corrupt. Order is checked per producer and `streams`
-- (seq % streams: a producer sending to several buffers in turn), not at
-- all when streams is 0.
function s.tally(producers, streams)
  local t = { count = {}, sum = {}, squares = {}, max = {}, last = {}, disorder = 0, corrupt = 0,
              streams = streams or 1 }
  for p = 1, producers do
    t.count[p], t.sum[p], t.squares[p], t.max[p] = 0, 0, 0, -1
  end
  return t
end

-- Checks one message (the values nextmsg returned, `n` of them) into the
-- tally.
function s.record(t, n, producer, seq, payload, quarter, checksum)
  if n ~= 5 or type(producer) ~= "number" or t.count[producer] == nil or type(seq) ~= "number"
      or payload ~= s.payload(producer, seq) or quarter ~= seq / 4
      or checksum ~= s.checksum(producer, seq, payload) then
    t.corrupt = t.corrupt + 1
    return
  end
  if t.streams > 0 then
    local stream = producer * t.streams + seq % t.streams
    if seq <= (t.last[stream] or -1) then t.disorder = t.disorder + 1 end
    t.last[stream] = seq
  end
  t.count[producer] = t.count[producer] + 1
  t.sum[producer] = (t.sum[producer] + seq) % M
  t.squares[producer] = (t.squares[producer] + seq * seq) % M
  if seq > t.max[producer] then t.max[producer] = seq end
end

-- A tally as a string, to return from a thread.
function s.encode(t)
  local parts = { t.disorder, t.corrupt }
  for p = 1, #t.count do
    parts[#parts + 1] = t.count[p] .. ":" .. t.sum[p] .. ":" .. t.squares[p] .. ":" .. t.max[p]
  end
  return table.concat(parts, " ")
end

-- Adds up the tallies (strings) of all consumers.
function s.merge(producers, encoded)
  local all = s.tally(producers)
  for _, text in ipairs(encoded) do
    local fields = {}
    for field in text:gmatch("%S+") do fields[#fields + 1] = field end
    all.disorder = all.disorder + tonumber(fields[1])
    all.corrupt = all.corrupt + tonumber(fields[2])
    for p = 1, producers do
      local c, sum, sq, max = fields[p + 2]:match("^(%d+):(%d+):(%d+):(%-?%d+)$")
      all.count[p] = all.count[p] + tonumber(c)
      all.sum[p] = (all.sum[p] + tonumber(sum)) % M
      all.squares[p] = (all.squares[p] + tonumber(sq)) % M
      all.max[p] = math.max(all.max[p], tonumber(max))
    end
  end
  return all
end

-- Whether producer p's sequence numbers taken are exactly 0 .. n-1, each
-- once: count, sum and sum of squares all match.
function s.exactly(all, p, n)
  local sum, squares = 0, 0
  for seq = 0, n - 1 do
    sum = (sum + seq) % M
    squares = (squares + seq * seq) % M
  end
  return all.count[p] == n and all.sum[p] == sum and all.squares[p] == squares
end

-- The name of an mtmsg error ("operation_aborted", "object_closed", ...),
-- "error" for any other.
function s.error_name(err)
  return tostring(err):match("^mtmsg%.error%.([%w_]+)") or "error"
end

-- Takes one message from a buffer or listener: "ok", n, values...;
-- "empty" for an empty message (or none before the timeout); or the
-- error's name and its text.
function s.take(mtmsg, source, timeout)
  local function result(ok, ...)
    if ok then
      local n = select("#", ...)
      if n == 0 then return "empty" end
      return "ok", n, ...
    end
    local err = ...
    return s.error_name(err), err
  end
  return result(pcall(source.nextmsg, source, timeout))
end

-- Spins until the buffer `stop_id` holds a message: a thread that only
-- burns CPU, so that with more threads than cores the others are preempted
-- anywhere, inside mtmsg's locks too. It looks at the buffer rarely, and
-- through pcall: an abort of everything may be under way.
function s.burn(stop_id)
  local mtmsg = require "mtmsg"
  local stop = mtmsg.buffer(stop_id)
  local spins = 0
  repeat
    for _ = 1, 100000 do spins = spins + 1 end
    local ok, count = pcall(stop.msgcnt, stop)
  until ok and count > 0
  return spins
end

-- Busy-waits for `seconds` without mtmsg (whose sleep raises while
-- everything is aborted).
function s.spin(mtmsg, seconds)
  local deadline = mtmsg.time() + seconds
  while mtmsg.time() < deadline do end
end

return s
