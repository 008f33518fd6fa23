/*
 * The differences between Lua 5.1, 5.2, 5.3, 5.4, 5.5 and LuaJIT 2.1 that
 * the test host (mtlua.c, llthreads.c) meets, in one place. The host keeps
 * its own small header rather than the glue's lua/compat.h so that it still
 * builds, and can run the tests that find the glue broken, when the glue
 * does not.
 */
#ifndef MTMSG_HOST_COMPAT_H
#define MTMSG_HOST_COMPAT_H

#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

#ifndef LUA_OK
#define LUA_OK 0
#endif

/* LuaJIT has the 5.1 API plus some 5.2 auxiliary functions, among them these. */
#if LUA_VERSION_NUM >= 502 || defined(LUA_JITLIBNAME)
#define HOST_HAS_52_AUXLIB 1
#else
#define HOST_HAS_52_AUXLIB 0
#endif

/* 5.4 gives a userdata user values unless told none are needed. */
#if LUA_VERSION_NUM >= 504
#define host_newuserdata(L, size) lua_newuserdatauv((L), (size), 0)
#else
#define host_newuserdata(L, size) lua_newuserdata((L), (size))
#endif

/* Keep the debug information (strip = 0) so errors in threads name their lines. */
#if LUA_VERSION_NUM >= 503
#define host_dump(L, writer, data) lua_dump((L), (writer), (data), 0)
#else
#define host_dump(L, writer, data) lua_dump((L), (writer), (data))
#endif

#if HOST_HAS_52_AUXLIB
#define host_setfuncs(L, list) luaL_setfuncs((L), (list), 0)
#else
static inline void host_setfuncs(lua_State *L, const luaL_Reg *list)
{
    for (; list->name != NULL; list++) {
        lua_pushcfunction(L, list->func);
        lua_setfield(L, -2, list->name);
    }
}
#endif

/* Pushes msg followed by the stack traceback of L from level on. */
#if HOST_HAS_52_AUXLIB
#define host_traceback(L, msg, level) luaL_traceback((L), (L), (msg), (level))
#else
static inline void host_traceback(lua_State *L, const char *msg, int level)
{
    lua_getglobal(L, "debug");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "traceback");
        lua_remove(L, -2);
        if (lua_isfunction(L, -1)) {
            lua_pushstring(L, msg);
            /* one level more: debug.traceback counts this call's caller too */
            lua_pushinteger(L, level + 1);
            lua_call(L, 2, 1);
            return;
        }
    }
    lua_pop(L, 1);
    lua_pushstring(L, msg); /* a script took the debug library away: no traceback */
}
#endif

/* Pushes the number at index idx of from onto to, keeping the integer subtype of 5.3+. */
static inline void host_xmove_number(lua_State *from, int idx, lua_State *to)
{
#if LUA_VERSION_NUM >= 503
    if (lua_isinteger(from, idx)) {
        lua_pushinteger(to, lua_tointeger(from, idx));
        return;
    }
#endif
    lua_pushnumber(to, lua_tonumber(from, idx));
}

#endif
