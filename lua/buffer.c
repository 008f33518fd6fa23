/*
 * The mtmsg.buffer class: one userdata per reference (handle), so nonblock
 * mode belongs to the reference. The methods it shares with listeners are
 * in receiver.c; these are a buffer's own.
 */
#include "glue.h"

/*
 * newbuffer([name,][size1[,size2[,grow]]]) from argument first on, for
 * mtmsg.newbuffer and listener:newbuffer. A string first argument is the
 * name; so is a nil one when more arguments follow, so that
 * newbuffer(name, 256) works whether or not name is nil.
 */
int glue_newbufferat(lua_State *L, mtmsg_listener *listener, int first)
{
    const char *name = NULL;
    size_t name_len = 0;
    size_t size1, size2;
    double grow;
    glue_object *object;
    mtmsg_buffer *buffer = NULL;
    mtmsg_status status;
    if (lua_type(L, first) == LUA_TSTRING) {
        name = lua_tolstring(L, first++, &name_len);
    } else if (lua_isnil(L, first) && lua_gettop(L) > first) {
        first++;
    }
    size1 = glue_optsize(L, first, MTMSG_DEFAULT_SIZE1);
    size2 = glue_optsize(L, first + 1, MTMSG_DEFAULT_SIZE2);
    grow = glue_optgrow(L, first + 2);
    object = glue_newobject(L, GLUE_CLASS_BUFFER, sizeof(glue_object));
    if (listener != NULL) {
        status = mtmsg_listener_newbuffer(listener, name, name_len, size1, size2, grow, &buffer);
    } else {
        status = mtmsg_buffer_new(name, name_len, size1, size2, grow, &buffer);
    }
    object->handle = buffer;
    glue_check(L, status);
    return 1;
}

int glue_newbuffer(lua_State *L)
{
    return glue_newbufferat(L, NULL, 1);
}

int glue_findbuffer(lua_State *L)
{
    return glue_findreceiver(L, GLUE_CLASS_BUFFER);
}

typedef mtmsg_status (*putfunction)(mtmsg_buffer *buffer, const mtmsg_value *values, size_t count);

/* addmsg(...), setmsg(...): the arguments as one message (inlined into each, the call direct). */
static inline int putmessage(lua_State *L, putfunction put)
{
    mtmsg_buffer *buffer = glue_checkself(L);
    glue_message msg;
    glue_checkmessage(L, 2, &msg);
    return glue_pushdone(L, put(buffer, msg.values, msg.count));
}

static int buffer_addmsg(lua_State *L)
{
    return putmessage(L, mtmsg_buffer_addmsg);
}

static int buffer_setmsg(lua_State *L)
{
    return putmessage(L, mtmsg_buffer_setmsg);
}

/* waitaddmsg(timeout, ...): addmsg that waits for room in a fixed-size buffer instead of returning false. */
static int buffer_waitaddmsg(lua_State *L)
{
    mtmsg_buffer *buffer = glue_checkself(L);
    double timeout = glue_opttimeout(L, 2);
    glue_message msg;
    glue_checkmessage(L, 3, &msg);
    return glue_pushdone(L, mtmsg_buffer_addmsg_wait(buffer, msg.values, msg.count, timeout));
}

static int buffer_msgcnt(lua_State *L)
{
    size_t count = 0;
    glue_check(L, mtmsg_buffer_msgcnt(glue_checkself(L), &count));
    compat_pushint64(L, (int64_t)count);
    return 1;
}

/* notifier(target[, kind[, threshold]]): kind ">" notifies on added messages, "<" on removed ones. */
static int buffer_notifier(lua_State *L)
{
    static const char *const kinds[] = {">", "<", NULL};
    static const int kindcodes[] = {MTMSG_NOTIFY_ADDED, MTMSG_NOTIFY_REMOVED};
    mtmsg_buffer *buffer = glue_checkself(L);
    const mtmsg_buffer *target = lua_isnil(L, 2) ? NULL : glue_checkhandle(L, 2, GLUE_CLASS_BUFFER);
    int kind = kindcodes[luaL_checkoption(L, 3, ">", kinds)];
    int64_t threshold = 0;
    const int64_t *bound = NULL;
    if (!lua_isnoneornil(L, 4)) {
        threshold = compat_checkint64(L, 4);
        bound = &threshold;
    }
    glue_check(L, mtmsg_buffer_notifier(buffer, target, kind, bound));
    return 0;
}

void glue_registerbuffer(lua_State *L, int state)
{
    static const luaL_Reg methods[] = {
        {"addmsg", buffer_addmsg},
        {"setmsg", buffer_setmsg},
        {"waitaddmsg", buffer_waitaddmsg},
        {"msgcnt", buffer_msgcnt},
        {"notifier", buffer_notifier},
        {NULL, NULL},
    };
    static const luaL_Reg *const tables[] = {glue_receivermethods, methods, NULL};
    glue_newclass(L, state, GLUE_CLASS_BUFFER, tables);
}
