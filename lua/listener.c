/*
 * The mtmsg.listener class: one userdata per reference (handle), with its own
 * nonblock mode, like a buffer. The methods it shares with buffers are in
 * receiver.c; newbuffer is its own.
 */
#include "glue.h"

/* mtmsg.newlistener([name]) */
int glue_newlistener(lua_State *L)
{
    size_t name_len = 0;
    const char *name = luaL_optlstring(L, 1, NULL, &name_len);
    glue_object *object = glue_newobject(L, GLUE_CLASS_LISTENER, sizeof(glue_object));
    mtmsg_listener *listener = NULL;
    mtmsg_status status = mtmsg_listener_new(name, name_len, &listener);
    object->handle = listener;
    glue_check(L, status);
    return 1;
}

int glue_findlistener(lua_State *L)
{
    return glue_findreceiver(L, GLUE_CLASS_LISTENER);
}

static int listener_newbuffer(lua_State *L)
{
    return glue_newbufferat(L, glue_checkself(L), 2);
}

void glue_registerlistener(lua_State *L, int state)
{
    static const luaL_Reg methods[] = {
        {"newbuffer", listener_newbuffer},
        {NULL, NULL},
    };
    static const luaL_Reg *const tables[] = {glue_receivermethods, methods, NULL};
    glue_newclass(L, state, GLUE_CLASS_LISTENER, tables);
}
