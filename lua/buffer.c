/*
 * The mtmsg.buffer class: one userdata per reference (handle), so nonblock
 * mode belongs to the reference, as SPEC section 3 wants.
 */
#include "glue.h"

static glue_buffer *checkbufferin(lua_State *L, const glue_state *state, int idx)
{
    glue_buffer *buffer = (glue_buffer *)glue_checkclass(L, state, idx, GLUE_CLASS_BUFFER);
    if (buffer->handle == NULL) { /* only reachable by calling __gc by hand */
        luaL_argerror(L, idx, "released " GLUE_BUFFER);
    }
    return buffer;
}

glue_buffer *glue_checkbuffer(lua_State *L, int idx)
{
    return checkbufferin(L, glue_getstate(L), idx);
}

/* The userdata comes first, so a handle the library hands out is always owned by something __gc will see. */
static glue_buffer *pushbuffer(lua_State *L)
{
    glue_buffer *buffer = (glue_buffer *)compat_newuserdata(L, sizeof(glue_buffer));
    buffer->handle = NULL;
    glue_setclass(L, GLUE_CLASS_BUFFER);
    return buffer;
}

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
    glue_buffer *buffer;
    if (lua_type(L, first) == LUA_TSTRING) {
        name = lua_tolstring(L, first++, &name_len);
    } else if (lua_isnil(L, first) && lua_gettop(L) > first) {
        first++;
    }
    size1 = glue_optsize(L, first, MTMSG_DEFAULT_SIZE1);
    size2 = glue_optsize(L, first + 1, MTMSG_DEFAULT_SIZE2);
    grow = glue_optgrow(L, first + 2);
    buffer = pushbuffer(L);
    if (listener != NULL) {
        glue_check(L, mtmsg_listener_newbuffer(listener, name, name_len, size1, size2, grow, &buffer->handle));
    } else {
        glue_check(L, mtmsg_buffer_new(name, name_len, size1, size2, grow, &buffer->handle));
    }
    return 1;
}

int glue_newbuffer(lua_State *L)
{
    return glue_newbufferat(L, NULL, 1);
}

/* mtmsg.buffer(id|name) */
int glue_findbuffer(lua_State *L)
{
    glue_key key;
    glue_buffer *buffer;
    glue_checkkey(L, 1, &key);
    buffer = pushbuffer(L);
    if (key.name != NULL) {
        glue_check(L, mtmsg_buffer_find_name(key.name, key.name_len, &buffer->handle));
    } else {
        glue_check(L, mtmsg_buffer_find_id(key.id, &buffer->handle));
    }
    return 1;
}

static int buffer_gc(lua_State *L)
{
    glue_buffer *buffer = (glue_buffer *)glue_checkclass(L, glue_getstate(L), 1, GLUE_CLASS_BUFFER);
    mtmsg_buffer_release(buffer->handle);
    buffer->handle = NULL;
    return 0;
}

static int buffer_tostring(lua_State *L)
{
    glue_buffer *buffer = glue_checkbuffer(L, 1);
    const char *name = NULL;
    size_t name_len = 0;
    uint64_t id = 0;
    glue_check(L, mtmsg_buffer_name(buffer->handle, &name, &name_len));
    glue_check(L, mtmsg_buffer_id(buffer->handle, &id));
    return glue_pushdescription(L, GLUE_BUFFER, buffer->handle, name, name_len, id);
}

static int buffer_id(lua_State *L)
{
    uint64_t id = 0;
    return glue_pushid(L, mtmsg_buffer_id(glue_checkbuffer(L, 1)->handle, &id), &id);
}

static int buffer_name(lua_State *L)
{
    glue_buffer *buffer = glue_checkbuffer(L, 1);
    const char *name = NULL;
    size_t name_len = 0;
    glue_check(L, mtmsg_buffer_name(buffer->handle, &name, &name_len));
    return glue_pushname(L, name, name_len);
}

static int buffer_addmsg(lua_State *L)
{
    glue_buffer *buffer = glue_checkbuffer(L, 1);
    glue_message msg;
    glue_checkmessage(L, 2, &msg);
    return glue_pushdone(L, mtmsg_buffer_addmsg(buffer->handle, msg.values, msg.count));
}

static int buffer_setmsg(lua_State *L)
{
    glue_buffer *buffer = glue_checkbuffer(L, 1);
    glue_message msg;
    glue_checkmessage(L, 2, &msg);
    return glue_pushdone(L, mtmsg_buffer_setmsg(buffer->handle, msg.values, msg.count));
}

/* waitaddmsg(timeout, ...): addmsg that waits for room in a fixed-size buffer instead of returning false. */
static int buffer_waitaddmsg(lua_State *L)
{
    glue_buffer *buffer = glue_checkbuffer(L, 1);
    double timeout = glue_opttimeout(L, 2);
    glue_message msg;
    glue_checkmessage(L, 3, &msg);
    return glue_pushdone(L, mtmsg_buffer_addmsg_wait(buffer->handle, msg.values, msg.count, timeout));
}

static int buffer_nextmsg(lua_State *L)
{
    glue_state *state = glue_getstate(L);
    glue_buffer *buffer = checkbufferin(L, state, 1);
    double timeout = glue_opttimeout(L, 2);
    glue_reader *reader = glue_receiverreader(L, state);
    return glue_pushmessage(L, reader, mtmsg_buffer_nextmsg(buffer->handle, reader->handle, timeout));
}

static int buffer_msgcnt(lua_State *L)
{
    glue_buffer *buffer = glue_checkbuffer(L, 1);
    size_t count = 0;
    glue_check(L, mtmsg_buffer_msgcnt(buffer->handle, &count));
    compat_pushint64(L, (int64_t)count);
    return 1;
}

static int buffer_clear(lua_State *L)
{
    return glue_pushdone(L, mtmsg_buffer_clear(glue_checkbuffer(L, 1)->handle));
}

static int buffer_close(lua_State *L)
{
    glue_check(L, mtmsg_buffer_close(glue_checkbuffer(L, 1)->handle));
    return 0;
}

static int buffer_abort(lua_State *L)
{
    glue_buffer *buffer = glue_checkbuffer(L, 1);
    glue_check(L, mtmsg_buffer_abort(buffer->handle, glue_optflag(L, 2)));
    return 0;
}

static int buffer_isabort(lua_State *L)
{
    bool flag = false;
    return glue_pushflag(L, mtmsg_buffer_isabort(glue_checkbuffer(L, 1)->handle, &flag), &flag);
}

static int buffer_nonblock(lua_State *L)
{
    glue_buffer *buffer = glue_checkbuffer(L, 1);
    glue_check(L, mtmsg_buffer_nonblock(buffer->handle, glue_optflag(L, 2)));
    return 0;
}

static int buffer_isnonblock(lua_State *L)
{
    bool flag = false;
    return glue_pushflag(L, mtmsg_buffer_isnonblock(glue_checkbuffer(L, 1)->handle, &flag), &flag);
}

/* notifier(target[, kind[, threshold]]): kind ">" notifies on added messages, "<" on removed ones. */
static int buffer_notifier(lua_State *L)
{
    static const char *const kinds[] = {">", "<", NULL};
    static const int kindcodes[] = {MTMSG_NOTIFY_ADDED, MTMSG_NOTIFY_REMOVED};
    glue_buffer *buffer = glue_checkbuffer(L, 1);
    const mtmsg_buffer *target = lua_isnil(L, 2) ? NULL : glue_checkbuffer(L, 2)->handle;
    int kind = kindcodes[luaL_checkoption(L, 3, ">", kinds)];
    int64_t threshold = 0;
    const int64_t *bound = NULL;
    if (!lua_isnoneornil(L, 4)) {
        threshold = compat_checkint64(L, 4);
        bound = &threshold;
    }
    glue_check(L, mtmsg_buffer_notifier(buffer->handle, target, kind, bound));
    return 0;
}

void glue_registerbuffer(lua_State *L, int state)
{
    static const luaL_Reg metamethods[] = {
        {"__gc", buffer_gc},
        {"__tostring", buffer_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"id", buffer_id},
        {"name", buffer_name},
        {"addmsg", buffer_addmsg},
        {"setmsg", buffer_setmsg},
        {"waitaddmsg", buffer_waitaddmsg},
        {"nextmsg", buffer_nextmsg},
        {"msgcnt", buffer_msgcnt},
        {"clear", buffer_clear},
        {"close", buffer_close},
        {"abort", buffer_abort},
        {"isabort", buffer_isabort},
        {"nonblock", buffer_nonblock},
        {"isnonblock", buffer_isnonblock},
        {"notifier", buffer_notifier},
        {NULL, NULL},
    };
    glue_newclass(L, state, GLUE_CLASS_BUFFER, metamethods, methods);
}
