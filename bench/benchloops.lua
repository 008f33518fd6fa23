-- The loops the benchmark threads run: each mtmsg loop next to its floor,
-- which is the same loop with the same calls and checks, only the queue
-- removed (the floor object's methods are null C functions, see floor.c).
-- Every loop checks what it receives and fails loudly.
local benchloops = {}

local function wrong(case, i, ...)
    local got = table.pack(...)
    for k = 1, got.n do
        got[k] = ("%q"):format(got[k])
    end
    error(("%s: message %d is (%s)"):format(case, i, table.concat(got, ", ")), 0)
end

local function buffer(id)
    return require("mtmsg").buffer(id)
end

local function floor()
    return require("benchfloor").new()
end

-- spsc (width 1: the message (i)) and spsc3 (width 3: ("tag", i, 1.5))

function benchloops.spsc_put(id, n, width)
    local b = buffer(id)
    if width == 1 then
        for i = 1, n do
            if not b:addmsg(i) then wrong("spsc put", i, false) end
        end
    else
        for i = 1, n do
            if not b:addmsg("tag", i, 1.5) then wrong("spsc3 put", i, false) end
        end
    end
end

function benchloops.spsc_put_floor(_, n, width)
    local f = floor()
    if width == 1 then
        for i = 1, n do
            if not f:put(i) then wrong("spsc put", i, false) end
        end
    else
        for i = 1, n do
            if not f:put("tag", i, 1.5) then wrong("spsc3 put", i, false) end
        end
    end
end

function benchloops.spsc_take(id, n, width)
    local b = buffer(id)
    if width == 1 then
        for i = 1, n do
            local v = b:nextmsg()
            if v ~= i then wrong("spsc", i, v) end
        end
    else
        for i = 1, n do
            local t, v, x = b:nextmsg()
            if v ~= i or t ~= "tag" or x ~= 1.5 then wrong("spsc3", i, t, v, x) end
        end
    end
    if b:msgcnt() ~= 0 then error("spsc: messages left over", 0) end
end

function benchloops.spsc_take_floor(_, n, width)
    local f = floor()
    if width == 1 then
        for i = 1, n do
            local v = f:get1(i)
            if v ~= i then wrong("spsc", i, v) end
        end
    else
        for i = 1, n do
            local t, v, x = f:get3(i)
            if v ~= i or t ~= "tag" or x ~= 1.5 then wrong("spsc3", i, t, v, x) end
        end
    end
end

-- pingpong: A adds i to one buffer, B takes it and adds it to the other, A takes it

function benchloops.ping(id_there, id_back, n)
    local there, back = buffer(id_there), buffer(id_back)
    for i = 1, n do
        if not there:addmsg(i) then wrong("ping", i, false) end
        local v = back:nextmsg()
        if v ~= i then wrong("ping", i, v) end
    end
end

function benchloops.pong(id_there, id_back, n)
    local there, back = buffer(id_there), buffer(id_back)
    for i = 1, n do
        local v = there:nextmsg()
        if v ~= i then wrong("pong", i, v) end
        if not back:addmsg(v) then wrong("pong", i, false) end
    end
end

-- fanin: producer p (0..producers-1) adds i * producers + p for i = 1..n to
-- its own buffer; the consumer takes them all through the listener and
-- checks that each producer's arrive in order.

function benchloops.fanin_put(id, n, p, producers)
    local b = buffer(id)
    for i = 1, n do
        if not b:addmsg(i * producers + p) then wrong("fanin put", i, false) end
    end
end

function benchloops.fanin_take(listener_id, n, producers)
    local l = require("mtmsg").listener(listener_id)
    local last = {}
    for p = 0, producers - 1 do
        last[p] = 0
    end
    for k = 1, n * producers do
        local v = l:nextmsg()
        local p, i = v % producers, v // producers
        if i ~= last[p] + 1 then wrong("fanin", k, v) end
        last[p] = i
    end
    for p = 0, producers - 1 do
        if last[p] ~= n then error(("fanin: producer %d sent %d of %d"):format(p, last[p], n), 0) end
    end
end

-- bytes: the message (i, s) with s a string of `size` bytes made once; the
-- producer waits for room in a fixed-size buffer that holds 256 messages.
-- The consumer checks i and the length of each string, and every 64th
-- string's bytes; the floor (one thread) makes the same checks.

local function pattern(size)
    return ("0123456789abcdef"):rep(size // 16)
end

local function checkbytes(case, i, s, j, r)
    if j ~= i or #r ~= #s then wrong(case, i, j, #r) end
    if i % 64 == 0 and r ~= s then error(("%s: message %d: the bytes differ"):format(case, i), 0) end
end

function benchloops.bytes_put(id, n, size)
    local b, s = buffer(id), pattern(size)
    for i = 1, n do
        if not b:waitaddmsg(nil, i, s) then wrong("bytes put", i, false) end
    end
end

function benchloops.bytes_take(id, n, size)
    local b, s = buffer(id), pattern(size)
    for i = 1, n do
        local j, r = b:nextmsg()
        checkbytes("bytes", i, s, j, r)
    end
end

function benchloops.bytes_floor(_, n, size)
    local f, s = floor(), pattern(size)
    for i = 1, n do
        local j, r = f:copy(i, s)
        checkbytes("bytes", i, s, j, r)
    end
end

-- Runs a loop; when it fails, aborts mtmsg so no other thread waits forever.
function benchloops.run(loop, ...)
    local ok, err = pcall(benchloops[loop], ...)
    if not ok then
        pcall(function() require("mtmsg").abort(true) end)
        error(err, 0)
    end
end

return benchloops
