-- bytes1K, bytes64K, bytes1M: the producer adds the message (i, s), s a
-- string of `size` bytes made once, to a fixed-size buffer that holds 256
-- such messages, waiting for room with waitaddmsg, so it is never more than
-- 256 messages ahead; the consumer takes and checks them. The floor is one
-- thread copying s into C memory and making a new Lua string of it (see
-- benchloops.lua). Figures in MB/s (10^6 bytes of string per second).
--
-- Usage: mtlua bench/bytes.lua <case> <size> <messages>
local benchlib = require "benchlib"
local mtmsg = require "mtmsg"

local case = assert(arg[1], "usage: bytes.lua <case> <size> <messages>")
local size = (assert(math.tointeger(tonumber(arg[2])), "size"))
local n = benchlib.count((assert(tonumber(arg[3]), "messages")))
local ahead = 256

-- Bytes a message occupies, as the README counts them.
local function varint(v)
    local bytes = 1
    while v >= 128 do
        v, bytes = v // 128, bytes + 1
    end
    return bytes
end
local body = 9 + 1 + varint(size) + size -- the integer i, then the string
local message = varint(body) + varint(2) + body

local function with_queue()
    local b = mtmsg.newbuffer(message, ahead * message, 0)
    local seconds = benchlib.threads { { "bytes_put", b:id(), n, size }, { "bytes_take", b:id(), n, size } }
    b:close()
    return seconds
end

local function with_floor()
    return benchlib.threads { { "bytes_floor", 0, n, size } }
end

local function megabytes_per_second(seconds)
    return n * size / seconds / 1e6
end

local queue, floor = benchlib.runs(with_queue, benchlib.floor(with_floor))
benchlib.samples(case, benchlib.map(queue, megabytes_per_second))
benchlib.samples(case .. ".floor", benchlib.map(floor, megabytes_per_second))
