-- memory: resident memory per empty buffer, over 100,000 unnamed buffers
-- made with mtmsg.newbuffer() and held in a Lua table. The figure is the
-- whole cost a Lua user pays: the growth of the process's VmRSS, which
-- includes mtmsg's own memory, the Lua userdata and the table slot. A NOTE
-- line says how much of it is the Lua heap. One measurement per process
-- (memory once freed stays resident): bench/run.sh runs it several times.
local benchfloor = require "benchfloor"
local mtmsg = require "mtmsg"

local count = 100000

collectgarbage()
collectgarbage()
local rss_before, lua_before = benchfloor.rss(), collectgarbage("count")
local buffers = {}
for k = 1, count do
    buffers[k] = mtmsg.newbuffer()
end
collectgarbage()
collectgarbage()
local rss_after, lua_after = benchfloor.rss(), collectgarbage("count")

local seen = {}
for k = 1, count do
    local id = buffers[k]:id()
    if seen[id] or buffers[k]:msgcnt() ~= 0 then
        error(("memory: buffer %d (id %d) is not a new empty buffer"):format(k, id), 0)
    end
    seen[id] = true
end

print(("NOTE memory: of the %.0f B per buffer, the Lua heap (userdata, table slot) holds %.0f B"):format(
    (rss_after - rss_before) / count, (lua_after - lua_before) * 1024 / count))
print(("SAMPLES memory %.6g"):format((rss_after - rss_before) / count))
