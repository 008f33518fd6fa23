-- table-array1K, table-record: one thread adds the case's table
-- as a message n times, another takes and checks each (bench/tableloops.lua).
-- The floor, in the same run: one thread copying the table n times with a
-- C function that walks it and builds the copy (bench/tablefloor.c).
-- Figures in tables per second.
--
-- Usage: mtlua bench/tables.lua <table-array1K|table-record>   (BENCH_FLOOR=0: skip the floor)
local benchlib = require "benchlib"
local mtmsg = require "mtmsg"
local tableloops = require "tableloops"

local case = assert(arg[1], "usage: tables.lua <table-array1K|table-record>")
local n = benchlib.count(case == "table-array1K" and 40000 or 400000)

local function run(role, ...)
    return require("tableloops")[role](...)
end

local function with_queue()
    -- room for 64 tables ahead of the consumer, as the README counts their bytes
    local b = mtmsg.newbuffer(16384, 64 * 9010, 0)
    local llthreads = require "llthreads2.ex"
    local producer = llthreads.new(run, "produce", case, b:id(), n)
    local consumer = llthreads.new(run, "consume", case, b:id(), n)
    local start = benchlib.now()
    assert(producer:start() and consumer:start())
    local produced, err1 = producer:join()
    local consumed, err2 = consumer:join()
    local seconds = benchlib.now() - start
    if not (produced and consumed) then error(tostring(err1 or err2), 0) end
    b:close()
    return seconds
end

local function with_floor()
    local start = benchlib.now()
    tableloops.floor(case, n)
    return benchlib.now() - start
end

local queue, floor = benchlib.runs(with_queue, benchlib.floor(with_floor))
benchlib.samples(case, benchlib.rates(n, queue))
benchlib.samples(case .. ".floor", benchlib.rates(n, floor))
