-- A pool of worker threads serving one job buffer. Each worker takes the
-- next job as soon as it is free, so the jobs spread over the pool by
-- themselves; results come back through a second buffer, and one "stop"
-- message per worker ends the pool.
local llthreads = require("llthreads2.ex")
local mtmsg     = require("mtmsg")

local WORKERS, JOBS = 4, 200
local jobs    = mtmsg.newbuffer("pool.jobs")
local results = mtmsg.newbuffer("pool.results")

-- Runs in a new Lua state on its own thread: it sees none of the upvalues
-- above, only its arguments.
local function worker(number)
  local mtmsg   = require("mtmsg")
  local jobs    = mtmsg.buffer("pool.jobs")
  local results = mtmsg.buffer("pool.results")
  local done = 0
  while true do
    local command, n = jobs:nextmsg()
    if command == "stop" then
      return done
    end
    mtmsg.sleep(0.001)                   -- the work a job stands for
    results:addmsg(n, n * n, number)
    done = done + 1
  end
end

local threads = {}
for number = 1, WORKERS do
  threads[number] = llthreads.new(worker, number)
  assert(threads[number]:start())
end

for n = 1, JOBS do
  jobs:addmsg("square", n)
end
for _ = 1, WORKERS do
  jobs:addmsg("stop")
end

local seen, by_worker = {}, {}
for _ = 1, JOBS do
  local n, square, number = results:nextmsg(10)
  assert(n, "no result within 10 seconds")
  assert(square == n * n, "wrong square of " .. n .. ": " .. tostring(square))
  assert(not seen[n], "job " .. n .. " done twice")
  seen[n] = true
  by_worker[number] = (by_worker[number] or 0) + 1
end

local total = 0
for number, thread in ipairs(threads) do
  local ok, done = thread:join()
  assert(ok, done)
  assert(done == (by_worker[number] or 0), "worker " .. number .. " miscounted")
  total = total + done
  print(string.format("worker %d did %d jobs", number, done))
end
assert(total == JOBS and results:msgcnt() == 0 and jobs:msgcnt() == 0)
print(string.format("%d jobs done by %d workers, every result right", JOBS, WORKERS))
