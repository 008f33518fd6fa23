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

-- pool: one producer adds ("job", i) for i = 1..n to one buffer, then one
-- "stop" per worker; each worker takes jobs until its stop, checks that
-- the numbers it gets rise (one buffer keeps the order of the adds) and
-- returns how many it took and their sum, which the script checks.

function benchloops.pool_produce(id, n, workers)
    local b = buffer(id)
    for i = 1, n do
        if not b:addmsg("job", i) then wrong("pool put", i, false) end
    end
    for w = 1, workers do
        if not b:addmsg("stop") then wrong("pool stop", w, false) end
    end
end

function benchloops.pool_work(id)
    local b = buffer(id)
    local count, sum, last = 0, 0, 0
    while true do
        local command, i = b:nextmsg()
        if command == "stop" then
            return count, sum
        end
        if command ~= "job" or math.type(i) ~= "integer" or i <= last then wrong("pool", count + 1, command, i) end
        count, sum, last = count + 1, sum + i, i
    end
end

-- mpmc: producer p (0..producers-1) adds i * producers + p for i = 1..n to
-- one buffer, then an empty message; each consumer takes messages until an
-- empty one, checks that each producer's arrive in order and returns how
-- many it took and their sum. As many consumers as producers: the last
-- empty message comes after every producer's last message, so by the time
-- each consumer has taken one, every message has been taken.

function benchloops.mpmc_put(id, n, p, producers)
    benchloops.fanin_put(id, n, p, producers)
    if not buffer(id):addmsg() then wrong("mpmc end", n + 1, false) end
end

function benchloops.mpmc_take(id, producers)
    local b = buffer(id)
    local last, count, sum = {}, 0, 0
    for p = 0, producers - 1 do
        last[p] = 0
    end
    while true do
        local v = b:nextmsg()
        if v == nil then
            return count, sum
        end
        if math.type(v) ~= "integer" then wrong("mpmc", count + 1, v) end
        local p, i = v % producers, v // producers
        if i <= last[p] then wrong("mpmc", count + 1, v) end
        last[p], count, sum = i, count + 1, sum + v
    end
end

-- latency: the producer adds (k, its send time) on a schedule, the k-th at
-- start + k * period, busy-waiting for each slot (a producer that slept
-- between messages would wake late by about a period itself on these
-- machines). It starts once the consumer says it is ready on a second
-- buffer: a consumer still loading its modules would count as latency.
-- The consumer waits in nextmsg() without a timeout and notes how long
-- after its send time each message arrived; it returns the median, the
-- 99th percentile and the largest of these delays in seconds, and how
-- many were over a millisecond.

function benchloops.latency_send(id, ready_id, n, period)
    local b, now = buffer(id), require("benchfloor").now
    if buffer(ready_id):nextmsg() ~= "ready" then wrong("latency start", 0, false) end
    local start = now()
    for k = 1, n do
        local slot = start + k * period
        while now() < slot do
        end
        if not b:addmsg(k, now()) then wrong("latency put", k, false) end
    end
end

function benchloops.latency_take(id, ready_id, n)
    local b, now = buffer(id), require("benchfloor").now
    local delays, over_1ms = {}, 0
    buffer(ready_id):addmsg("ready")
    for k = 1, n do
        local j, sent = b:nextmsg()
        local delay = now() - sent
        if j ~= k then wrong("latency", k, j, sent) end
        delays[k] = delay
        if delay > 1e-3 then
            over_1ms = over_1ms + 1
        end
    end
    table.sort(delays)
    local function percentile(q)
        return delays[math.max(1, math.ceil(q * n))]
    end
    return percentile(0.5), percentile(0.99), delays[n], over_1ms
end

-- Runs a loop and returns its results; when it fails, aborts mtmsg so no
-- other thread waits forever.
function benchloops.run(loop, ...)
    local results = table.pack(pcall(benchloops[loop], ...))
    if not results[1] then
        pcall(function() require("mtmsg").abort(true) end)
        error(results[2], 0)
    end
    return table.unpack(results, 2, results.n)
end

return benchloops
