-- instructions: one thread adds n messages ("tag", i, 1.5) to a buffer, then
-- takes and checks them; mode floor runs the same loops on the null C
-- functions. bench/run.sh runs this under valgrind --tool=callgrind with
-- n = 0 and n = 100,000 and divides the difference by n.
--
-- Usage: mtlua bench/instructions.lua <mtmsg|floor> <n>
local mtmsg = require "mtmsg"
local benchfloor = require "benchfloor"

local mode = arg[1]
local n = assert(math.tointeger(tonumber(arg[2])), "usage: instructions.lua <mtmsg|floor> <n>")

local function wrong(i, ...)
    local got = table.pack(...)
    for k = 1, got.n do
        got[k] = tostring(got[k])
    end
    error(("instructions: message %d is (%s)"):format(i, table.concat(got, ", ")), 0)
end

if mode == "mtmsg" then
    local b = mtmsg.newbuffer()
    for i = 1, n do
        if not b:addmsg("tag", i, 1.5) then wrong(i, false) end
    end
    for i = 1, n do
        local t, v, x = b:nextmsg()
        if v ~= i or t ~= "tag" or x ~= 1.5 then wrong(i, t, v, x) end
    end
    if b:msgcnt() ~= 0 then error("instructions: messages left over", 0) end
elseif mode == "floor" then
    local f = benchfloor.new()
    for i = 1, n do
        if not f:put("tag", i, 1.5) then wrong(i, false) end
    end
    for i = 1, n do
        local t, v, x = f:get3(i)
        if v ~= i or t ~= "tag" or x ~= 1.5 then wrong(i, t, v, x) end
    end
else
    error("usage: instructions.lua <mtmsg|floor> <n>")
end
print(("RESULT instructions-%s %d"):format(mode, n))
