-- Tables as message values: each message carries a deep copy, so a worker
-- thread gets tables of its own, with shared subtables and cycles as they
-- were sent; what it answers is a table too. Tables with metatables, and
-- functions or userdata anywhere inside, are refused with the path to them.
local llthreads = require("llthreads2.ex")
local mtmsg     = require("mtmsg")
local jobs      = mtmsg.newbuffer("tables.jobs")
local results   = mtmsg.newbuffer("tables.results")

local worker = llthreads.new(function()
  local mtmsg = require("mtmsg")
  local jobs, results = mtmsg.buffer("tables.jobs"), mtmsg.buffer("tables.results")
  while true do
    local job = jobs:nextmsg()
    if job == nil then return end
    local sum = 0
    for _, n in ipairs(job.numbers) do sum = sum + n end
    results:addmsg({ id = job.id, sum = sum, owner = job.owner, same = job.owner == job.backup })
  end
end)
assert(worker:start())

local alice = { name = "alice" }
alice.self = alice                          -- a cycle
for id = 1, 3 do
  local numbers = {}
  for i = 1, id * 10 do numbers[i] = i end
  jobs:addmsg({ id = id, numbers = numbers, owner = alice, backup = alice })
end

for id = 1, 3 do
  local result = results:nextmsg(10)
  local want = (id * 10) * (id * 10 + 1) / 2
  print(("job %d: sum %d, owner %s"):format(result.id, result.sum, result.owner.name))
  assert(result.id == id and result.sum == want, "wrong result")
  assert(result.same and result.owner.self == result.owner, "sharing and cycle kept")
  assert(result.owner ~= alice, "a copy, not the table sent")
end

local ok, err = pcall(function() local added = jobs:addmsg({ id = 4, done = function() end }) return added end)
print(err)  --> ...: bad argument #1 to 'addmsg' (Lua function at ["done"] not allowed in a message)
assert(not ok and err:find('at ["done"]', 1, true) and jobs:msgcnt() == 0, "nothing added")
jobs:addmsg()                               -- nothing: the worker stops
assert(worker:join())
print("every result right")
