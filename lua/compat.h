/*
 * Every difference between the Lua versions the glue builds for lives here:
 * Lua 5.1, 5.2, 5.3, 5.4, 5.5 and LuaJIT 2.1 (which has the 5.1 API plus a
 * few 5.2 auxiliary functions). The other files use the compat_ names and
 * never test LUA_VERSION_NUM themselves.
 */
#ifndef MTMSG_LUA_COMPAT_H
#define MTMSG_LUA_COMPAT_H

#include <limits.h>
#include <stdint.h>

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h" /* only to tell LuaJIT (LUA_JITLIBNAME) from Lua 5.1 */

#if defined(LUA_JITLIBNAME)
#define COMPAT_LUAJIT 1
#define COMPAT_LUA_NAME "LuaJIT 2.1"
#else
#define COMPAT_LUAJIT 0
#define COMPAT_LUA_NAME LUA_RELEASE
#endif

/* Lua 5.2 checks that the core and the module agree on version and number sizes. */
#if LUA_VERSION_NUM >= 502
#define compat_checkversion(L) luaL_checkversion(L)
#else
#define compat_checkversion(L) ((void)(L))
#endif

/*
 * To-be-closed variables (5.4 on) need nothing here: every version gets the
 * __close metamethod (object.c), which earlier versions never call by
 * themselves and which releases the reference alike when called by hand.
 */

/* Our userdata need no user values, which 5.4 lets us say. */
#if LUA_VERSION_NUM >= 504
#define compat_newuserdata(L, size) lua_newuserdatauv((L), (size), 0)
#else
#define compat_newuserdata(L, size) lua_newuserdata((L), (size))
#endif

/*
 * The error luaL_checkudata raises for an argument of the wrong type, which
 * names the type the argument has by its __name from 5.3 on.
 */
#if LUA_VERSION_NUM >= 504
#define compat_typeerror(L, idx, tname) luaL_typeerror((L), (idx), (tname))
#elif LUA_VERSION_NUM == 503
static inline int compat_typeerror(lua_State *L, int idx, const char *tname)
{
    const char *typearg;
    if (luaL_getmetafield(L, idx, "__name") == LUA_TSTRING) {
        typearg = lua_tostring(L, -1);
    } else if (lua_type(L, idx) == LUA_TLIGHTUSERDATA) {
        typearg = "light userdata";
    } else {
        typearg = luaL_typename(L, idx);
    }
    return luaL_argerror(L, idx, lua_pushfstring(L, "%s expected, got %s", tname, typearg));
}
#elif LUA_VERSION_NUM == 502
static inline int compat_typeerror(lua_State *L, int idx, const char *tname)
{
    return luaL_argerror(L, idx, lua_pushfstring(L, "%s expected, got %s", tname, luaL_typename(L, idx)));
}
#else
#define compat_typeerror(L, idx, tname) luaL_typerror((L), (idx), (tname))
#endif

/* 5.3 made luaL_newmetatable set __name (tostring and mtmsg.type rely on it). */
static inline int compat_newmetatable(lua_State *L, const char *tname)
{
    int created = luaL_newmetatable(L, tname);
#if LUA_VERSION_NUM < 503
    if (created) {
        lua_pushstring(L, tname);
        lua_setfield(L, -2, "__name");
    }
#endif
    return created;
}

/*
 * Integers: before 5.3 every Lua number is a double, so nothing on the Lua
 * side is an integer and integers coming out of a message become doubles.
 */
#if LUA_VERSION_NUM >= 503
#define compat_isinteger(L, idx) lua_isinteger((L), (idx))
#else
#define compat_isinteger(L, idx) ((void)(L), (void)(idx), 0)
#endif

/* Whether the value at idx is the number n: a table key that continues an array part. */
#if LUA_VERSION_NUM >= 503
#define compat_iskey(L, idx, n) (lua_isinteger((L), (idx)) && lua_tointeger((L), (idx)) == (n))
#else
#define compat_iskey(L, idx, n) (lua_type((L), (idx)) == LUA_TNUMBER && lua_tonumber((L), (idx)) == (lua_Number)(n))
#endif

/* t[i] = top, i >= 1; before 5.3 an index beyond int goes as a number key (the same key, for Lua). */
static inline void compat_rawsetindex(lua_State *L, int t, size_t i)
{
#if LUA_VERSION_NUM >= 503
    lua_rawseti(L, t, (lua_Integer)i);
#else
    if (i <= (size_t)INT_MAX) {
        lua_rawseti(L, t, (int)i);
    } else {
        lua_pushnumber(L, (lua_Number)i);
        lua_insert(L, -2);
        lua_rawset(L, t);
    }
#endif
}

static inline void compat_pushint64(lua_State *L, int64_t value)
{
#if LUA_VERSION_NUM >= 503 && LUA_MAXINTEGER >= INT64_MAX
    lua_pushinteger(L, (lua_Integer)value);
#elif LUA_VERSION_NUM >= 503
    /* a Lua built with small integers gets a float where an integer does not fit */
    if (value >= LUA_MININTEGER && value <= LUA_MAXINTEGER) {
        lua_pushinteger(L, (lua_Integer)value);
    } else {
        lua_pushnumber(L, (lua_Number)value);
    }
#else
    lua_pushnumber(L, (lua_Number)value);
#endif
}

/* An integer argument; like 5.3's luaL_checkinteger, a fraction is an error rather than truncated. */
static inline int64_t compat_checkint64(lua_State *L, int idx)
{
#if LUA_VERSION_NUM >= 503
    return (int64_t)luaL_checkinteger(L, idx);
#else
    lua_Number n = luaL_checknumber(L, idx);
    /* the bounds are -2^63 and 2^63, both exact doubles; NaN fails the range test */
    if (!(n >= -9223372036854775808.0 && n < 9223372036854775808.0) || (lua_Number)(int64_t)n != n) {
        luaL_argerror(L, idx, "number has no integer representation");
    }
    return (int64_t)n;
#endif
}

/*
 * The most values nextmsg returns from one call: the C stack limit of
 * 5.1 and LuaJIT, the whole stack's of 5.2 and later, less a margin for
 * the frames below the call and, on 5.1 and LuaJIT, the room a table
 * nested MTMSG_MAX_DEPTH deep takes while it is built (2 slots a level,
 * see tablebuild.c). A longer message is refused with message_size and
 * stays queued (reader:next takes it in parts).
 */
#if defined(LUAI_MAXCSTACK) /* 5.1, LuaJIT: a C function's own limit */
#define COMPAT_MAX_RESULTS ((size_t)LUAI_MAXCSTACK - 200 - (2 * MTMSG_MAX_DEPTH + 16))
#elif defined(LUAI_MAXSTACK)
#define COMPAT_MAX_RESULTS ((size_t)LUAI_MAXSTACK - 1000)
#else /* 5.5 keeps LUAI_MAXSTACK (1000000) out of its public headers */
#define COMPAT_MAX_RESULTS ((size_t)1000000 - 1000)
#endif

#endif
