-- A listener serves its buffers round robin: a buffer that receives a
-- message while it has none joins the back of the listener's queue, and
-- goes to the back again after each message taken from it while it has
-- more. setmsg replaces a buffer's messages and keeps its place.
local mtmsg    = require("mtmsg")
local listener = mtmsg.newlistener()
local b1       = listener:newbuffer()
local b2       = listener:newbuffer()

b1:addmsg("m1")   -- queue: b1
b2:addmsg("m2")   -- queue: b1 b2
b1:addmsg("m3")
b2:setmsg("m4")   -- b2 holds m4 instead of m2, still behind b1
b1:addmsg("m5")

-- Prints each message taken and checks it is the one expected.
local function expect(want, ...)
  print(...)
  local got = table.concat({ ... }, " ")
  if got ~= want then
    error("expected '" .. want .. "', got '" .. got .. "'")
  end
end

expect("m1", listener:nextmsg())  --> m1  (b1 goes to the back: b2 b1)
expect("m4", listener:nextmsg())  --> m4  (b2 is empty now: b1)
expect("m3", listener:nextmsg())  --> m3
expect("m5", listener:nextmsg())  --> m5
expect("",   listener:nextmsg(0)) --> (nothing: no message within timeout 0)
