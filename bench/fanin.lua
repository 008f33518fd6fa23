-- fanin: 4 producers, each adding n/4 messages to its own buffer of one
-- listener; one consumer takes them all from the listener and checks each
-- producer's order. Its reference ("floor" column) is the spsc throughput
-- with the same total number of one-value messages, measured in the same
-- run, interleaved with it.
local benchlib = require "benchlib"
local mtmsg = require "mtmsg"

local producers = 4
local per_producer = benchlib.count(500000)
local total = per_producer * producers

local function fanin()
    local listener = mtmsg.newlistener()
    local buffers = {} -- a listener does not keep its buffers alive: this does
    local specs = { { "fanin_take", listener:id(), per_producer, producers } }
    for p = 0, producers - 1 do
        buffers[p] = listener:newbuffer()
        specs[#specs + 1] = { "fanin_put", buffers[p]:id(), per_producer, p, producers }
    end
    local seconds = benchlib.threads(specs)
    listener:close()
    return seconds
end

local function spsc()
    return benchlib.spsc(total, 1)
end

local fanin_seconds, spsc_seconds = benchlib.runs(fanin, benchlib.floor(spsc))
benchlib.samples("fanin", benchlib.rates(total, fanin_seconds))
benchlib.samples("fanin.spsc", benchlib.rates(total, spsc_seconds))
