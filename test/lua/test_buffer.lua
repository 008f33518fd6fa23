-- Buffers in one thread: the seed's functions and methods, lookup, sizes,
-- lifetime, and the module's small functions (type, _VERSION, _INFO).

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

function tests.module_sets_no_globals()
  t.eq(rawget(_G, "mtmsg"), nil, "global mtmsg")
  t.eq(type(mtmsg), "table")
end

function tests.newbuffer_gives_unique_ids_and_its_name()
  local a, b = mtmsg.newbuffer(), mtmsg.newbuffer()
  t.eq(type(a:id()), "number")
  if t.has_integers then t.eq(math.type(a:id()), "integer", "id subtype") end
  t.check(a:id() ~= b:id(), "two buffers share the id " .. a:id())
  t.eq(a:name(), nil, "name of an unnamed buffer")
  local name = t.uname("named")
  t.eq(mtmsg.newbuffer(name):name(), name)
  t.eq(mtmsg.newbuffer(name, 64):name(), name)
end

function tests.addmsg_and_nextmsg_keep_fifo_order()
  local b = mtmsg.newbuffer()
  for i = 1, 100 do t.eq(b:addmsg(i, "m" .. i), true) end
  for i = 1, 100 do
    local n, s = b:nextmsg(0)
    t.eq(n, i); t.eq(s, "m" .. i)
  end
  t.eq(select("#", b:nextmsg(0)), 0, "values after the last message")
end

function tests.setmsg_discards_older_messages()
  local b = mtmsg.newbuffer()
  b:addmsg("m1"); b:addmsg("m2"); b:addmsg("m3")
  t.eq(b:setmsg("m4", 4), true, "setmsg result")
  t.eq(b:msgcnt(), 1, "msgcnt")
  local s, n = b:nextmsg(0)
  t.eq(s, "m4"); t.eq(n, 4)
  t.eq(select("#", b:nextmsg(0)), 0, "values after the set message")
end

function tests.setmsg_on_empty_buffer_adds_the_message()
  local b = mtmsg.newbuffer()
  t.eq(b:setmsg("only"), true)
  t.eq(b:nextmsg(0), "only")
end

function tests.nextmsg_0_on_empty_buffer_returns_nothing_at_once()
  local b = mtmsg.newbuffer()
  local start = mtmsg.time()
  t.eq(select("#", b:nextmsg(0)), 0, "values")
  t.check(t.elapsed_since(start) < 0.1, "nextmsg(0) took " .. t.elapsed_since(start) .. " s")
end

function tests.nextmsg_negative_timeout_counts_as_zero()
  local b = mtmsg.newbuffer()
  local start = mtmsg.time()
  t.eq(select("#", b:nextmsg(-1)), 0, "values")
  t.check(t.elapsed_since(start) < 0.1, "nextmsg(-1) took " .. t.elapsed_since(start) .. " s")
end

function tests.nextmsg_with_timeout_returns_nothing_after_the_timeout()
  local b = mtmsg.newbuffer()
  local start = mtmsg.time()
  t.eq(select("#", b:nextmsg(0.2)), 0, "values")
  local took = t.elapsed_since(start)
  t.note("nextmsg(0.2) took", took)
  t.check(took >= 0.2, "nextmsg(0.2) returned after only " .. took .. " s")
  t.check(took < 1.5, "nextmsg(0.2) took " .. took .. " s")
end

function tests.nextmsg_with_timeout_returns_a_queued_message_at_once()
  local b = mtmsg.newbuffer()
  b:addmsg("here")
  local start = mtmsg.time()
  t.eq(b:nextmsg(5), "here")
  t.check(t.elapsed_since(start) < 0.5, "took " .. t.elapsed_since(start) .. " s")
end

function tests.lookup_by_id_and_by_name_reach_the_same_buffer()
  local name = t.uname("lookup")
  local b = mtmsg.newbuffer(name)
  local by_id, by_name = mtmsg.buffer(b:id()), mtmsg.buffer(name)
  t.eq(by_id:id(), b:id(), "id of the buffer found by id")
  t.eq(by_name:id(), b:id(), "id of the buffer found by name")
  t.eq(by_id:name(), name)
  by_id:addmsg("via id")
  by_name:addmsg("via name")
  t.eq(b:msgcnt(), 2, "msgcnt through the first reference")
  t.eq(by_name:nextmsg(0), "via id")
  t.eq(by_id:nextmsg(0), "via name")
end

function tests.lookup_by_id_accepts_an_integral_float()
  local b = mtmsg.newbuffer()
  t.eq(mtmsg.buffer(b:id() + 0.0):id(), b:id())
end

function tests.name_with_zero_byte_is_found_only_by_the_whole_name()
  local name = t.uname("zero") .. "\0tail"
  local b = mtmsg.newbuffer(name)
  t.eq(b:name(), name)
  t.eq(mtmsg.buffer(name):id(), b:id())
  t.raises("unknown_object", mtmsg.buffer, name:sub(1, name:find("\0", 1, true) - 1))
end

function tests.shared_name_lookup_raises_ambiguous_name()
  local name = t.uname("twice")
  local a, b = mtmsg.newbuffer(name), mtmsg.newbuffer(name)
  local err = t.raises("ambiguous_name", mtmsg.buffer, name)
  t.check(err:match(mtmsg.error.ambiguous_name), err)
  -- both stay reachable by id
  t.eq(mtmsg.buffer(a:id()):id(), a:id())
  t.eq(mtmsg.buffer(b:id()):id(), b:id())
end

function tests.unknown_id_or_name_raises_unknown_object()
  local err = t.raises("unknown_object", mtmsg.buffer, t.uname("never"))
  t.check(err:match(mtmsg.error.unknown_object), err)
  t.raises("unknown_object", mtmsg.buffer, 987654321)
  t.raises("unknown_object", mtmsg.buffer, -1)
end

local function new_buffer_id(...)
  local b = mtmsg.newbuffer(...)
  b:addmsg("left behind")
  return b:id()
end

function tests.buffer_is_unreachable_by_id_once_its_last_reference_is_collected()
  local id = new_buffer_id()
  t.collect()
  t.raises("unknown_object", mtmsg.buffer, id)
end

function tests.buffer_is_unreachable_by_name_once_its_last_reference_is_collected()
  local name = t.uname("collected")
  new_buffer_id(name)
  t.collect()
  t.raises("unknown_object", mtmsg.buffer, name)
end

function tests.buffer_lives_while_another_reference_lives()
  local id = new_buffer_id()
  local other = mtmsg.buffer(id)
  t.collect()
  t.eq(mtmsg.buffer(id):nextmsg(0), "left behind")
  t.eq(other:id(), id)
end

-- Fixed sizes (grow == 0)

function tests.fixed_size_buffer_raises_message_size_for_message_over_size1()
  local b = mtmsg.newbuffer(32, 1024, 0)
  local err = t.raises("message_size", b.addmsg, b, string.rep("x", 100))
  t.check(err:match(mtmsg.error.message_size), err)
  t.raises("message_size", b.setmsg, b, string.rep("x", 100))
  t.eq(b:msgcnt(), 0, "msgcnt")
  t.eq(b:addmsg("small"), true, "a small message after the refused one")
end

function tests.full_fixed_size_buffer_returns_false_and_accepts_after_nextmsg()
  local b = mtmsg.newbuffer(64, 200, 0)
  local text = "twenty bytes of text"
  local added = 0
  while added < 1000 and b:addmsg(added, text) do added = added + 1 end
  t.check(added >= 2 and added < 1000, "messages accepted by a 200 byte buffer: " .. added)
  t.eq(b:msgcnt(), added, "msgcnt")
  t.eq(b:addmsg(-1, text), false, "addmsg to the full buffer")
  t.eq(b:nextmsg(0), 0, "first message")
  t.eq(b:addmsg(added, text), true, "addmsg after nextmsg")
  t.eq(b:addmsg(-1, text), false, "addmsg when full again")
  for i = 1, added do
    t.eq(b:nextmsg(0), i, "message " .. i)
  end
  t.eq(b:msgcnt(), 0)
end

function tests.fixed_size_buffer_raises_size2_to_size1()
  local b = mtmsg.newbuffer(100, 10, 0)
  local s = string.rep("y", 50)
  t.eq(b:addmsg(s), true, "a 50 byte string into size1=100, size2=10")
  t.eq(b:addmsg(s), false, "a second one")
  t.eq(b:nextmsg(0), s)
end

function tests.fixed_size_setmsg_replaces_a_full_buffer()
  local b = mtmsg.newbuffer(64, 64, 0)
  for _ = 1, 1000 do
    if not b:addmsg("fill") then break end
  end
  t.eq(b:setmsg("only"), true, "setmsg into the full buffer")
  t.eq(b:msgcnt(), 1)
  t.eq(b:nextmsg(0), "only")
end

function tests.default_buffer_grows_beyond_its_initial_sizes()
  local b = mtmsg.newbuffer()
  local s = string.rep("z", 300)
  for i = 1, 200 do t.eq(b:addmsg(i, s), true, "addmsg " .. i) end
  t.eq(b:msgcnt(), 200)
  for i = 1, 200 do
    local n, got = b:nextmsg(0)
    t.eq(n, i); t.eq(got, s)
  end
end

function tests.grow_at_most_one_grows_by_what_is_needed()
  local b = mtmsg.newbuffer(16, 16, 1)
  local s = string.rep("w", 1000)
  t.eq(b:addmsg(s), true, "a 1000 byte message into size1=16, grow=1")
  t.eq(b:addmsg(s), true, "a second one")
  t.eq(b:nextmsg(0), s)
  t.eq(b:nextmsg(0), s)
  local half = mtmsg.newbuffer(16, 16, 0.5)
  t.eq(half:addmsg(s), true, "grow=0.5")
end

function tests.negative_sizes_count_as_zero()
  local b = mtmsg.newbuffer(-5, -5)
  t.eq(b:addmsg("grows from nothing"), true)
  t.eq(b:nextmsg(0), "grows from nothing")
  local fixed = mtmsg.newbuffer(-1, -1, 0)
  t.raises("message_size", fixed.addmsg, fixed, "does not fit into 0 bytes")
end

-- Module functions

function tests.tostring_shows_class_address_name_and_id()
  local b = mtmsg.newbuffer()
  local s = tostring(b)
  t.check(s:match("^mtmsg%.buffer: [^%(]+%(id=" .. b:id() .. "%)$"), "tostring: " .. s)
  local named = mtmsg.newbuffer('q"b\\s\0z')
  s = tostring(named)
  local want = '(name="q\\"b\\\\s\\0z",id=' .. named:id() .. ")"
  t.check(s:find("mtmsg.buffer: ", 1, true) == 1 and s:sub(-#want) == want, "tostring: " .. s)
end

function tests.type_names_mtmsg_objects_and_other_values()
  t.eq(mtmsg.type(mtmsg.newbuffer()), "mtmsg.buffer")
  t.eq(mtmsg.type(mtmsg.newlistener()), "mtmsg.listener")
  t.eq(mtmsg.type(mtmsg.newwriter()), "mtmsg.writer")
  t.eq(mtmsg.type(mtmsg.newreader()), "mtmsg.reader")
  t.eq(mtmsg.type(1), "number")
  t.eq(mtmsg.type("s"), "string")
  t.eq(mtmsg.type(nil), "nil")
  t.eq(mtmsg.type({}), "table")
  t.eq(mtmsg.type(print), "function")
  t.eq(mtmsg.type(true), "boolean")
  t.eq(mtmsg.type(coroutine.create(function() end)), "thread")
end

function tests.type_of_other_userdata_is_its_registered_name()
  local mt = getmetatable(io.stdout)
  local name = rawget(mt, "__name")
  local got = mtmsg.type(io.stdout)
  if type(name) == "string" and debug.getregistry()[name] == mt then
    t.eq(got, name, "mtmsg.type(io.stdout)")
  else
    t.check(got == "userdata" or got == "FILE*", "mtmsg.type(io.stdout): " .. tostring(got))
  end
end

function tests.type_is_not_fooled_by_an_unregistered_name()
  local f = io.tmpfile()
  local real = debug.getmetatable(f)
  debug.setmetatable(f, { __name = "mtmsg.buffer" })
  local ok, got = pcall(mtmsg.type, f)
  debug.setmetatable(f, real)
  f:close()
  t.check(ok, tostring(got))
  t.eq(got, "userdata", "mtmsg.type of a file posing as mtmsg.buffer")
end

function tests.error_table_holds_every_error_name()
  local names = { "ambiguous_name", "has_notifier", "message_size", "no_buffers",
                  "object_closed", "operation_aborted", "out_of_memory", "unknown_object" }
  local count = 0
  for _ in pairs(mtmsg.error) do count = count + 1 end
  t.eq(count, #names, "entries in mtmsg.error")
  for _, name in ipairs(names) do
    t.eq(mtmsg.error[name], "mtmsg.error." .. name)
  end
end

function tests.version_and_info_describe_the_module()
  t.check(type(mtmsg._VERSION) == "string" and mtmsg._VERSION:match("^%d+%.%d+%.%d+"),
          "_VERSION: " .. tostring(mtmsg._VERSION))
  local info = mtmsg._INFO
  t.eq(type(info), "string", "_INFO")
  t.check(not info:find("\n"), "_INFO is more than one line")
  t.check(info:find(t.lua_version, 1, true) or (t.luajit and info:find("LuaJIT", 1, true)),
          "_INFO does not name Lua " .. t.lua_version .. ": " .. info)
end

return tests
