/*
 * benchtablefloor: the floor of the table benchmarks: one thread
 * copying a table with a C function that walks it and builds the copy, the
 * work a table message cannot avoid, without a queue, an encoding or a
 * second thread.
 *
 *   benchtablefloor.copy(t)   a deep copy of t: each table walked with
 *                             lua_next, made with lua_createtable sized
 *                             like the original (its array part and the
 *                             rest), every entry set with lua_rawset;
 *                             strings are Lua's own (no copy of bytes:
 *                             the same strings), nested tables copied in
 *                             turn (no identity kept: the tables measured
 *                             share nothing)
 */
#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM >= 502
#define rawlength(L, idx) lua_rawlen((L), (idx))
#else
#define rawlength(L, idx) lua_objlen((L), (idx))
#endif

static void copytable(lua_State *L, int from)
{
    int array = (int)rawlength(L, from);
    int count = 0;
    lua_pushnil(L);
    while (lua_next(L, from)) {
        count++;
        lua_pop(L, 1);
    }
    lua_createtable(L, array, count > array ? count - array : 0);
    luaL_checkstack(L, 4, "nested too deep");
    lua_pushnil(L);
    while (lua_next(L, from)) {
        lua_pushvalue(L, -2);
        if (lua_type(L, -2) == LUA_TTABLE) {
            copytable(L, lua_gettop(L) - 1);
            lua_remove(L, -3); /* the original value: key, key, copy */
        } else {
            lua_insert(L, -2);
        }
        lua_rawset(L, -4);
    }
}

static int floor_copy(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    copytable(L, 1);
    return 1;
}

int luaopen_benchtablefloor(lua_State *L)
{
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, floor_copy);
    lua_setfield(L, -2, "copy");
    return 1;
}
