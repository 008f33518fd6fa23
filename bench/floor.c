/*
 * benchfloor: the null functions the Lua benchmarks measure mtmsg against.
 *
 * A floor object is a userdata with a metatable, called with the same
 * method syntax and arguments as an mtmsg buffer, so a floor loop does the
 * same Lua-side work as the mtmsg loop (method lookup, argument passing, a
 * safe check of self, value conversion in and out) with only the queue
 * removed. Each part is done the cheapest safe way (self is checked against
 * the metatable held as an upvalue, not looked up by name in the registry
 * as luaL_checkudata does), so the floor is a floor:
 *
 *   f:put(...)     reads every argument as addmsg would (type, then its
 *                  integer, float, boolean, string or pointer) and returns true
 *   f:get1(i)      returns what nextmsg returns for the message (i)
 *   f:get3(i)      returns what nextmsg returns for ("tag", i, 1.5)
 *   f:copy(...)    returns its arguments, every string copied into C memory
 *                  and made into a new Lua string: the bytes floor
 *   f:null(...), benchfloor.null(...)
 *                  do nothing at all and return nothing (not even self is
 *                  checked): "the same loop calling null C functions" that
 *                  the original C mtmsg was measured against
 *   f:addmsg(...), f:nextmsg(...), f:setmsg(...), f:msgcnt(), f:close()
 *                  that null function, under the names of buffer and
 *                  listener methods, and f:newbuffer() a new floor object:
 *                  so the one-thread patterns (patterns.lua) run the very
 *                  loop they run on mtmsg on a floor object
 *   benchfloor.now()      a monotonic clock in seconds (both sides time with it)
 *   benchfloor.rss()      resident set size of the process in bytes
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>

#include "lua.h"
#include "lauxlib.h"

#define FLOOR_TYPE "benchfloor.floor"

/* What a value is read into: the same information a message value needs. */
typedef struct floor_value {
    int type;
    union {
        lua_Integer integer;
        lua_Number number;
        int boolean;
        const void *pointer;
        struct {
            const char *ptr;
            size_t len;
        } string;
    } as;
} floor_value;

typedef struct floor_object {
    char *copy;          /* C memory strings are copied into, reused */
    size_t copy_capacity;
} floor_object;

/* Keeps the compiler from dropping the reads. */
static volatile uintptr_t floor_sink;

/* Self, checked against the metatable every method has as upvalue 1. */
static floor_object *checkfloor(lua_State *L)
{
    floor_object *floor = (floor_object *)lua_touserdata(L, 1);
    if (floor == NULL || !lua_getmetatable(L, 1) || !lua_rawequal(L, -1, lua_upvalueindex(1))) {
        luaL_typeerror(L, 1, FLOOR_TYPE);
    }
    lua_pop(L, 1);
    return floor;
}

static void readvalue(lua_State *L, int idx, floor_value *value)
{
    value->type = lua_type(L, idx);
    switch (value->type) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            value->as.integer = lua_tointeger(L, idx);
        } else {
            value->as.number = lua_tonumber(L, idx);
        }
        break;
    case LUA_TBOOLEAN:
        value->as.boolean = lua_toboolean(L, idx);
        break;
    case LUA_TSTRING:
        value->as.string.ptr = lua_tolstring(L, idx, &value->as.string.len);
        break;
    case LUA_TLIGHTUSERDATA:
        value->as.pointer = lua_touserdata(L, idx);
        break;
    case LUA_TNIL:
        break;
    default:
        luaL_argerror(L, idx, "unsupported value");
    }
}

static int floor_put(lua_State *L)
{
    floor_value values[16];
    int top = lua_gettop(L);
    uintptr_t sum = 0;
    int i;
    checkfloor(L);
    luaL_argcheck(L, top - 1 <= 16, 18, "at most 16 values");
    for (i = 2; i <= top; i++) {
        readvalue(L, i, &values[i - 2]);
        sum += (uintptr_t)values[i - 2].type + (uintptr_t)values[i - 2].as.integer;
    }
    floor_sink = sum;
    lua_pushboolean(L, 1);
    return 1;
}

static int floor_get1(lua_State *L)
{
    checkfloor(L);
    lua_pushinteger(L, lua_tointeger(L, 2));
    return 1;
}

static int floor_get3(lua_State *L)
{
    checkfloor(L);
    lua_pushlstring(L, "tag", 3);
    lua_pushinteger(L, lua_tointeger(L, 2));
    lua_pushnumber(L, 1.5);
    return 3;
}

static int floor_null(lua_State *L)
{
    (void)L;
    return 0;
}

static char *reserve(floor_object *floor, size_t len)
{
    if (len > floor->copy_capacity) {
        char *grown = (char *)realloc(floor->copy, len);
        if (grown == NULL) {
            return NULL;
        }
        floor->copy = grown;
        floor->copy_capacity = len;
    }
    return floor->copy;
}

static int floor_copy(lua_State *L)
{
    floor_object *floor = checkfloor(L);
    int top = lua_gettop(L);
    int i;
    for (i = 2; i <= top; i++) {
        if (lua_type(L, i) == LUA_TSTRING) {
            size_t len;
            const char *s = lua_tolstring(L, i, &len);
            char *c = reserve(floor, len);
            if (c == NULL) {
                return luaL_error(L, "out of memory");
            }
            memcpy(c, s, len);
            lua_pushlstring(L, c, len);
        } else {
            floor_value value;
            readvalue(L, i, &value);
            lua_pushvalue(L, i);
        }
    }
    return top - 1;
}

static int floor_gc(lua_State *L)
{
    floor_object *floor = checkfloor(L);
    free(floor->copy);
    floor->copy = NULL;
    floor->copy_capacity = 0;
    return 0;
}

static int floor_new(lua_State *L)
{
    floor_object *floor = (floor_object *)lua_newuserdata(L, sizeof(floor_object));
    floor->copy = NULL;
    floor->copy_capacity = 0;
    luaL_setmetatable(L, FLOOR_TYPE);
    return 1;
}

static int floor_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
    return 1;
}

/* VmRSS from /proc/self/status, in bytes. */
static int floor_rss(lua_State *L)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) {
        return luaL_error(L, "cannot open /proc/self/status");
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    if (kb < 0) {
        return luaL_error(L, "no VmRSS in /proc/self/status");
    }
    lua_pushinteger(L, (lua_Integer)kb * 1024);
    return 1;
}

int luaopen_benchfloor(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"put", floor_put},
        {"get1", floor_get1},
        {"get3", floor_get3},
        {"copy", floor_copy},
        {"null", floor_null},
        {"addmsg", floor_null},
        {"nextmsg", floor_null},
        {"setmsg", floor_null},
        {"msgcnt", floor_null},
        {"close", floor_null},
        {"newbuffer", floor_new},
        {NULL, NULL},
    };
    static const luaL_Reg functions[] = {
        {"new", floor_new},
        {"now", floor_now},
        {"rss", floor_rss},
        {"null", floor_null},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, FLOOR_TYPE)) {
        luaL_newlibtable(L, methods);
        lua_pushvalue(L, -2);
        luaL_setfuncs(L, methods, 1);
        lua_setfield(L, -2, "__index");
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, floor_gc, 1);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    luaL_newlib(L, functions);
    return 1;
}
