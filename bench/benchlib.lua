-- What the benchmark scripts share: the clock, sizes, repeated runs,
-- threads and the SAMPLES lines bench/run.sh reads.
--
-- Environment (bench/run.sh sets it): BENCH_SCALE multiplies every message
-- count (default 1); BENCH_REPEAT is how many times each measurement runs
-- (default 5): every run is reported, and run.sh takes the median and the
-- spread, so a slow mode that shows in some runs stays visible;
-- BENCH_FLOOR=0 skips the floors and references (a comparison with a
-- baseline build needs only mtmsg's own figures).
local benchfloor = require "benchfloor"

local benchlib = {}

benchlib.now = benchfloor.now
benchlib.scale = tonumber(os.getenv("BENCH_SCALE")) or 1
benchlib.repeats = math.max(1, math.floor(tonumber(os.getenv("BENCH_REPEAT")) or 5))
benchlib.with_floor = os.getenv("BENCH_FLOOR") ~= "0"

-- A message count scaled by BENCH_SCALE, at least `least`.
function benchlib.count(n, least)
    return math.max(least or 1, math.floor(n * benchlib.scale))
end

-- Runs each {loop name, arguments...} of benchloops in a thread of its own,
-- all started together; returns the seconds from the first start to the
-- last join, and a list with each thread's results (a table.pack). Any
-- thread's failure is raised, with every failing thread's error (a failing
-- loop aborts mtmsg, so the others stop instead of hanging).
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
    local failures, results = {}, {}
    for k, thread in ipairs(threads) do
        local joined = table.pack(thread:join())
        if joined[1] then
            results[k] = table.pack(table.unpack(joined, 2, joined.n))
        else
            failures[#failures + 1] = ("thread %d (%s): %s"):format(k, specs[k][1], tostring(joined[2]))
        end
    end
    local elapsed = benchlib.now() - start
    if #failures > 0 then
        error(table.concat(failures, "\n"), 0)
    end
    return elapsed, results
end

-- Raises a benchmark's failure found in the main state (a lost or
-- duplicated message), after aborting mtmsg: a state of the buffers that
-- let that happen must not leave a thread, or the collection of a buffer
-- at exit, waiting for ever.
function benchlib.fail(message)
    pcall(function() require("mtmsg").abort(true) end)
    error(message, 0)
end

-- One run of spsc: one thread adds n messages to a new buffer, another
-- takes and checks them; width 1: the message (i), 3: ("tag", i, 1.5).
-- Returns the seconds it took. Also the reference of the cases of several
-- producers (fanin, mpmc).
function benchlib.spsc(n, width)
    local b = require("mtmsg").newbuffer()
    local seconds = benchlib.threads { { "spsc_put", b:id(), n, width }, { "spsc_take", b:id(), n, width } }
    b:close()
    return seconds
end

-- Runs each of the functions benchlib.repeats times, interleaved (so a
-- noisy moment hits all of them alike); a nil in place of a function (a
-- floor left out) is skipped. Each function returns what it measured (a
-- number). Returns, in order, the list of each function's results (nil
-- for a skipped one).
function benchlib.runs(...)
    local runs = table.pack(...)
    local results = {}
    for k = 1, runs.n do
        results[k] = runs[k] and {} or nil
    end
    for _ = 1, benchlib.repeats do
        for k = 1, runs.n do
            if runs[k] then
                local list = results[k]
                list[#list + 1] = runs[k]()
            end
        end
    end
    return table.unpack(results, 1, runs.n)
end

-- f applied to each value of a list; nil for nil.
function benchlib.map(list, f)
    if list == nil then
        return nil
    end
    local mapped = {}
    for k, v in ipairs(list) do
        mapped[k] = f(v)
    end
    return mapped
end

-- Messages per second for each of a list of seconds.
function benchlib.rates(count, seconds)
    return benchlib.map(seconds, function(s) return count / s end)
end

-- The line bench/run.sh reads: every measured value of one series (a case's
-- figure, its floor...). Nothing for a nil list (a skipped floor).
function benchlib.samples(series, values)
    if values == nil then
        return
    end
    local formatted = {}
    for k, v in ipairs(values) do
        formatted[k] = ("%.6g"):format(v)
    end
    print(("SAMPLES %s %s"):format(series, table.concat(formatted, " ")))
end

-- The floor when floors are wanted, else nil (for benchlib.runs).
function benchlib.floor(run)
    return benchlib.with_floor and run or nil
end

return benchlib
