-- Every value type mtmsg carries round-trips through a buffer unchanged;
-- everything else is refused with an argument error and nothing is added.
-- (Tables, which travel too, have their own file: test_tables.lua.)

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

local zero = 0.0
local negative_zero = -zero
local nan = zero / zero

local function round_trip(...)
  local b = mtmsg.newbuffer()
  t.eq(b:addmsg(...), true, "addmsg")
  return t.pack(b:nextmsg(0))
end

local function check_round_trip(...)
  t.eq_values(round_trip(...), t.pack(...))
end

-- The numbers every version has; on 5.3+ the integer ones are integers.
local function some_numbers()
  local list = { 0, 1, -1, 42, 123456789, 0.1, 1.5, -2.25, 1e308, 5e-324,
                 2^53, -2^53, 2^53 - 1, 2^63, -2^63, math.huge, -math.huge }
  if t.has_integers then
    list[#list + 1] = math.maxinteger
    list[#list + 1] = math.mininteger
    list[#list + 1] = 3.0
    list[#list + 1] = -0.0 + 0.0 -- a float zero
  end
  return list
end

function tests.nil_and_booleans_round_trip()
  check_round_trip(nil)
  check_round_trip(true)
  check_round_trip(false)
  check_round_trip(true, false, nil, true)
end

function tests.numbers_round_trip_exactly()
  for _, n in ipairs(some_numbers()) do
    check_round_trip(n)
  end
end

function tests.integers_keep_their_subtype_on_lua_5_3_and_later()
  if not t.has_integers then
    -- numbers are doubles here: integral values must come back equal
    local got = round_trip(3, 3.0, 2^53)
    t.eq(got[1], 3); t.eq(got[2], 3); t.eq(got[3], 2^53)
    return
  end
  local got = round_trip(3, 3.0, math.maxinteger, math.mininteger, 0, 2^63)
  t.eq(math.type(got[1]), "integer", "3")
  t.eq(math.type(got[2]), "float", "3.0")
  t.eq(math.type(got[3]), "integer", "math.maxinteger")
  t.eq(got[3], math.maxinteger)
  t.eq(math.type(got[4]), "integer", "math.mininteger")
  t.eq(got[4], math.mininteger)
  t.eq(math.type(got[5]), "integer", "0")
  t.eq(math.type(got[6]), "float", "2^63")
end

function tests.float_negative_zero_keeps_its_sign()
  local got = round_trip(negative_zero, zero)
  t.eq(1 / got[1], -math.huge, "1/-0.0")
  t.eq(1 / got[2], math.huge, "1/0.0")
end

function tests.nan_round_trips_as_nan()
  local got = round_trip(nan)
  t.eq(got.n, 1)
  t.check(type(got[1]) == "number" and got[1] ~= got[1], "got " .. tostring(got[1]))
end

function tests.infinities_round_trip()
  local got = round_trip(math.huge, -math.huge)
  t.eq(got[1], math.huge)
  t.eq(got[2], -math.huge)
end

function tests.strings_with_zero_bytes_round_trip()
  check_round_trip("a\0b", "\0", "\0\0\0", "end\0")
  t.eq(#round_trip("a\0b")[1], 3, "length")
end

function tests.empty_string_round_trips()
  local got = round_trip("")
  t.eq(got.n, 1)
  t.eq(got[1], "")
end

function tests.every_byte_value_round_trips()
  local bytes = {}
  for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
  check_round_trip(table.concat(bytes))
end

function tests.trailing_nils_count_as_values()
  local b = mtmsg.newbuffer()
  b:addmsg(1, nil, nil)
  t.eq(select("#", b:nextmsg(0)), 3, "values of addmsg(1, nil, nil)")
  b:addmsg(nil)
  t.eq(select("#", b:nextmsg(0)), 1, "values of addmsg(nil)")
  b:addmsg(nil, nil)
  t.eq(select("#", b:nextmsg(0)), 2, "values of addmsg(nil, nil)")
end

function tests.empty_message_is_a_message()
  local b = mtmsg.newbuffer()
  t.eq(b:addmsg(), true)
  t.eq(b:msgcnt(), 1, "msgcnt after addmsg()")
  t.eq(select("#", b:nextmsg(0)), 0, "values")
  t.eq(b:msgcnt(), 0, "msgcnt after nextmsg")
end

function tests.message_of_250_values_round_trips()
  local values = {}
  for i = 1, 250 do
    local k = i % 5
    if k == 0 then values[i] = i
    elseif k == 1 then values[i] = "v" .. i
    elseif k == 2 then values[i] = i + 0.5
    elseif k == 3 then values[i] = (i % 2 == 0)
    else values[i] = nil end
  end
  local want = { n = 250 }
  for i = 1, 250 do want[i] = values[i] end
  check_round_trip(t.unpack(want, 1, 250))
end

function tests.ten_megabyte_string_round_trips()
  local s = string.rep("0123456789abcde\0", 655360)
  t.eq(#s, 10 * 1024 * 1024)
  local got = round_trip(s, 1)
  t.eq(#got[1], #s, "length")
  t.check(got[1] == s, "10 MB string changed")
  t.eq(got[2], 1)
end

-- A light userdata from the registry (the package library keeps its C
-- library handles there on 5.2+): the first userdata addmsg accepts.
local function find_light_userdata()
  local probe = mtmsg.newbuffer()
  local seen = {}
  local function visit(v, depth)
    if type(v) == "userdata" then
      if pcall(probe.addmsg, probe, v) then return v end
    elseif type(v) == "table" and depth > 0 and not seen[v] then
      seen[v] = true
      for k, x in pairs(v) do
        local found = visit(k, depth - 1) or visit(x, depth - 1)
        if found then return found end
      end
    end
  end
  return visit(debug.getregistry(), 2)
end

function tests.light_userdata_round_trips()
  local p = find_light_userdata()
  if not p then t.skip("no light userdata reachable from Lua here") end
  local got = round_trip(p, 1)
  t.check(rawequal(got[1], p), "light userdata changed: " .. tostring(got[1]) .. " vs " .. tostring(p))
  t.eq(got[2], 1)
end

function tests.c_function_without_upvalues_round_trips()
  local got = round_trip(mtmsg.time, 7)
  t.eq(type(got[1]), "function", "type")
  t.eq(type(got[1]()), "number", "calling the received mtmsg.time")
  t.eq(got[2], 7)
  if not t.luajit then
    -- every function of the standard library is a plain C function here
    local len = round_trip(string.len)[1]
    t.eq(len("abc"), 3, "calling the received string.len")
    if t.lua_version ~= "5.1" then
      -- light C functions compare equal by address
      t.check(rawequal(len, string.len), "string.len came back as another value")
    end
  end
end

function tests.c_closure_with_upvalues_is_refused()
  local b = mtmsg.newbuffer()
  local closure = coroutine.wrap(function() end)
  local err = t.argerror(function() local r = b:addmsg(closure) return r end)
  t.check(err:find("function", 1, true), "error does not name the type: " .. err)
  t.eq(b:msgcnt(), 0, "msgcnt")
end

function tests.functions_coroutines_full_userdata_and_tables_with_metatables_are_refused()
  local b = mtmsg.newbuffer()
  local refused = {
    { setmetatable({}, {}), "metatable" },
    { function() end, "function" },
    { coroutine.create(function() end), "thread" },
    { io.stdout, "userdata", "FILE*" },
  }
  for _, case in ipairs(refused) do
    local err = t.argerror(function() local r = b:addmsg(1, case[1]) return r end)
    t.check(err:find(case[2], 1, true) or (case[3] and err:find(case[3], 1, true)),
            case[2] .. ": error does not name the type: " .. err)
    t.check(err:find("#2", 1, true), case[2] .. ": error does not name argument #2: " .. err)
    t.eq(b:msgcnt(), 0, case[2] .. ": msgcnt after the refused addmsg")
  end
  t.argerror(function() local r = b:setmsg(print, function() end) return r end)
  t.eq(b:msgcnt(), 0, "msgcnt after the refused setmsg")
end

function tests.refused_value_leaves_queued_messages_untouched()
  local b = mtmsg.newbuffer()
  b:addmsg("first")
  t.argerror(function() local r = b:setmsg("x", coroutine.create(print)) return r end)
  t.eq(b:msgcnt(), 1, "msgcnt")
  t.eq(b:nextmsg(0), "first")
end

return tests
