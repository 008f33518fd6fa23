-- The loops of the table benchmarks (bench/tables.lua): the tables of each
-- case, the producer and the consumer that pass them through a buffer,
-- and the floor, one thread copying them with benchtablefloor.copy. Every
-- loop checks what it gets.
local tableloops = {}

-- table-array1K: 1,000 numbers; table-record: 10 string keys holding
-- strings, numbers and a nested array of 10.
local shapes = {
    ["table-array1K"] = function()
        local t = {}
        for i = 1, 1000 do t[i] = i + 0.5 end
        return t
    end,
    ["table-record"] = function()
        local values = {}
        for i = 1, 10 do values[i] = i end
        return {
            name = "job", kind = "compute", owner = "alice", host = "node7", state = "ready",
            id = 42, priority = 3, ratio = 0.75, created = 1.7e9, values = values,
        }
    end,
}

function tableloops.shape(case)
    return assert(shapes[case], "unknown case")()
end

local function check(case, i, t)
    local ok
    if case == "table-array1K" then
        ok = type(t) == "table" and #t == 1000 and t[1000] == 1000.5
    else
        ok = type(t) == "table" and t.owner == "alice" and #t.values == 10 and t.values[10] == 10
    end
    if not ok then error(("%s: message %d is %s"):format(case, i, tostring(t)), 0) end
end

-- Bounded by a fixed-size buffer (waitaddmsg), as bytes.lua: never more
-- than the buffer holds ahead of the consumer.
function tableloops.produce(case, id, n)
    local mtmsg = require "mtmsg"
    local b = mtmsg.buffer(id)
    local t = tableloops.shape(case)
    for i = 1, n do
        if not b:waitaddmsg(nil, t) then error(case .. ": message " .. i .. " not added", 0) end
    end
end

function tableloops.consume(case, id, n)
    local b = require("mtmsg").buffer(id)
    for i = 1, n do
        check(case, i, b:nextmsg())
    end
end

function tableloops.floor(case, n)
    local copy = require("benchtablefloor").copy
    local t = tableloops.shape(case)
    for i = 1, n do
        check(case, i, copy(t))
    end
end

return tableloops
