/* The Lua states of the C tests that run Lua (test/c/lua_*.c): the
 * standard libraries opened, and package.cpath finding the module in
 * build/lua5.4/ (MTMSG_LUA_CPATH overrides it), so run them from the
 * repository root. */
#ifndef MTMSG_TEST_LUA_STATE_H
#define MTMSG_TEST_LUA_STATE_H

#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static lua_State *new_state(void)
{
    const char *cpath = getenv("MTMSG_LUA_CPATH");
    lua_State *L = luaL_newstate();
    if (L == NULL) return NULL;
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_pushstring(L, cpath ? cpath : "build/lua5.4/?.so");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
    return L;
}

#endif
