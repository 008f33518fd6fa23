/*
 * Arguments the functions of several classes share. Optional arguments follow
 * Lua's convention: nil is the same as leaving the argument out.
 */
#include <float.h>

#include "glue.h"

/* abort([flag]), nonblock([flag]): without a flag they switch the mode on. */
int glue_optflag(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) ? 1 : lua_toboolean(L, idx);
}

/* NaN is no duration, size or factor at all, so it is refused rather than guessed at. */
static lua_Number checknumber(lua_State *L, int idx)
{
    lua_Number n = luaL_checknumber(L, idx);
    if (n != n) {
        luaL_argerror(L, idx, "number expected, got NaN");
    }
    return n;
}

/* Seconds and sizes: negative counts as 0. */
lua_Number glue_checknonnegative(lua_State *L, int idx)
{
    lua_Number n = checknumber(L, idx);
    return n < 0 ? 0 : n;
}

/* The timeout of the waiting calls: none or nil (and infinity) wait as long as it takes, negative polls. */
double glue_opttimeout(lua_State *L, int idx)
{
    lua_Number seconds;
    if (lua_gettop(L) < idx || lua_isnil(L, idx)) { /* the top first: nextmsg() costs one cheap call */
        return MTMSG_FOREVER;
    }
    seconds = glue_checknonnegative(L, idx);
    return seconds > DBL_MAX ? MTMSG_FOREVER : (double)seconds;
}

/*
 * A memory size in bytes: negative counts as 0; a size beyond size_t is
 * passed on as SIZE_MAX, which the library cannot allocate and reports as
 * mtmsg.error.out_of_memory. Floats are fine (sizes are about memory, and
 * through a double every Lua version reads them the same way).
 */
size_t glue_optsize(lua_State *L, int idx, size_t def)
{
    lua_Number size;
    if (lua_isnoneornil(L, idx)) {
        return def;
    }
    size = glue_checknonnegative(L, idx);
    return size >= (lua_Number)SIZE_MAX ? SIZE_MAX : (size_t)size;
}

/* The growth factor of buffers, writers and readers; the library gives its values their meaning. */
double glue_optgrow(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) ? MTMSG_DEFAULT_GROW : (double)checknumber(L, idx);
}

/* mtmsg.buffer(id|name), mtmsg.listener(id|name): a number is an id, a string a name. */
void glue_checkkey(lua_State *L, int idx, glue_key *key)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        key->name = NULL;
        key->name_len = 0;
        /* a negative id wraps to one no object has and gives unknown_object */
        key->id = (uint64_t)compat_checkint64(L, idx);
        return;
    case LUA_TSTRING:
        key->name = lua_tolstring(L, idx, &key->name_len);
        key->id = 0;
        return;
    default:
        luaL_argerror(L, idx, lua_pushfstring(L, "number or string expected, got %s", luaL_typename(L, idx)));
    }
}
