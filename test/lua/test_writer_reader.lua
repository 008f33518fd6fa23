-- Writers build a message piece by piece, readers take one apart.

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

local zero = 0.0

-- 1,000 values of every kind, the same each time.
local function thousand_values()
  local v = { n = 1000 }
  for i = 1, 1000 do
    local k = i % 7
    if k == 0 then v[i] = i
    elseif k == 1 then v[i] = "s" .. i .. "\0" .. i
    elseif k == 2 then v[i] = i / 8
    elseif k == 3 then v[i] = (i % 2 == 0)
    elseif k == 4 then v[i] = nil
    elseif k == 5 then v[i] = -zero
    else v[i] = string.rep("x", i) end
  end
  return v
end

function tests.writer_in_pieces_equals_addmsg_of_the_same_values()
  local values = thousand_values()
  local w = mtmsg.newwriter()
  local i = 1
  while i <= values.n do
    local last = math.min(values.n, i + (i % 13))
    w:add(t.unpack(values, i, last))
    i = last + 1
  end
  local b = mtmsg.newbuffer()
  t.eq(w:addmsg(b), true, "writer:addmsg")
  t.eq(b:addmsg(t.unpack(values, 1, values.n)), true, "buffer:addmsg")
  t.eq(b:msgcnt(), 2)
  local from_writer = t.pack(b:nextmsg(0))
  local from_addmsg = t.pack(b:nextmsg(0))
  t.eq_values(from_writer, values, "message built by the writer")
  t.eq_values(from_addmsg, from_writer, "addmsg vs writer")
end

function tests.writer_is_empty_after_a_successful_addmsg()
  local w = mtmsg.newwriter()
  local b = mtmsg.newbuffer()
  w:add("a", 1)
  t.eq(w:addmsg(b), true)
  t.eq(w:addmsg(b), true, "second addmsg")
  t.eq(b:msgcnt(), 2)
  local first = t.pack(b:nextmsg(0))
  t.eq_values(first, t.pack("a", 1))
  t.eq(select("#", b:nextmsg(0)), 0, "values of the message from the emptied writer")
end

function tests.writer_setmsg_replaces_queued_messages()
  local w = mtmsg.newwriter()
  local b = mtmsg.newbuffer()
  b:addmsg("old1"); b:addmsg("old2")
  w:add("new")
  w:add(2)
  t.eq(w:setmsg(b), true)
  t.eq(b:msgcnt(), 1)
  t.eq_values(t.pack(b:nextmsg(0)), t.pack("new", 2))
end

function tests.writer_clear_discards_the_added_values()
  local w = mtmsg.newwriter()
  local b = mtmsg.newbuffer()
  w:add(1, 2, 3)
  w:clear()
  w:add(4)
  w:addmsg(b)
  t.eq_values(t.pack(b:nextmsg(0)), t.pack(4))
end

function tests.writer_keeps_its_values_when_the_buffer_is_full()
  local b = mtmsg.newbuffer(64, 64, 0)
  for _ = 1, 100 do
    if not b:addmsg("fill it up") then break end
  end
  local w = mtmsg.newwriter()
  w:add("fill it up")
  t.eq(w:addmsg(b), false, "writer:addmsg into the full buffer")
  b:nextmsg(0)
  t.eq(w:addmsg(b), true, "writer:addmsg after nextmsg")
  local last
  while b:msgcnt() > 0 do last = t.pack(b:nextmsg(0)) end
  t.eq_values(last, t.pack("fill it up"))
end

function tests.writer_message_over_size1_raises_message_size()
  local b = mtmsg.newbuffer(32, 1024, 0)
  local w = mtmsg.newwriter()
  w:add(string.rep("x", 100))
  t.raises("message_size", w.addmsg, w, b)
  t.eq(b:msgcnt(), 0)
end

function tests.fixed_size_writer_raises_message_size_when_values_do_not_fit()
  local w = mtmsg.newwriter(16, 0)
  t.raises("message_size", w.add, w, string.rep("x", 100))
end

function tests.writer_add_refuses_a_lua_function_and_adds_nothing_of_that_call()
  local w = mtmsg.newwriter()
  local b = mtmsg.newbuffer()
  w:add(1)
  t.argerror(function() local r = w:add(2, function() end) return r end)
  w:addmsg(b)
  t.eq_values(t.pack(b:nextmsg(0)), t.pack(1))
end

function tests.reader_takes_one_message_and_gives_its_values_in_order()
  local b = mtmsg.newbuffer()
  b:addmsg("a", 1, 2.5, true, nil, "z")
  b:addmsg("second")
  local r = mtmsg.newreader()
  t.eq(r:nextmsg(b, 0), true)
  t.eq(b:msgcnt(), 1, "msgcnt after reader:nextmsg")
  t.eq(r:next(), "a")
  t.eq_values(t.pack(r:next(2)), t.pack(1, 2.5))
  t.eq_values(t.pack(r:next(3)), t.pack(true, nil, "z"))
  t.eq(select("#", r:next()), 0, "values after the end")
end

function tests.reader_next_beyond_the_end_returns_what_is_left()
  local b = mtmsg.newbuffer()
  b:addmsg(1, 2, 3, 4, 5)
  local r = mtmsg.newreader()
  t.eq(r:nextmsg(b), true)
  t.eq_values(t.pack(r:next(3)), t.pack(1, 2, 3))
  t.eq_values(t.pack(r:next(10)), t.pack(4, 5))
  t.eq(select("#", r:next(10)), 0, "values after the end")
end

function tests.reader_next_counts_trailing_nils()
  local b = mtmsg.newbuffer()
  b:addmsg(nil, nil)
  local r = mtmsg.newreader()
  r:nextmsg(b, 0)
  t.eq(select("#", r:next(5)), 2, "values of a (nil, nil) message")
end

function tests.reader_tells_an_empty_message_from_a_timeout()
  local b = mtmsg.newbuffer()
  local r = mtmsg.newreader()
  b:addmsg()
  t.eq(r:nextmsg(b, 0), true, "nextmsg of the empty message")
  t.eq(select("#", r:next()), 0, "values of the empty message")
  t.eq(r:nextmsg(b, 0), false, "nextmsg of an empty buffer")
  local start = mtmsg.time()
  t.eq(r:nextmsg(b, 0.2), false, "nextmsg(0.2) of an empty buffer")
  local took = t.elapsed_since(start)
  t.check(took >= 0.2 and took < 1.5, "reader:nextmsg(b, 0.2) took " .. took .. " s")
end

function tests.reader_takes_messages_from_a_listener()
  local lst = mtmsg.newlistener()
  local a, b = lst:newbuffer(), lst:newbuffer()
  a:addmsg("a1"); b:addmsg("b1"); a:addmsg("a2")
  local r = mtmsg.newreader()
  local got = {}
  while r:nextmsg(lst, 0) do got[#got + 1] = r:next() end
  t.eq(table.concat(got, " "), "a1 b1 a2")
end

function tests.reader_clear_discards_the_rest_of_the_message()
  local b = mtmsg.newbuffer()
  b:addmsg(1, 2, 3)
  local r = mtmsg.newreader()
  r:nextmsg(b, 0)
  t.eq(r:next(), 1)
  r:clear()
  t.eq(select("#", r:next(5)), 0, "values after clear")
end

function tests.writer_and_reader_carry_every_value_type()
  local s = string.rep("big\0", 300000)
  local values = t.pack(nil, true, false, 0, -1, 0.1, -zero, math.huge, -math.huge,
                        2^53, "", "a\0b", s, mtmsg.time)
  local w = mtmsg.newwriter()
  for i = 1, values.n do w:add(values[i]) end
  w:add(zero / zero)
  local b = mtmsg.newbuffer()
  w:addmsg(b)
  local r = mtmsg.newreader()
  t.eq(r:nextmsg(b, 0), true)
  local got = t.pack(r:next(values.n - 1))
  t.eq_values(got, t.pack(t.unpack(values, 1, values.n - 1)))
  t.eq(type(r:next()), "function", "the C function")
  local nan = r:next()
  t.check(nan ~= nan, "NaN came back as " .. tostring(nan))
end

function tests.small_growing_reader_and_writer_handle_large_messages()
  local w, r = mtmsg.newwriter(8, 2), mtmsg.newreader(8, 2)
  local b = mtmsg.newbuffer()
  local s = string.rep("r", 100000)
  w:add(s, 1)
  w:addmsg(b)
  t.eq(r:nextmsg(b, 0), true)
  local got, n = r:next(2)
  t.eq(got, s); t.eq(n, 1)
end

return tests
