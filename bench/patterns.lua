-- Everyday patterns in one thread, in nanoseconds per operation
-- (per message where a loop moves several), each beside its floor: the
-- very same loop run on a floor object, whose methods (addmsg, nextmsg,
-- setmsg, msgcnt, close) are all one null C function (see floor.c), and
-- with a floor module for mtmsg (newbuffer and newlistener make a floor
-- object, buffer is the null function). bench/run.sh runs it under the
-- stock lua5.4 where there is one: the original C mtmsg's figures it is
-- held against were measured there, against such a floor.
--
--   alternate       addmsg("tag", i, 1.5) then nextmsg(0)
--   batch10         10 x addmsg(k) then 10 x nextmsg(0), per message
--   many-buffers    1,000 buffers: addmsg(i) into each, then nextmsg(0)
--                   from each, per message
--   string64K       addmsg of a 64 KiB string then nextmsg(0)
--   create-close    newbuffer() then close()
--   listener-take   addmsg(i) to a listener's buffer then listener:nextmsg(0)
--   setmsg          setmsg(i)
--   poll-empty      nextmsg(0) on an empty buffer
--   lookup-name     mtmsg.buffer(name)
--
-- Every message taken is checked (a 64 KiB string by its length, and the
-- last one in full); an add is not, as the take that follows finds what
-- went wrong. A null call returns nothing, so a check reads
-- `if (result is wrong) ~= floor then`: on mtmsg (floor false) it fails on
-- a wrong result, on the floor (floor true; every result nil, so "wrong")
-- never, at the same cost. Each loop runs long enough to time, its
-- iterations found by a first, growing run.
--
-- Usage: lua bench/patterns.lua <pattern>...
local benchlib = require "benchlib"
local benchfloor = require "benchfloor"
local mtmsg = require "mtmsg"

-- What the loops use of mtmsg, for the floor.
local floor_mtmsg = { newbuffer = benchfloor.new, newlistener = benchfloor.new, buffer = benchfloor.null }

-- Seconds one timed run of a loop lasts.
local run_seconds = math.max(0.01, 0.2 * benchlib.scale)

local function wrong(pattern, i, ...)
    local got = table.pack(...)
    for k = 1, got.n do
        got[k] = tostring(got[k])
    end
    error(("%s: at %d got (%s)"):format(pattern, i, table.concat(got, ", ")), 0)
end

local string64K = ("0123456789abcdef"):rep(4096)

-- Each pattern: `per` operations per iteration, and setup(lib, floor),
-- which, given mtmsg (floor false) or floor_mtmsg (floor true), returns
-- the loop (running n iterations) and what cleans up after the last run.
local patterns = {}

patterns.alternate = {
    per = 1,
    setup = function(lib, floor)
        local b = lib.newbuffer()
        return function(n)
            for i = 1, n do
                b:addmsg("tag", i, 1.5)
                local t, v, x = b:nextmsg(0)
                if (v ~= i or t ~= "tag" or x ~= 1.5) ~= floor then wrong("alternate", i, t, v, x) end
            end
        end, function() b:close() end
    end,
}

patterns.batch10 = {
    per = 10,
    setup = function(lib, floor)
        local b = lib.newbuffer()
        return function(n)
            for _ = 1, n do
                for k = 1, 10 do
                    b:addmsg(k)
                end
                for k = 1, 10 do
                    local v = b:nextmsg(0)
                    if (v ~= k) ~= floor then wrong("batch10", k, v) end
                end
            end
        end, function() b:close() end
    end,
}

local buffer_count = 1000

patterns["many-buffers"] = {
    per = buffer_count,
    setup = function(lib, floor)
        local buffers = {}
        for k = 1, buffer_count do
            buffers[k] = lib.newbuffer()
        end
        return function(n)
            for i = 1, n do
                for k = 1, buffer_count do
                    buffers[k]:addmsg(i)
                end
                for k = 1, buffer_count do
                    local v = buffers[k]:nextmsg(0)
                    if (v ~= i) ~= floor then wrong("many-buffers", i, v) end
                end
            end
        end, function()
            for k = 1, buffer_count do
                buffers[k]:close()
            end
        end
    end,
}

patterns.string64K = {
    per = 1,
    setup = function(lib, floor)
        local b, size = lib.newbuffer(), #string64K
        return function(n)
            local s
            for i = 1, n do
                b:addmsg(string64K)
                s = b:nextmsg(0)
                if (s == nil or #s ~= size) ~= floor then wrong("string64K", i, s and #s) end
            end
            if (s ~= string64K) ~= floor then wrong("string64K", n, "other bytes") end
        end, function() b:close() end
    end,
}

patterns["create-close"] = {
    per = 1,
    setup = function(lib)
        local newbuffer = lib.newbuffer
        return function(n)
            for _ = 1, n do
                local b = newbuffer()
                b:close()
            end
        end
    end,
}

patterns["listener-take"] = {
    per = 1,
    setup = function(lib, floor)
        local l = lib.newlistener()
        local b = l:newbuffer()
        return function(n)
            for i = 1, n do
                b:addmsg(i)
                local v = l:nextmsg(0)
                if (v ~= i) ~= floor then wrong("listener-take", i, v) end
            end
        end, function() l:close() end
    end,
}

patterns.setmsg = {
    per = 1,
    setup = function(lib, floor)
        local b = lib.newbuffer()
        return function(n)
            for i = 1, n do
                b:setmsg(i)
            end
            local last, left = b:nextmsg(0), b:msgcnt()
            if (last ~= n or left ~= 0) ~= floor then wrong("setmsg", n, last, left) end
        end, function() b:close() end
    end,
}

patterns["poll-empty"] = {
    per = 1,
    setup = function(lib)
        local b = lib.newbuffer()
        return function(n)
            for i = 1, n do
                local v = b:nextmsg(0)
                if v ~= nil then wrong("poll-empty", i, v) end
            end
        end, function() b:close() end
    end,
}

local lookup_name = "bench.patterns.lookup-name"

patterns["lookup-name"] = {
    per = 1,
    setup = function(lib, floor)
        local b, find = lib.newbuffer(lookup_name), lib.buffer
        return function(n)
            for i = 1, n do
                if (find(lookup_name) == nil) ~= floor then wrong("lookup-name", i, nil) end
            end
            if not floor and find(lookup_name):id() ~= b:id() then wrong("lookup-name", n, "another buffer") end
        end, function() b:close() end
    end,
}

-- Seconds one run of n iterations takes.
local function time(loop, n)
    local start = benchlib.now()
    loop(n)
    return benchlib.now() - start
end

-- The iterations that make a run last about run_seconds: runs of growing
-- size until one lasts an eighth of it (which also warms the loop up).
local function iterations(loop)
    local n = 1
    while true do
        local seconds = time(loop, n)
        if seconds >= run_seconds / 8 then
            return math.max(1, math.ceil(n * run_seconds / seconds))
        end
        n = n * 4
    end
end

-- A function for benchlib.runs: one timed run of the pattern on mtmsg or
-- on the floor, in nanoseconds per operation; and its cleanup.
local function timed(pattern, floor)
    local loop, cleanup = pattern.setup(floor and floor_mtmsg or mtmsg, floor)
    local n = iterations(loop)
    return function()
        return time(loop, n) / (n * pattern.per) * 1e9
    end, cleanup
end

local names = { table.unpack(arg, 1, #arg) }
if #names == 0 then
    error("usage: patterns.lua <pattern>... (patterns: alternate batch10 many-buffers string64K create-close "
        .. "listener-take setmsg poll-empty lookup-name)")
end
for _, name in ipairs(names) do
    local pattern = patterns[name] or error("patterns.lua: no pattern " .. name)
    local mtmsg_run, cleanup = timed(pattern, false)
    local floor_run = benchlib.with_floor and timed(pattern, true) or nil
    local figures, floors = benchlib.runs(mtmsg_run, floor_run)
    if cleanup then
        cleanup()
    end
    benchlib.samples(name, figures)
    benchlib.samples(name .. ".floor", floors)
end
