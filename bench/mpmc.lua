-- mpmc: 8 producer threads and 8 consumer threads on one buffer, each
-- consumer checking every producer's order; against spsc (one producer,
-- one consumer) moving the same number of one-value messages in the same
-- run, interleaved with it.
local benchlib = require "benchlib"
local mtmsg = require "mtmsg"

local threads_per_side = 8
local per_producer = benchlib.count(1000000 // threads_per_side)
local total = per_producer * threads_per_side

local function mpmc()
    local b = mtmsg.newbuffer()
    local specs = {}
    for p = 0, threads_per_side - 1 do
        specs[#specs + 1] = { "mpmc_put", b:id(), per_producer, p, threads_per_side }
        specs[#specs + 1] = { "mpmc_take", b:id(), threads_per_side }
    end
    local seconds, results = benchlib.threads(specs)
    local count, sum = 0, 0
    for k = 2, #results, 2 do
        count, sum = count + results[k][1], sum + results[k][2]
    end
    -- every i * producers + p, for i = 1..n and p = 0..producers-1
    local expected = threads_per_side * threads_per_side * per_producer * (per_producer + 1) // 2
        + per_producer * threads_per_side * (threads_per_side - 1) // 2
    if count ~= total or sum ~= expected or b:msgcnt() ~= 0 then
        benchlib.fail(("mpmc: took %d messages (sum %d) of %d (sum %d), %d left"):format(
            count, sum, total, expected, b:msgcnt()))
    end
    b:close()
    return seconds
end

local function spsc()
    return benchlib.spsc(total, 1)
end

local mpmc_seconds, spsc_seconds = benchlib.runs(mpmc, benchlib.floor(spsc))
benchlib.samples("mpmc", benchlib.rates(total, mpmc_seconds))
benchlib.samples("mpmc.spsc", benchlib.rates(total, spsc_seconds))
