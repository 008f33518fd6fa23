-- spsc and spsc3: thread A adds n messages to a buffer, thread B takes them
-- and checks each. Width 1: the message (i); width 3: ("tag", i, 1.5).
-- The floor runs the same two loops on two threads with null C functions.
--
-- Usage: mtlua bench/spsc.lua <1|3> [queue]   (queue: skip the floor, for profiling)
local benchlib = require "benchlib"
local mtmsg = require "mtmsg"

local width = assert(tonumber(arg[1]), "usage: spsc.lua <1|3> [queue]")
local queue_only = arg[2] == "queue"
local n = benchlib.count(2000000)

local function with_queue()
    local b = mtmsg.newbuffer()
    local seconds = benchlib.threads { { "spsc_put", b:id(), n, width }, { "spsc_take", b:id(), n, width } }
    b:close()
    return seconds
end

local function with_floor()
    return benchlib.threads { { "spsc_put_floor", 0, n, width }, { "spsc_take_floor", 0, n, width } }
end

if queue_only then
    benchlib.result(width == 1 and "spsc" or "spsc3", n / benchlib.best(with_queue))
else
    local queue, floor = benchlib.best(with_queue, with_floor)
    benchlib.result(width == 1 and "spsc" or "spsc3", n / queue, n / floor)
end
