-- Bad input at every entry point: a Lua argument error or the documented
-- mtmsg error, never a crash; the objects keep working afterwards. And the
-- error text format the README describes.
--
-- MTMSG_TEST_QUICK=1 skips the tests that need a lot of memory (for
-- valgrind runs).

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

local zero = 0.0
local nan = zero / zero
local quick = os.getenv("MTMSG_TEST_QUICK")

local function still_works(b)
  t.eq(b:addmsg("still", "working"), true, "addmsg after the bad input")
  local s, w = b:nextmsg(0)
  t.eq(s, "still"); t.eq(w, "working")
end

function tests.error_text_names_the_object_with_its_name_escaped()
  local b = mtmsg.newbuffer('a"b\\c\0d')
  b:close()
  local err = t.raises("object_closed", b.addmsg, b, 1)
  t.eq(err, mtmsg.error.object_closed .. ': mtmsg.buffer(name="a\\"b\\\\c\\0d",id=' .. b:id() .. ")")
  local lst = mtmsg.newlistener("in")
  lst:abort()
  err = t.raises("operation_aborted", lst.nextmsg, lst, 0)
  t.eq(err, mtmsg.error.operation_aborted .. ': mtmsg.listener(name="in",id=' .. lst:id() .. ")")
end

function tests.every_mtmsg_error_matches_its_name()
  local lst = mtmsg.newlistener()
  local errors = {
    t.raises("unknown_object", mtmsg.buffer, t.uname("missing")),
    t.raises("no_buffers", lst.nextmsg, lst, 0),
  }
  local b = mtmsg.newbuffer(8, 8, 0)
  errors[#errors + 1] = t.raises("message_size", b.addmsg, b, string.rep("m", 64))
  for _, err in ipairs(errors) do
    local name = err:match("^(mtmsg%.error%.[%w_]+)")
    t.check(name, "no error name at the start of " .. err)
    t.check(err:match(name), err)
    t.check(err == name or err:sub(#name + 1, #name + 2) == ": ", "no ': ' after the name: " .. err)
  end
end

function tests.newbuffer_refuses_arguments_of_wrong_type()
  t.argerror(mtmsg.newbuffer, {})
  t.argerror(mtmsg.newbuffer, "name", "big")
  t.argerror(mtmsg.newbuffer, "name", 10, {})
  t.argerror(mtmsg.newbuffer, 10, 10, "fast")
  t.argerror(mtmsg.newbuffer, true)
  local lst = mtmsg.newlistener()
  t.argerror(lst.newbuffer, lst, {})
end

function tests.newbuffer_with_nan_sizes_raises_a_clear_error()
  t.fails(mtmsg.newbuffer, nan)
  t.fails(mtmsg.newbuffer, 10, nan)
  t.fails(mtmsg.newbuffer, 10, 10, nan)
  still_works(mtmsg.newbuffer())
end

function tests.newbuffer_with_infinite_or_huge_sizes_never_crashes()
  local function try(...)
    local ok, err = pcall(function(...)
      local b = mtmsg.newbuffer(...)
      local added = b:addmsg("x")
      t.check(added == true or added == false, "addmsg gave " .. tostring(added))
    end, ...)
    if not ok then
      t.check(type(err) == "string" and (err:find(mtmsg.error.out_of_memory, 1, true) == 1
                                         or err:find("bad argument", 1, true)),
              "newbuffer(" .. table.concat({ ... }, ", ") .. "): " .. tostring(err))
    end
  end
  try(2^62)
  try(2^62, 2^62)
  try(16, 2^62, 0)
  try(2^62, 16, 0)
  try(math.huge)
  try(16, math.huge, 0)
  try(16, 16, math.huge)
  try(16, 16, -math.huge)
  try(-math.huge, -math.huge)
  still_works(mtmsg.newbuffer())
end

function tests.writer_and_reader_with_huge_sizes_never_crash()
  for _, new in ipairs({ mtmsg.newwriter, mtmsg.newreader }) do
    local ok, err = pcall(new, 2^62)
    t.check(ok or err:find(mtmsg.error.out_of_memory, 1, true) == 1
            or err:find("bad argument", 1, true), tostring(err))
    t.fails(new, nan)
    t.argerror(new, {})
  end
  local ok, w = pcall(mtmsg.newwriter, 2^62)
  if ok then
    local added, err = pcall(w.add, w, 1)
    t.check(added or err:find(mtmsg.error.out_of_memory, 1, true) == 1, tostring(err))
  end
end

function tests.lookups_refuse_arguments_of_wrong_type()
  t.argerror(mtmsg.buffer)
  t.argerror(mtmsg.buffer, {})
  t.argerror(mtmsg.buffer, true)
  t.argerror(mtmsg.listener)
  t.argerror(mtmsg.listener, {})
end

function tests.timeouts_refuse_nan_and_non_numbers()
  local b = mtmsg.newbuffer()
  local lst = mtmsg.newlistener()
  lst:newbuffer()
  local r = mtmsg.newreader()
  t.argerror(b.nextmsg, b, nan)
  t.argerror(b.nextmsg, b, "soon")
  t.argerror(lst.nextmsg, lst, nan)
  t.argerror(r.nextmsg, r, b, nan)
  t.argerror(t.wait_add, b, nan, 1)
  t.argerror(mtmsg.sleep, nan)
  t.argerror(mtmsg.sleep, "long")
  still_works(b)
end

function tests.infinite_and_huge_timeouts_return_a_queued_message()
  local b = mtmsg.newbuffer()
  for _, timeout in ipairs({ math.huge, 1e300, 2^62, 2^31 }) do
    b:addmsg(timeout)
    t.eq(b:nextmsg(timeout), timeout, "nextmsg(" .. timeout .. ")")
  end
  local start = mtmsg.time()
  t.eq(select("#", b:nextmsg(-math.huge)), 0, "nextmsg(-inf) of an empty buffer")
  t.eq(select("#", b:nextmsg(1e-300)), 0, "nextmsg(1e-300) of an empty buffer")
  t.check(t.elapsed_since(start) < 0.5, "took " .. t.elapsed_since(start) .. " s")
end

function tests.methods_called_on_the_wrong_object_raise_argument_errors()
  local b, lst = mtmsg.newbuffer(), mtmsg.newlistener()
  local w, r = mtmsg.newwriter(), mtmsg.newreader()
  t.argerror(b.addmsg, lst, 1)
  t.argerror(b.addmsg, nil, 1)
  t.argerror(b.addmsg, {}, 1)
  t.argerror(b.nextmsg, lst)
  t.argerror(b.id, w)
  t.argerror(b.msgcnt, r)
  t.argerror(b.close, lst)
  t.argerror(lst.nextmsg, b)
  t.argerror(lst.newbuffer, b)
  t.argerror(w.add, b, 1)
  t.argerror(w.addmsg, w, lst)
  t.argerror(w.addmsg, w, nil)
  t.argerror(r.next, w)
  t.argerror(r.nextmsg, r, w)
  t.argerror(r.nextmsg, r, nil)
  t.argerror(b.notifier, b, "buffer")
  still_works(b)
end

function tests.reader_next_with_bad_counts_never_crashes()
  local b = mtmsg.newbuffer()
  b:addmsg(1, 2, 3)
  local r = mtmsg.newreader()
  r:nextmsg(b, 0)
  t.argerror(r.next, r, "two")
  for _, count in ipairs({ 0, -1, -math.huge, nan }) do
    local ok, err = pcall(r.next, r, count)
    t.check(ok or err:find("bad argument", 1, true), "next(" .. count .. "): " .. tostring(err))
  end
  t.eq_values(t.pack(r:next(2^40)), t.pack(1, 2, 3), "next(2^40)")
end

function tests.buffer_created_by_an_ended_thread_is_gone_with_its_state()
  local creator = function(name)
    local mtmsg = require "mtmsg"
    local b = mtmsg.newbuffer(name)
    b:addmsg("lost")
    return b:id()
  end
  local name = t.uname("ended")
  local id = t.join(t.start(creator, name))
  t.raises("unknown_object", mtmsg.buffer, id)
  t.raises("unknown_object", mtmsg.buffer, name)
end

-- Every method of every class, called with an object of another class (or
-- a non-object) as self: an argument error each time, nothing else.
function tests.every_method_refuses_every_wrong_self()
  local lst = mtmsg.newlistener()
  local objects = {
    ["mtmsg.buffer"] = mtmsg.newbuffer(), ["mtmsg.listener"] = lst,
    ["mtmsg.writer"] = mtmsg.newwriter(), ["mtmsg.reader"] = mtmsg.newreader(),
  }
  local others = { nil, 1, "buffer", {}, io.stdout, function() end, coroutine.create(function() end) }
  local calls = 0
  for class, object in pairs(objects) do
    local methods = getmetatable(object).__index
    for name, method in pairs(methods) do
      for other_class, other in pairs(objects) do
        if other_class ~= class then
          t.argerror(method, other, 1)
          calls = calls + 1
        end
      end
      for i = 1, 7 do
        t.argerror(method, others[i], 1)
        calls = calls + 1
      end
      t.check(type(name) == "string")
    end
    t.argerror(getmetatable(object).__tostring, class == "mtmsg.buffer" and lst or objects["mtmsg.buffer"])
  end
  t.note(calls, "calls with a wrong self")
  still_works(objects["mtmsg.buffer"])
end

function tests.lookups_with_odd_ids_and_names_never_crash()
  for _, id in ipairs({ 0, -1, 2^53, -2^53, 2^62, -2^63 }) do
    t.raises("unknown_object", mtmsg.buffer, id)
    t.raises("unknown_object", mtmsg.listener, id)
  end
  for _, id in ipairs({ 1.5, 2^63, 2^64, nan, math.huge, -math.huge }) do
    local ok, err = pcall(mtmsg.buffer, id)
    t.check(not ok and (err:find("bad argument", 1, true) or err:find(mtmsg.error.unknown_object, 1, true) == 1),
            "buffer(" .. tostring(id) .. "): " .. tostring(err))
    ok, err = pcall(mtmsg.listener, id)
    t.check(not ok and (err:find("bad argument", 1, true) or err:find(mtmsg.error.unknown_object, 1, true) == 1),
            "listener(" .. tostring(id) .. "): " .. tostring(err))
  end
  -- a name with a zero byte is found only whole
  local name = t.uname("zero") .. "\0tail"
  local b = mtmsg.newbuffer(name)
  t.eq(mtmsg.buffer(name):id(), b:id())
  t.raises("unknown_object", mtmsg.buffer, (name:gsub("%z.*", "")))
  t.raises("unknown_object", mtmsg.buffer, name .. "\0")
  local empty = mtmsg.newlistener("")
  t.eq(empty:name(), "")
  t.raises("unknown_object", mtmsg.listener, t.uname("nobody") .. "\0")
end

function tests.module_functions_refuse_missing_and_wrong_arguments()
  t.argerror(mtmsg.sleep)
  t.argerror(mtmsg.sleep, {})
  t.argerror(mtmsg.type)
  t.argerror(mtmsg.newlistener, {})
  t.argerror(mtmsg.newlistener, true)
  t.argerror(mtmsg.newwriter, "big")
  t.argerror(mtmsg.newwriter, 16, "fast")
  t.argerror(mtmsg.newreader, "big")
  t.argerror(mtmsg.newreader, 16, {})
  t.argerror(mtmsg.newwriter, 16, nan)
  t.argerror(mtmsg.newreader, nan)
  -- negative sizes count as 0: a fixed writer of 0 bytes refuses any value
  local w = mtmsg.newwriter(-5, 0)
  t.raises("message_size", w.add, w, 1)
  local r = mtmsg.newreader(-math.huge, 0)
  local b = mtmsg.newbuffer()
  b:addmsg(1)
  t.raises("message_size", r.nextmsg, r, b, 0)
  t.eq(b:msgcnt(), 1, "the message refused by the reader stays")
  still_works(mtmsg.newbuffer())
end

function tests.notifier_refuses_bad_kinds_and_thresholds()
  local b, target = mtmsg.newbuffer(), mtmsg.newbuffer()
  t.argerror(b.notifier, b, target, "x")
  t.argerror(b.notifier, b, target, ">=")
  t.argerror(b.notifier, b, target, 62)
  t.argerror(b.notifier, b, target, ">", "ten")
  t.argerror(b.notifier, b, target, ">", {})
  t.argerror(b.notifier, b, target, ">", nan)
  t.argerror(b.notifier, b, target, ">", 1.5)
  t.argerror(b.notifier, b, mtmsg.newlistener())
  t.argerror(b.notifier, b, 7)
  b:notifier(target, ">", -2^53)
  b:notifier(target, "<", 2^53)
  b:addmsg(1)
  t.eq(target:msgcnt(), 1, "notified once")
  b:clear()
  still_works(b)
end

-- After close every operation through any reference raises object_closed;
-- what does not touch the messages (id, name, abort, close again) works.
function tests.every_operation_after_close()
  local b = mtmsg.newbuffer("closed")
  local other = mtmsg.buffer(b:id())
  local w, r = mtmsg.newwriter(), mtmsg.newreader()
  w:add(1)
  b:close()
  for _, ref in ipairs({ b, other }) do
    t.raises("object_closed", ref.addmsg, ref, 1)
    t.raises("object_closed", ref.setmsg, ref, 1)
    t.raises("object_closed", t.wait_add, ref, 0, 1)
    t.raises("object_closed", t.wait_add, ref, nil, 1)
    t.raises("object_closed", ref.nextmsg, ref)
    t.raises("object_closed", ref.nextmsg, ref, 0)
    t.raises("object_closed", ref.msgcnt, ref)
    t.raises("object_closed", ref.clear, ref)
    t.raises("object_closed", ref.notifier, ref, mtmsg.newbuffer())
    t.raises("object_closed", w.addmsg, w, ref)
    t.raises("object_closed", w.setmsg, w, ref)
    t.raises("object_closed", r.nextmsg, r, ref, 0)
    t.eq(ref:id(), b:id())
    t.eq(ref:name(), "closed")
    ref:close()
    t.raises("object_closed", ref.abort, ref)
    t.raises("object_closed", ref.isabort, ref)
    t.raises("object_closed", ref.nonblock, ref)
    t.raises("object_closed", ref.isnonblock, ref)
    t.check(tostring(ref):find("closed", 1, true), tostring(ref))
  end
  local lst = mtmsg.newlistener()
  local lb = lst:newbuffer()
  lb:addmsg("dropped")
  lst:close()
  t.raises("object_closed", lst.nextmsg, lst, 0)
  t.raises("object_closed", lst.clear, lst)
  t.raises("object_closed", lst.newbuffer, lst)
  t.raises("object_closed", lb.addmsg, lb, 1)
  t.raises("object_closed", lb.nextmsg, lb, 0)
  t.raises("object_closed", r.nextmsg, r, lst, 0)
  for _, obj in ipairs({ lst, lb }) do
    t.raises("object_closed", obj.abort, obj)
    t.raises("object_closed", obj.isabort, obj)
    t.raises("object_closed", obj.nonblock, obj)
    t.raises("object_closed", obj.isnonblock, obj)
  end
  lst:close()
  t.eq(w:addmsg(mtmsg.newbuffer()), true, "the writer kept its value")
end

function tests.message_of_a_million_values_never_crashes()
  if quick then t.skip("MTMSG_TEST_QUICK") end
  local n = 1000000
  local w = mtmsg.newwriter()
  local chunk = {}
  for i = 1, 100 do chunk[i] = i end
  for _ = 1, n / 100 do w:add(t.unpack(chunk, 1, 100)) end
  local b = mtmsg.newbuffer()
  t.eq(w:addmsg(b), true, "writer:addmsg of a million values")
  local r = mtmsg.newreader()
  t.eq(r:nextmsg(b, 0), true)
  local count, sum = 0, 0
  while true do
    local got = t.pack(r:next(1000))
    if got.n == 0 then break end
    for i = 1, got.n do sum = sum + got[i] end
    count = count + got.n
  end
  t.eq(count, n, "values read")
  t.eq(sum, 5050 * (n / 100), "sum of the values")
  -- all at once onto the Lua stack: the values, or a clear error
  w:add(t.unpack(chunk, 1, 100))
  for _ = 2, n / 100 do w:add(t.unpack(chunk, 1, 100)) end
  w:addmsg(b)
  local ok, first = pcall(b.nextmsg, b, 0)
  t.check(ok and first == 1 or type(first) == "string", tostring(first))
  b:clear()
  still_works(b)
end

function tests.message_too_long_for_one_call_stays_queued_with_message_size()
  -- 5.1 and LuaJIT return at most about 8000 values, later versions a million
  local n = (jit or _VERSION == "Lua 5.1") and 9000 or 1000000
  if n > 9000 and quick then t.skip("MTMSG_TEST_QUICK") end
  local w = mtmsg.newwriter()
  local chunk = {}
  for i = 1, 100 do chunk[i] = true end
  for _ = 1, n / 100 do w:add(t.unpack(chunk, 1, 100)) end
  local b = mtmsg.newbuffer()
  t.eq(w:addmsg(b), true)
  t.raises("message_size", b.nextmsg, b, 0)
  t.eq(b:msgcnt(), 1, "the message stays queued")
  local r = mtmsg.newreader()
  t.eq(r:nextmsg(b, 0), true, "a reader takes it")
  local count = 0
  while true do
    local got = select("#", r:next(1000))
    if got == 0 then break end
    count = count + got
  end
  t.eq(count, n, "in parts")
end

function tests.one_gigabyte_string_into_a_fixed_buffer_raises_message_size()
  if quick then t.skip("MTMSG_TEST_QUICK") end
  local b = mtmsg.newbuffer(1024, 1024, 0)
  -- doubling by concatenation: Lua 5.1's string.rep copies byte by byte
  local ok, s = pcall(function()
    local g = "g"
    for _ = 1, 30 do g = g .. g end
    return g
  end)
  if not ok then t.skip("no memory for a 1 GiB string: " .. tostring(s)) end
  t.eq(#s, 2^30, "length")
  t.raises("message_size", b.addmsg, b, s)
  t.raises("message_size", t.wait_add, b, 0, s)
  s = nil
  collectgarbage()
  still_works(b)
end

return tests
