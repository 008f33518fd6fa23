-- pool: the worker pool of examples/worker_pool.lua without the work: one
-- producer thread adds `jobs` messages ("job", i) to one buffer, `workers`
-- threads take them until each gets its "stop". Messages per second of
-- each run, for 4 and for 16 workers; users meet the slowest runs, so
-- bench/run.sh judges the worst one.
local benchlib = require "benchlib"
local mtmsg = require "mtmsg"

local jobs = benchlib.count(400000)

local function pool(workers)
    return function()
        local b = mtmsg.newbuffer()
        local specs = { { "pool_produce", b:id(), jobs, workers } }
        for _ = 1, workers do
            specs[#specs + 1] = { "pool_work", b:id() }
        end
        local seconds, results = benchlib.threads(specs)
        local count, sum = 0, 0
        for k = 2, #results do
            count, sum = count + results[k][1], sum + results[k][2]
        end
        if count ~= jobs or sum ~= jobs * (jobs + 1) // 2 or b:msgcnt() ~= 0 then
            benchlib.fail(("pool: %d workers took %d jobs (sum %d) of %d, %d left"):format(
                workers, count, sum, jobs, b:msgcnt()))
        end
        b:close()
        return seconds
    end
end

local four, sixteen = benchlib.runs(pool(4), pool(16))
benchlib.samples("pool4", benchlib.rates(jobs, four))
benchlib.samples("pool16", benchlib.rates(jobs, sixteen))
