-- churn: n loops that each create a buffer, add and take one message
-- (mode message) or do nothing with it (mode empty), and drop it without
-- closing it, leaving it to Lua's collector as a careless program does.
-- Prints the resident memory of the process at the end, in MB (10^6
-- bytes): what a buffer holds outside the Lua heap piles up while the
-- collector, which does not see it, takes its time. One measurement per
-- process: bench/run.sh runs it several times, the two modes alternating,
-- on the test host and on the stock lua5.4: how soon a collector runs the
-- finalizers of garbage userdata differs between Lua releases. The series
-- are <series> and <series>.empty (default churn).
--
-- Usage: lua bench/churn.lua <message|empty> [series]
local benchlib = require "benchlib"
local benchfloor = require "benchfloor"
local mtmsg = require "mtmsg"

local mode, series = arg[1], arg[2] or "churn"
local n = benchlib.count(1500000)

if mode == "message" then
    for i = 1, n do
        local b = mtmsg.newbuffer()
        if not b:addmsg(i) then error(("churn: buffer %d refused its message"):format(i), 0) end
        local v = b:nextmsg(0)
        if v ~= i then error(("churn: buffer %d gave %s"):format(i, tostring(v)), 0) end
    end
    benchlib.samples(series, { benchfloor.rss() / 1e6 })
elseif mode == "empty" then
    for _ = 1, n do
        mtmsg.newbuffer()
    end
    benchlib.samples(series .. ".empty", { benchfloor.rss() / 1e6 })
else
    error("usage: churn.lua <message|empty> [series]")
end
print(("NOTE %s: on %s"):format(series, mtmsg._INFO:match("Lua %d[%d.]*%d") or mtmsg._INFO))
