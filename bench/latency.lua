-- latency: a paced stream. A producer thread adds (k, its send time) every
-- 100 µs, 5,000 messages; a consumer thread waits for each in nextmsg()
-- without a timeout. Per run: the median, 99th percentile and largest
-- delay from send to arrival, in microseconds, and the share of messages
-- that took over 1 ms, in percent.
local benchlib = require "benchlib"
local mtmsg = require "mtmsg"

local n = benchlib.count(5000, 100)
local period = 100e-6

local medians, p99s, maxima, over_1ms = {}, {}, {}, {}

local function stream()
    local b, ready = mtmsg.newbuffer(), mtmsg.newbuffer()
    local seconds, results = benchlib.threads {
        { "latency_send", b:id(), ready:id(), n, period },
        { "latency_take", b:id(), ready:id(), n },
    }
    b:close()
    ready:close()
    local median, p99, max, over = table.unpack(results[2], 1, 4)
    medians[#medians + 1], p99s[#p99s + 1], maxima[#maxima + 1] = median * 1e6, p99 * 1e6, max * 1e6
    over_1ms[#over_1ms + 1] = 100 * over / n
    return seconds
end

benchlib.runs(stream)
benchlib.samples("latency.median", medians)
benchlib.samples("latency.p99", p99s)
benchlib.samples("latency.max", maxima)
benchlib.samples("latency.over-1ms", over_1ms)
