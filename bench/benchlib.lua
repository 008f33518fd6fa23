-- What the benchmark scripts share: the clock, sizes, best-of runs, threads
-- and the RESULT lines bench/run.sh reads.
--
-- Environment: BENCH_SCALE multiplies every message count (default 1),
-- BENCH_REPEAT is how many times each measurement runs, the best run
-- counting (default 3; this machine is shared and noisy).
local benchfloor = require "benchfloor"

local benchlib = {}

benchlib.now = benchfloor.now
benchlib.scale = tonumber(os.getenv("BENCH_SCALE")) or 1
benchlib.repeats = math.max(1, math.floor(tonumber(os.getenv("BENCH_REPEAT")) or 3))

-- A message count scaled by BENCH_SCALE, at least `least`.
function benchlib.count(n, least)
    return math.max(least or 1, math.floor(n * benchlib.scale))
end

-- Runs each {loop name, arguments...} of benchloops in a thread of its own,
-- all started together; returns the seconds from the first start to the
-- last join. Any thread's failure is raised, with every failing thread's
-- error (a failing loop aborts mtmsg, so the others stop instead of hanging).
function benchlib.threads(specs)
    local llthreads = require "llthreads2.ex"
    local threads = {}
    for k, spec in ipairs(specs) do
        threads[k] = llthreads.new(function(loop, ...)
            return require("benchloops").run(loop, ...)
        end, table.unpack(spec))
    end
    local start = benchlib.now()
    for _, thread in ipairs(threads) do
        assert(thread:start())
    end
    local failures = {}
    for k, thread in ipairs(threads) do
        local ok, err = thread:join()
        if not ok then
            failures[#failures + 1] = ("thread %d (%s): %s"):format(k, specs[k][1], tostring(err))
        end
    end
    local elapsed = benchlib.now() - start
    if #failures > 0 then
        error(table.concat(failures, "\n"), 0)
    end
    return elapsed
end

-- Runs each of the functions benchlib.repeats times, interleaved (so a
-- noisy moment hits all of them alike); each returns seconds. Returns the
-- best (least) seconds of each, in order.
function benchlib.best(...)
    local runs = { ... }
    local best = {}
    for _ = 1, benchlib.repeats do
        for k, run in ipairs(runs) do
            local seconds = run()
            if best[k] == nil or seconds < best[k] then
                best[k] = seconds
            end
        end
    end
    return table.unpack(best, 1, #runs)
end

-- The line bench/run.sh reads: the case, mtmsg's figure, the floor's
-- figure ("-" when there is none).
function benchlib.result(case, figure, floor)
    print(("RESULT %s %.6g %s"):format(case, figure, floor and ("%.6g"):format(floor) or "-"))
end

return benchlib
