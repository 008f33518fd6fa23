-- close, abort, nonblock, clear, msgcnt, time, sleep and waiting for room,
-- in one thread (the cross-thread wake-ups are in test_threads.lua).

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

local function expect_closed(detail, f, ...)
  local err = t.raises("object_closed", f, ...)
  if detail then t.eq(err, mtmsg.error.object_closed .. ": " .. detail, "error text") end
end

function tests.msgcnt_counts_queued_messages()
  local b = mtmsg.newbuffer()
  t.eq(b:msgcnt(), 0)
  b:addmsg(1); b:addmsg(); b:addmsg(nil, nil)
  t.eq(b:msgcnt(), 3)
  b:nextmsg(0)
  t.eq(b:msgcnt(), 2)
  t.eq(mtmsg.buffer(b:id()):msgcnt(), 2, "msgcnt through another reference")
end

function tests.clear_removes_all_queued_messages()
  local b = mtmsg.newbuffer()
  for i = 1, 10 do b:addmsg(i) end
  t.eq(b:clear(), true, "clear result")
  t.eq(b:msgcnt(), 0)
  t.eq(select("#", b:nextmsg(0)), 0, "values after clear")
  b:addmsg("after")
  t.eq(b:nextmsg(0), "after")
end

function tests.clear_makes_room_in_a_fixed_size_buffer()
  local b = mtmsg.newbuffer(64, 64, 0)
  for _ = 1, 100 do
    if not b:addmsg("fill it up") then break end
  end
  t.eq(b:addmsg("fill it up"), false, "full")
  b:clear()
  t.eq(b:addmsg("fill it up"), true, "after clear")
end

function tests.listener_clear_empties_all_its_buffers()
  local lst = mtmsg.newlistener()
  local a, b = lst:newbuffer(), lst:newbuffer()
  a:addmsg(1); a:addmsg(2); b:addmsg(3)
  lst:clear()
  t.eq(a:msgcnt(), 0); t.eq(b:msgcnt(), 0)
  t.eq(select("#", lst:nextmsg(0)), 0, "values after clear")
  b:addmsg("new")
  t.eq(lst:nextmsg(0), "new")
end

function tests.closed_buffer_raises_object_closed_through_every_reference()
  local b = mtmsg.newbuffer("in")
  local other = mtmsg.buffer(b:id())
  b:addmsg("queued")
  b:close()
  local detail = 'mtmsg.buffer(name="in",id=' .. b:id() .. ")"
  for _, ref in ipairs({ b, other }) do
    expect_closed(detail, ref.addmsg, ref, 1)
    expect_closed(detail, ref.setmsg, ref, 1)
    expect_closed(detail, ref.nextmsg, ref, 0)
    expect_closed(detail, ref.nextmsg, ref)
    expect_closed(detail, ref.msgcnt, ref)
    expect_closed(detail, ref.clear, ref)
    expect_closed(detail, t.wait_add, ref, 0, 1)
  end
  local w, r = mtmsg.newwriter(), mtmsg.newreader()
  w:add(1)
  expect_closed(detail, w.addmsg, w, b)
  expect_closed(detail, r.nextmsg, r, b, 0)
end

-- After close() every method raises object_closed, through every reference,
-- but id(), name(), tostring and close() itself: checked on an object made
-- by new("closed") and another reference find(id) gives. args holds each
-- method's arguments; a method missing there fails the test, so that a new
-- method is held to the rule too. abort goes last: it would hide the rest
-- if it worked.
local function check_closed_rule(new, find, args)
  local object = new("closed")
  local refs = { object, find(object:id()) }
  local detail = mtmsg.type(object) .. '(name="closed",id=' .. object:id() .. ")"
  object:close()
  local names = {}
  for name in pairs(getmetatable(object).__index) do
    if name ~= "id" and name ~= "name" and name ~= "close" and name ~= "abort" then names[#names + 1] = name end
  end
  table.sort(names)
  local wrong = {}
  local function try(ref, name)
    local arg = args[name]
    t.check(arg, name .. " has no arguments in this test")
    local ok, err = pcall(ref[name], ref, t.unpack(arg))
    if ok or err ~= mtmsg.error.object_closed .. ": " .. detail then
      local through = ref == object and "" or "another reference's "
      wrong[#wrong + 1] = through .. name .. " (" .. (ok and "succeeded" or tostring(err)) .. ")"
    end
  end
  for _, ref in ipairs(refs) do
    t.eq(ref:id(), object:id(), "id() after close()")
    t.eq(ref:name(), "closed", "name() after close()")
    t.check(tostring(ref):find(detail:match("%((.*)%)"), 1, true), "tostring after close(): " .. tostring(ref))
    ref:close()
    for _, name in ipairs(names) do try(ref, name) end
  end
  for _, ref in ipairs(refs) do try(ref, "abort") end
  t.check(#wrong == 0, "after close(), not object_closed: " .. table.concat(wrong, ", "))
end

function tests.closed_buffer_refuses_every_method_but_id_name_tostring_and_close()
  check_closed_rule(mtmsg.newbuffer, mtmsg.buffer, {
    addmsg = { 1 }, setmsg = { 1 }, waitaddmsg = { 0, 1 }, nextmsg = { 0 }, msgcnt = {}, clear = {},
    abort = {}, isabort = {}, nonblock = { false }, isnonblock = {}, notifier = { mtmsg.newbuffer() },
  })
end

function tests.closed_listener_refuses_every_method_but_id_name_tostring_and_close()
  check_closed_rule(mtmsg.newlistener, mtmsg.listener, {
    newbuffer = {}, nextmsg = { 0 }, clear = {}, abort = {}, isabort = {}, nonblock = { false }, isnonblock = {},
  })
end

function tests.closed_unnamed_buffer_error_names_its_id()
  local b = mtmsg.newbuffer()
  b:close()
  expect_closed("mtmsg.buffer(id=" .. b:id() .. ")", b.addmsg, b, 1)
end

function tests.closed_buffer_object_can_still_be_collected()
  local b = mtmsg.newbuffer()
  b:close()
  b = nil
  t.collect()
  t.eq(b, nil)
end

function tests.listener_close_closes_the_listener_and_its_buffers()
  local lst = mtmsg.newlistener("L")
  local a = lst:newbuffer("a")
  a:addmsg("queued")
  lst:close()
  expect_closed('mtmsg.listener(name="L",id=' .. lst:id() .. ")", lst.nextmsg, lst, 0)
  expect_closed(nil, lst.clear, lst)
  expect_closed('mtmsg.buffer(name="a",id=' .. a:id() .. ")", a.addmsg, a, 1)
  expect_closed(nil, a.nextmsg, a, 0)
  expect_closed(nil, lst.newbuffer, lst)
end

function tests.closing_one_listener_buffer_leaves_the_others_working()
  local lst = mtmsg.newlistener()
  local a, b = lst:newbuffer(), lst:newbuffer()
  a:addmsg("a1")
  b:addmsg("b1")
  a:close()
  t.eq(lst:nextmsg(0), "b1")
  t.eq(select("#", lst:nextmsg(0)), 0, "values after the open buffer is empty")
end

function tests.aborted_buffer_raises_operation_aborted_and_loses_nothing()
  local b = mtmsg.newbuffer()
  local other = mtmsg.buffer(b:id())
  b:addmsg("kept")
  t.eq(b:isabort(), false)
  b:abort()
  t.eq(b:isabort(), true, "isabort after abort()")
  t.eq(other:isabort(), true, "isabort through another reference")
  for _, ref in ipairs({ b, other }) do
    local err = t.raises("operation_aborted", ref.addmsg, ref, 1)
    t.check(err:match(mtmsg.error.operation_aborted), err)
    t.raises("operation_aborted", ref.setmsg, ref, 1)
    t.raises("operation_aborted", ref.nextmsg, ref, 0)
    t.raises("operation_aborted", ref.nextmsg, ref)
    t.raises("operation_aborted", ref.clear, ref)
    t.raises("operation_aborted", t.wait_add, ref, 0, 1)
  end
  b:abort(false)
  t.eq(b:isabort(), false, "isabort after abort(false)")
  t.eq(b:msgcnt(), 1, "msgcnt after abort(false)")
  t.eq(b:nextmsg(0), "kept")
  b:abort(true)
  t.eq(other:isabort(), true, "abort(true)")
  other:abort(false)
  t.eq(b:addmsg("again"), true)
end

function tests.aborted_listener_raises_operation_aborted_until_unaborted()
  local lst = mtmsg.newlistener()
  local b = lst:newbuffer()
  b:addmsg("kept")
  lst:abort()
  t.eq(lst:isabort(), true)
  t.raises("operation_aborted", lst.nextmsg, lst, 0)
  t.raises("operation_aborted", lst.nextmsg, lst)
  lst:abort(false)
  t.eq(lst:isabort(), false)
  t.eq(lst:nextmsg(0), "kept")
end

function tests.global_abort_stops_every_operation_and_creation()
  local b = mtmsg.newbuffer()
  local lst = mtmsg.newlistener()
  local lb = lst:newbuffer()
  b:addmsg("kept")
  lb:addmsg("kept too")
  t.eq(mtmsg.isabort(), false)
  mtmsg.abort()
  local ok, err = pcall(function()
    t.eq(mtmsg.isabort(), true, "mtmsg.isabort()")
    t.raises("operation_aborted", mtmsg.newbuffer)
    t.raises("operation_aborted", mtmsg.newlistener)
    t.raises("operation_aborted", lst.newbuffer, lst)
    t.raises("operation_aborted", b.addmsg, b, 1)
    t.raises("operation_aborted", b.nextmsg, b, 0)
    t.raises("operation_aborted", b.nextmsg, b)
    t.raises("operation_aborted", lst.nextmsg, lst, 0)
    t.raises("operation_aborted", mtmsg.sleep, 0.05)
  end)
  mtmsg.abort(false)
  t.check(ok, err)
  t.eq(mtmsg.isabort(), false, "mtmsg.isabort() after abort(false)")
  t.eq(b:nextmsg(0), "kept")
  t.eq(lst:nextmsg(0), "kept too")
  t.eq(mtmsg.newbuffer():addmsg(1), true, "a new buffer after abort(false)")
end

function tests.global_abort_true_and_false_are_explicit()
  mtmsg.abort(true)
  local aborted = mtmsg.isabort()
  mtmsg.abort(false)
  t.eq(aborted, true)
  t.eq(mtmsg.isabort(), false)
end

function tests.nonblock_belongs_to_the_reference()
  local b = mtmsg.newbuffer()
  local other = mtmsg.buffer(b:id())
  t.eq(b:isnonblock(), false)
  b:nonblock()
  t.eq(b:isnonblock(), true, "after nonblock()")
  t.eq(other:isnonblock(), false, "another reference")
  b:nonblock(false)
  t.eq(b:isnonblock(), false, "after nonblock(false)")
  b:nonblock(true)
  t.eq(b:isnonblock(), true, "after nonblock(true)")
end

function tests.nonblock_nextmsg_without_timeout_returns_nothing_at_once()
  local b = mtmsg.newbuffer()
  b:nonblock(true)
  local start = mtmsg.time()
  t.eq(select("#", b:nextmsg()), 0, "values")
  t.check(t.elapsed_since(start) < 0.1, "took " .. t.elapsed_since(start) .. " s")
  t.eq(b:addmsg("x", 1), true, "addmsg in nonblock mode")
  local s, n = b:nextmsg()
  t.eq(s, "x"); t.eq(n, 1)
end

function tests.nonblock_listener_nextmsg_returns_nothing_at_once()
  local lst = mtmsg.newlistener()
  local b = lst:newbuffer()
  lst:nonblock()
  t.eq(lst:isnonblock(), true)
  local start = mtmsg.time()
  t.eq(select("#", lst:nextmsg()), 0, "values")
  t.check(t.elapsed_since(start) < 0.1, "took " .. t.elapsed_since(start) .. " s")
  b:addmsg("y")
  t.eq(lst:nextmsg(), "y")
  lst:nonblock(false)
  t.eq(lst:isnonblock(), false)
end

function tests.time_is_seconds_since_the_epoch_with_sub_millisecond_steps()
  local now = mtmsg.time()
  t.eq(type(now), "number")
  t.check(math.abs(now - os.time()) < 2, "mtmsg.time() " .. now .. " vs os.time() " .. os.time())
  -- the smallest step seen in a few tries (one may be cut by the scheduler)
  local step = 1
  for _ = 1, 5 do
    local first = mtmsg.time()
    local later = first
    for _ = 1, 10000000 do
      later = mtmsg.time()
      if later ~= first then break end
    end
    if later > first and later - first < step then step = later - first end
  end
  t.check(step < 0.001, "smallest step of mtmsg.time(): " .. step)
end

function tests.sleep_suspends_for_the_given_seconds()
  local start = mtmsg.time()
  mtmsg.sleep(0.1)
  local took = t.elapsed_since(start)
  t.check(took >= 0.1 and took < 1, "sleep(0.1) took " .. took .. " s")
  start = mtmsg.time()
  mtmsg.sleep(0)
  mtmsg.sleep(-1)
  t.check(t.elapsed_since(start) < 0.1, "sleep(0) and sleep(-1) took " .. t.elapsed_since(start) .. " s")
end

-- Waiting for room

function tests.wait_add_returns_true_at_once_when_there_is_room()
  local b = mtmsg.newbuffer(64, 64, 0)
  local start = mtmsg.time()
  t.eq(t.wait_add(b, nil, "a", 1), true)
  t.eq(t.wait_add(b, 5, "b", 2), true)
  t.check(t.elapsed_since(start) < 0.5, "took " .. t.elapsed_since(start) .. " s")
  local s, n = b:nextmsg(0)
  t.eq(s, "a"); t.eq(n, 1)
  t.eq(t.wait_add(mtmsg.newbuffer(), nil, "growing buffer"), true)
end

function tests.wait_add_returns_false_after_the_timeout_when_full()
  local b = t.full_fixed_buffer()
  local start = mtmsg.time()
  t.eq(t.wait_add(b, 0.2, "fill it up"), false)
  local took = t.elapsed_since(start)
  t.note("wait_add(0.2) on a full buffer took", took)
  t.check(took >= 0.2 and took < 1.5, "took " .. took .. " s")
  start = mtmsg.time()
  t.eq(t.wait_add(b, 0, "fill it up"), false, "timeout 0")
  t.check(t.elapsed_since(start) < 0.1, "timeout 0 took " .. t.elapsed_since(start) .. " s")
end

function tests.wait_add_raises_message_size_for_a_message_that_can_never_fit()
  local b = mtmsg.newbuffer(32, 64, 0)
  t.raises("message_size", t.wait_add, b, nil, string.rep("x", 100))
end

return tests
