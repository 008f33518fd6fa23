-- lookup: 100,000 named buffers; the rate of mtmsg.buffer(name) against
-- the rate of mtmsg.buffer(id) (the floor), both visiting the buffers in the
-- same shuffled order. Every lookup makes a new reference (a userdata) in
-- both. Afterwards, untimed, every name and every id is checked to find its
-- own buffer.
local benchlib = require "benchlib"
local mtmsg = require "mtmsg"

local count = 100000
local rounds = benchlib.count(10)

local buffers, names, ids = {}, {}, {}
for k = 1, count do
    names[k] = ("bench.lookup.%06d"):format(k)
    buffers[k] = mtmsg.newbuffer(names[k])
    ids[k] = buffers[k]:id()
end

-- the same shuffled order for both kinds of key
math.randomseed(5)
local order = {}
for k = 1, count do
    order[k] = k
end
for k = count, 2, -1 do
    local j = math.random(k)
    order[k], order[j] = order[j], order[k]
end
local by_name, by_id = {}, {}
for k = 1, count do
    by_name[k], by_id[k] = names[order[k]], ids[order[k]]
end

local function lookups(keys)
    return function()
        local find = mtmsg.buffer
        local start = benchlib.now()
        for _ = 1, rounds do
            for k = 1, count do
                find(keys[k])
            end
        end
        return benchlib.now() - start
    end
end

local name_seconds, id_seconds = benchlib.runs(lookups(by_name), benchlib.floor(lookups(by_id)))

for k = 1, count do
    if mtmsg.buffer(names[k]):id() ~= ids[k] or mtmsg.buffer(ids[k]):name() ~= names[k] then
        error(("lookup: buffer %d (%s, id %d) not found as itself"):format(k, names[k], ids[k]), 0)
    end
end

benchlib.samples("lookup", benchlib.rates(count * rounds, name_seconds))
benchlib.samples("lookup.id", benchlib.rates(count * rounds, id_seconds))
