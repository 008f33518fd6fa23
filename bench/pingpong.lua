-- pingpong: thread A adds i to one buffer, thread B takes it and adds it to
-- another, A takes it and checks it. Prints nanoseconds per round trip; the
-- floor is the C program bench/pingpong_floor.c (bench/run.sh runs both).
local benchlib = require "benchlib"
local mtmsg = require "mtmsg"

local n = benchlib.count(200000)

local function pingpong()
    local there, back = mtmsg.newbuffer(), mtmsg.newbuffer()
    local seconds = benchlib.threads { { "ping", there:id(), back:id(), n }, { "pong", there:id(), back:id(), n } }
    there:close()
    back:close()
    return seconds
end

benchlib.samples("pingpong", benchlib.map(benchlib.runs(pingpong), function(s) return s / n * 1e9 end))
