-- Listeners in one thread: round-robin order, no_buffers,
-- lookup and lifetime.

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

local function take_all(listener)
  local got = {}
  for _ = 1, 100 do
    local m = listener:nextmsg(0)
    if m == nil then break end
    got[#got + 1] = m
  end
  return table.concat(got, " ")
end

function tests.listener_order_of_the_seed_example_is_m1_m4_m3_m5()
  local lst = mtmsg.newlistener()
  local b1 = lst:newbuffer()
  local b2 = lst:newbuffer()
  b1:addmsg("m1")
  b2:addmsg("m2")
  b1:addmsg("m3")
  b2:setmsg("m4") -- replaces m2
  b2:addmsg("m5")
  t.eq(lst:nextmsg(), "m1")
  t.eq(lst:nextmsg(), "m4")
  t.eq(lst:nextmsg(), "m3")
  t.eq(lst:nextmsg(), "m5")
  t.eq(select("#", lst:nextmsg(0)), 0, "values once all are taken")
end

function tests.listener_serves_buffers_round_robin()
  local lst = mtmsg.newlistener()
  local a, b, c = lst:newbuffer(), lst:newbuffer(), lst:newbuffer()
  a:addmsg("a1"); a:addmsg("a2"); a:addmsg("a3")
  b:addmsg("b1")
  c:addmsg("c1"); c:addmsg("c2")
  t.eq(take_all(lst), "a1 b1 c1 a2 c2 a3")
end

function tests.buffer_that_gets_a_message_while_empty_joins_the_back()
  local lst = mtmsg.newlistener()
  local a, b, c = lst:newbuffer(), lst:newbuffer(), lst:newbuffer()
  b:addmsg("b1")
  a:addmsg("a1"); a:addmsg("a2")
  t.eq(lst:nextmsg(0), "b1") -- b is empty now and leaves the queue
  b:addmsg("b2")             -- and joins behind a
  c:addmsg("c1")
  t.eq(take_all(lst), "a1 b2 c1 a2")
end

function tests.setmsg_on_listener_buffer_keeps_its_place()
  local lst = mtmsg.newlistener()
  local a, b = lst:newbuffer(), lst:newbuffer()
  a:addmsg("a1"); a:addmsg("a2")
  b:addmsg("b1")
  a:setmsg("a3") -- a keeps the front
  t.eq(take_all(lst), "a3 b1")
end

function tests.setmsg_on_empty_listener_buffer_joins_the_back()
  local lst = mtmsg.newlistener()
  local a, b = lst:newbuffer(), lst:newbuffer()
  b:addmsg("b1")
  a:setmsg("a1")
  t.eq(take_all(lst), "b1 a1")
end

function tests.message_taken_from_the_buffer_is_not_delivered_by_the_listener()
  local lst = mtmsg.newlistener()
  local a, b = lst:newbuffer(), lst:newbuffer()
  a:addmsg("a1")
  b:addmsg("b1")
  t.eq(a:nextmsg(0), "a1")
  t.eq(take_all(lst), "b1")
end

function tests.listener_nextmsg_returns_all_values_of_a_message()
  local lst = mtmsg.newlistener()
  lst:newbuffer():addmsg(1, nil, "x", nil)
  local got = t.pack(lst:nextmsg(0))
  t.eq_values(got, t.pack(1, nil, "x", nil))
end

function tests.listener_nextmsg_0_on_empty_buffers_returns_nothing_at_once()
  local lst = mtmsg.newlistener()
  local b = lst:newbuffer()
  local start = mtmsg.time()
  t.eq(select("#", lst:nextmsg(0)), 0, "values")
  t.check(t.elapsed_since(start) < 0.1, "took " .. t.elapsed_since(start) .. " s")
  t.eq(b:msgcnt(), 0)
end

function tests.listener_nextmsg_with_timeout_returns_nothing_after_the_timeout()
  local lst = mtmsg.newlistener()
  local b = lst:newbuffer()
  local start = mtmsg.time()
  t.eq(select("#", lst:nextmsg(0.2)), 0, "values")
  local took = t.elapsed_since(start)
  t.check(took >= 0.2 and took < 1.5, "listener nextmsg(0.2) took " .. took .. " s")
  t.eq(b:id(), b:id())
end

function tests.listener_without_buffers_raises_no_buffers()
  local lst = mtmsg.newlistener()
  local err = t.raises("no_buffers", lst.nextmsg, lst, 0)
  t.check(err:match(mtmsg.error.no_buffers), err)
  local start = mtmsg.time()
  t.raises("no_buffers", lst.nextmsg, lst, 2)
  t.check(t.elapsed_since(start) < 1, "no_buffers came after " .. t.elapsed_since(start) .. " s")
end

local function listener_with_collected_buffer(name)
  local lst = mtmsg.newlistener(name)
  local b = lst:newbuffer()
  b:addmsg("from the collected buffer", 1)
  b:addmsg("second", 2)
  return lst
end

function tests.messages_of_a_collected_listener_buffer_are_still_delivered()
  local lst = listener_with_collected_buffer()
  t.collect()
  local s, n = lst:nextmsg(0)
  t.eq(s, "from the collected buffer"); t.eq(n, 1)
  s, n = lst:nextmsg(0)
  t.eq(s, "second"); t.eq(n, 2)
  t.raises("no_buffers", lst.nextmsg, lst, 0)
end

local function listener_with_empty_buffer_collected()
  local lst = mtmsg.newlistener()
  local b = lst:newbuffer()
  return lst, b:id()
end

function tests.listener_does_not_keep_its_buffers_alive()
  local lst, id = listener_with_empty_buffer_collected()
  t.collect()
  t.raises("unknown_object", mtmsg.buffer, id)
  t.raises("no_buffers", lst.nextmsg, lst, 0)
end

function tests.listener_newbuffer_takes_the_arguments_of_newbuffer()
  local lst = mtmsg.newlistener()
  local name = t.uname("listener_buffer")
  local b = lst:newbuffer(name, 32, 64, 0)
  t.eq(b:name(), name)
  t.eq(mtmsg.buffer(name):id(), b:id())
  t.raises("message_size", b.addmsg, b, string.rep("x", 100))
  local unnamed = lst:newbuffer(32)
  t.eq(unnamed:name(), nil)
end

function tests.listener_lookup_by_id_and_by_name()
  local name = t.uname("listener")
  local lst = mtmsg.newlistener(name)
  t.eq(lst:name(), name)
  t.eq(mtmsg.newlistener():name(), nil, "name of an unnamed listener")
  local b = lst:newbuffer()
  t.eq(mtmsg.listener(lst:id()):id(), lst:id())
  t.eq(mtmsg.listener(name):id(), lst:id())
  b:addmsg("x")
  t.eq(mtmsg.listener(name):nextmsg(0), "x")
  t.check(mtmsg.newlistener():id() ~= lst:id(), "two listeners share an id")
end

function tests.listener_lookup_errors()
  local name = t.uname("listener_twice")
  local l1, l2 = mtmsg.newlistener(name), mtmsg.newlistener(name)
  t.raises("ambiguous_name", mtmsg.listener, name)
  t.raises("unknown_object", mtmsg.listener, t.uname("no_listener"))
  t.raises("unknown_object", mtmsg.listener, 987654321)
  t.check(l1:id() ~= l2:id())
end

local function listener_id_kept_by_buffer()
  local lst = mtmsg.newlistener()
  return lst:id(), lst:newbuffer()
end

function tests.listener_lives_while_one_of_its_buffers_lives()
  local id, b = listener_id_kept_by_buffer()
  t.collect()
  local lst = mtmsg.listener(id)
  b:addmsg("kept")
  t.eq(lst:nextmsg(0), "kept")
  lst, b = nil, nil
  t.collect()
  t.raises("unknown_object", mtmsg.listener, id)
end

function tests.listener_tostring_shows_class_name_and_id()
  local lst = mtmsg.newlistener("L")
  local s = tostring(lst)
  t.check(s:match('^mtmsg%.listener: [^%(]+%(name="L",id=' .. lst:id() .. '%)$'), "tostring: " .. s)
end

return tests
