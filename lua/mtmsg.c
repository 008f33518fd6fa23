/*
 * The mtmsg Lua module: require "mtmsg" returns this table and sets no
 * globals. Everything process-wide lives in libmtmsg; the module keeps no
 * state of its own, so any number of Lua states on any threads may load it.
 */
#include "glue.h"

/* abort([flag]): aborts (or with false un-aborts) every buffer and listener of the process. */
static int module_abort(lua_State *L)
{
    glue_check(L, mtmsg_abort(glue_optflag(L, 1)));
    return 0;
}

static int module_isabort(lua_State *L)
{
    lua_pushboolean(L, mtmsg_isabort());
    return 1;
}

static int module_time(lua_State *L)
{
    lua_pushnumber(L, (lua_Number)mtmsg_time());
    return 1;
}

/* sleep(seconds): wakes early with operation_aborted when the process is aborted. */
static int module_sleep(lua_State *L)
{
    glue_check(L, mtmsg_sleep((double)glue_checknonnegative(L, 1)));
    return 0;
}

/*
 * type(x): the class name of our objects and of any userdata whose metatable
 * is registered under its __name (as luaL_newmetatable does), else type(x).
 */
static int module_type(lua_State *L)
{
    luaL_checkany(L, 1);
    if (lua_type(L, 1) == LUA_TUSERDATA && lua_getmetatable(L, 1)) {
        lua_getfield(L, -1, "__name");
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
            lua_rawget(L, LUA_REGISTRYINDEX);
            if (lua_rawequal(L, -1, -3)) {
                lua_pop(L, 1);
                return 1;
            }
        }
    }
    lua_pushstring(L, luaL_typename(L, 1));
    return 1;
}

GLUE_EXPORT int luaopen_mtmsg(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"newbuffer", glue_newbuffer},
        {"buffer", glue_findbuffer},
        {"newlistener", glue_newlistener},
        {"listener", glue_findlistener},
        {"newwriter", glue_newwriter},
        {"newreader", glue_newreader},
        {"abort", module_abort},
        {"isabort", module_isabort},
        {"time", module_time},
        {"sleep", module_sleep},
        {"type", module_type},
        {NULL, NULL},
    };
    int state;
    compat_checkversion(L);
    glue_pushstate(L);
    state = lua_gettop(L);
    glue_registerbuffer(L, state);
    glue_registerlistener(L, state);
    glue_registerwriter(L, state);
    glue_registerreader(L, state);

    /* plain C functions, which a message can carry (mtmsg.time, say) */
    lua_newtable(L);
    glue_setfuncs(L, functions);
    glue_pusherrortable(L);
    lua_setfield(L, -2, "error");
    lua_pushstring(L, mtmsg_version());
    lua_setfield(L, -2, "_VERSION");
    lua_pushfstring(L, "mtmsg %s: in-memory message buffers between threads with their own Lua states, built for %s",
                    mtmsg_version(), COMPAT_LUA_NAME);
    lua_setfield(L, -2, "_INFO");
    return 1;
}
