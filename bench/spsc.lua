-- spsc and spsc3: thread A adds n messages to a buffer, thread B takes them
-- and checks each. Width 1: the message (i); width 3: ("tag", i, 1.5).
-- The floor runs the same two loops on two threads with null C functions.
--
-- Usage: mtlua bench/spsc.lua <1|3>
local benchlib = require "benchlib"

local width = assert(tonumber(arg[1]), "usage: spsc.lua <1|3>")
local case = width == 1 and "spsc" or "spsc3"
local n = benchlib.count(2000000)

local function with_queue()
    return benchlib.spsc(n, width)
end

local function with_floor()
    return benchlib.threads { { "spsc_put_floor", 0, n, width }, { "spsc_take_floor", 0, n, width } }
end

local queue, floor = benchlib.runs(with_queue, benchlib.floor(with_floor))
benchlib.samples(case, benchlib.rates(n, queue))
benchlib.samples(case .. ".floor", benchlib.rates(n, floor))
