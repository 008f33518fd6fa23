-- What differs between Lua versions: integer/float subtypes (5.3+), exact
-- doubles (5.1, 5.2, LuaJIT), LuaJIT's fast functions.

local t = require "testlib"
local mtmsg = t.mtmsg
local tests = t.suite()

-- How a value looks, subtype included; the same text in every state. Kept
-- as source text, since a thread function cannot take it as an upvalue.
local describe_source = [[
  return function(...)
    local parts = {}
    for i = 1, select("#", ...) do
      local v = select(i, ...)
      local kind = math.type and math.type(v) or type(v)
      local text = tostring(v)
      if kind == "float" or kind == "number" then text = string.format("%.17g", v) end
      if v == 0 and 1 / v < 0 then text = "-0" end
      parts[#parts + 1] = kind .. " " .. text
    end
    return table.concat(parts, "|")
  end
]]
local describe_values = t.load(describe_source)()

-- Reads one message in another state and describes it there.
local function read_and_describe(id, source)
  local mtmsg = require "mtmsg"
  local describe = (loadstring or load)(source)()
  return describe(mtmsg.buffer(id):nextmsg(10))
end

local zero = 0.0

local function values_to_send()
  if t.has_integers then
    return t.pack(3, 3.0, math.maxinteger, math.mininteger, 0, -zero, 2^53, 2^63, 0.1, -7)
  end
  return t.pack(3, 2^53, 2^53 - 1, -2^53, 2^63, 0.1, 1e308, 5e-324, -zero, -7)
end

function tests.numbers_keep_value_and_subtype_in_another_state()
  local values = values_to_send()
  local b = mtmsg.newbuffer()
  b:addmsg(t.unpack(values, 1, values.n))
  local thread = t.start(read_and_describe, b:id(), describe_source)
  local got = t.join(thread)
  t.eq(got, describe_values(t.unpack(values, 1, values.n)))
end

local function send_numbers(id, has_integers)
  local mtmsg = require "mtmsg"
  local b = mtmsg.buffer(id)
  local zero = 0.0
  if has_integers then
    local max, min = math.maxinteger, math.mininteger
    b:addmsg(3, 3.0, max, min, 0, -zero, 2^53, 2^63, 0.1, -7)
  else
    b:addmsg(3, 2^53, 2^53 - 1, -2^53, 2^63, 0.1, 1e308, 5e-324, -zero, -7)
  end
  return true
end

function tests.numbers_from_another_state_keep_value_and_subtype()
  local b = mtmsg.newbuffer()
  t.join(t.start(send_numbers, b:id(), t.has_integers))
  local got = t.pack(b:nextmsg(0))
  t.eq_values(got, values_to_send())
end

function tests.two_to_the_53_round_trips_exactly()
  local b = mtmsg.newbuffer()
  local big = 2^53
  b:addmsg(big, big - 1, -big, big + 2)
  local x, y, z, w = b:nextmsg(0)
  t.eq(x, big); t.eq(y, big - 1); t.eq(z, -big); t.eq(w, big + 2)
  t.check(x - 1 == y and x + 2 == w, "neighbours of 2^53 changed")
end

function tests.builtin_tonumber_is_refused_on_luajit_and_kept_elsewhere()
  local b = mtmsg.newbuffer()
  if t.luajit then
    -- a fast function: lua_tocfunction gives NULL, it must not be stored
    for _, f in ipairs({ tonumber, string.len, math.floor }) do
      local err = t.argerror(function() local r = b:addmsg(f) return r end)
      t.check(err:find("function", 1, true), "error does not name the type: " .. err)
    end
    local ffi_ok, ffi = pcall(require, "ffi")
    if ffi_ok then
      t.argerror(function() local r = b:addmsg(ffi.new("int", 1)) return r end)
    end
    t.eq(b:msgcnt(), 0, "msgcnt after the refused values")
  else
    b:addmsg(tonumber)
    local f = b:nextmsg(0)
    t.eq(f("42"), 42, "the received tonumber")
  end
end

return tests
