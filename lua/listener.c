/*
 * The mtmsg.listener class: one userdata per reference (handle), with its own
 * nonblock mode, like a buffer.
 */
#include "glue.h"

static glue_listener *checklistenerin(lua_State *L, const glue_state *state, int idx)
{
    glue_listener *listener = (glue_listener *)glue_checkclass(L, state, idx, GLUE_CLASS_LISTENER);
    if (listener->handle == NULL) { /* only reachable by calling __gc by hand */
        luaL_argerror(L, idx, "released " GLUE_LISTENER);
    }
    return listener;
}

static glue_listener *checklistener(lua_State *L, int idx)
{
    return checklistenerin(L, glue_getstate(L), idx);
}

/* The userdata comes first, so a handle the library hands out is always owned by something __gc will see. */
static glue_listener *pushlistener(lua_State *L)
{
    glue_listener *listener = (glue_listener *)compat_newuserdata(L, sizeof(glue_listener));
    listener->handle = NULL;
    glue_setclass(L, GLUE_CLASS_LISTENER);
    return listener;
}

/* mtmsg.newlistener([name]) */
int glue_newlistener(lua_State *L)
{
    size_t name_len = 0;
    const char *name = luaL_optlstring(L, 1, NULL, &name_len);
    glue_listener *listener = pushlistener(L);
    glue_check(L, mtmsg_listener_new(name, name_len, &listener->handle));
    return 1;
}

/* mtmsg.listener(id|name) */
int glue_findlistener(lua_State *L)
{
    glue_key key;
    glue_listener *listener;
    glue_checkkey(L, 1, &key);
    listener = pushlistener(L);
    if (key.name != NULL) {
        glue_check(L, mtmsg_listener_find_name(key.name, key.name_len, &listener->handle));
    } else {
        glue_check(L, mtmsg_listener_find_id(key.id, &listener->handle));
    }
    return 1;
}

static int listener_gc(lua_State *L)
{
    glue_listener *listener = (glue_listener *)glue_checkclass(L, glue_getstate(L), 1, GLUE_CLASS_LISTENER);
    mtmsg_listener_release(listener->handle);
    listener->handle = NULL;
    return 0;
}

static int listener_tostring(lua_State *L)
{
    glue_listener *listener = checklistener(L, 1);
    const char *name = NULL;
    size_t name_len = 0;
    uint64_t id = 0;
    glue_check(L, mtmsg_listener_name(listener->handle, &name, &name_len));
    glue_check(L, mtmsg_listener_id(listener->handle, &id));
    return glue_pushdescription(L, GLUE_LISTENER, listener->handle, name, name_len, id);
}

static int listener_id(lua_State *L)
{
    uint64_t id = 0;
    return glue_pushid(L, mtmsg_listener_id(checklistener(L, 1)->handle, &id), &id);
}

static int listener_name(lua_State *L)
{
    glue_listener *listener = checklistener(L, 1);
    const char *name = NULL;
    size_t name_len = 0;
    glue_check(L, mtmsg_listener_name(listener->handle, &name, &name_len));
    return glue_pushname(L, name, name_len);
}

static int listener_newbuffer(lua_State *L)
{
    return glue_newbufferat(L, checklistener(L, 1)->handle, 2);
}

static int listener_nextmsg(lua_State *L)
{
    glue_state *state = glue_getstate(L);
    glue_listener *listener = checklistenerin(L, state, 1);
    double timeout = glue_opttimeout(L, 2);
    glue_reader *reader = glue_receiverreader(L, state);
    return glue_pushmessage(L, reader, mtmsg_listener_nextmsg(listener->handle, reader->handle, timeout));
}

static int listener_clear(lua_State *L)
{
    return glue_pushdone(L, mtmsg_listener_clear(checklistener(L, 1)->handle));
}

static int listener_close(lua_State *L)
{
    glue_check(L, mtmsg_listener_close(checklistener(L, 1)->handle));
    return 0;
}

static int listener_abort(lua_State *L)
{
    glue_listener *listener = checklistener(L, 1);
    glue_check(L, mtmsg_listener_abort(listener->handle, glue_optflag(L, 2)));
    return 0;
}

static int listener_isabort(lua_State *L)
{
    bool flag = false;
    return glue_pushflag(L, mtmsg_listener_isabort(checklistener(L, 1)->handle, &flag), &flag);
}

static int listener_nonblock(lua_State *L)
{
    glue_listener *listener = checklistener(L, 1);
    glue_check(L, mtmsg_listener_nonblock(listener->handle, glue_optflag(L, 2)));
    return 0;
}

static int listener_isnonblock(lua_State *L)
{
    bool flag = false;
    return glue_pushflag(L, mtmsg_listener_isnonblock(checklistener(L, 1)->handle, &flag), &flag);
}

void glue_registerlistener(lua_State *L, int state)
{
    static const luaL_Reg metamethods[] = {
        {"__gc", listener_gc},
        {"__tostring", listener_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"id", listener_id},
        {"name", listener_name},
        {"newbuffer", listener_newbuffer},
        {"nextmsg", listener_nextmsg},
        {"clear", listener_clear},
        {"close", listener_close},
        {"abort", listener_abort},
        {"isabort", listener_isabort},
        {"nonblock", listener_nonblock},
        {"isnonblock", listener_isnonblock},
        {NULL, NULL},
    };
    glue_newclass(L, state, GLUE_CLASS_LISTENER, metamethods, methods);
}
