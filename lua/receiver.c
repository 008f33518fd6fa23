/*
 * What buffers and listeners share: the methods that behave the same for
 * both (id, name, nextmsg, clear, close, abort, isabort, nonblock,
 * isnonblock), lookup by id or name, and how they describe themselves. Each
 * class's metatable gets its own closures of these functions (upvalue 1
 * says the class), so a buffer's method still refuses a listener as self.
 */
#include <inttypes.h>
#include <stdio.h>

#include "glue.h"

/* A method's self: its handle, and typed as the method's class says (the other one NULL). */
typedef struct receiver {
    const glue_classinfo *info;
    void *handle;
    mtmsg_buffer *buffer;
    mtmsg_listener *listener;
} receiver;

static receiver checkreceiver(lua_State *L)
{
    receiver self;
    self.info = glue_getinfo(L);
    self.handle = glue_checkobject(L, self.info, 1)->handle;
    self.buffer = self.info->class == GLUE_CLASS_BUFFER ? (mtmsg_buffer *)self.handle : NULL;
    self.listener = self.buffer == NULL ? (mtmsg_listener *)self.handle : NULL;
    return self;
}

/* mtmsg.buffer(id|name), mtmsg.listener(id|name) */
int glue_findreceiver(lua_State *L, glue_class class)
{
    glue_key key;
    glue_object *object;
    mtmsg_buffer *buffer = NULL;
    mtmsg_listener *listener = NULL;
    mtmsg_status status;
    glue_checkkey(L, 1, &key);
    object = glue_newobject(L, class, sizeof(glue_object));
    if (class == GLUE_CLASS_BUFFER) {
        status = key.name != NULL ? mtmsg_buffer_find_name(key.name, key.name_len, &buffer)
                                  : mtmsg_buffer_find_id(key.id, &buffer);
        object->handle = buffer;
    } else {
        status = key.name != NULL ? mtmsg_listener_find_name(key.name, key.name_len, &listener)
                                  : mtmsg_listener_find_id(key.id, &listener);
        object->handle = listener;
    }
    glue_check(L, status);
    return 1;
}

/* The name in double quotes, with \, " and NUL escaped so that any bytes read back unambiguously. */
static void addquoted(luaL_Buffer *b, const char *name, size_t name_len)
{
    size_t i;
    luaL_addchar(b, '"');
    for (i = 0; i < name_len; i++) {
        switch (name[i]) {
        case '\\':
            luaL_addlstring(b, "\\\\", 2);
            break;
        case '"':
            luaL_addlstring(b, "\\\"", 2);
            break;
        case '\0':
            luaL_addlstring(b, "\\0", 2);
            break;
        default:
            luaL_addchar(b, name[i]);
        }
    }
    luaL_addchar(b, '"');
}

/* What names a buffer or listener; it still answers after close(). */
typedef struct identity {
    const char *name; /* NULL: unnamed */
    size_t name_len;
    uint64_t id;
} identity;

static identity getidentity(lua_State *L, glue_class class, void *handle)
{
    identity who = {NULL, 0, 0};
    if (class == GLUE_CLASS_BUFFER) {
        glue_check(L, mtmsg_buffer_name(handle, &who.name, &who.name_len));
        glue_check(L, mtmsg_buffer_id(handle, &who.id));
    } else {
        glue_check(L, mtmsg_listener_name(handle, &who.name, &who.name_len));
        glue_check(L, mtmsg_listener_id(handle, &who.id));
    }
    return who;
}

/* __tostring of buffers and listeners: mtmsg.buffer: 0x55d0c0de(name="in",id=7), or (id=7) when unnamed. */
int glue_pushdescription(lua_State *L, const glue_classinfo *info, void *handle)
{
    identity who = getidentity(L, info->class, handle);
    char text[64];
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, info->name);
    snprintf(text, sizeof text, ": %p(", handle);
    luaL_addstring(&b, text);
    if (who.name != NULL) {
        luaL_addstring(&b, "name=");
        addquoted(&b, who.name, who.name_len);
        luaL_addchar(&b, ',');
    }
    snprintf(text, sizeof text, "id=%" PRIu64 ")", who.id);
    luaL_addstring(&b, text);
    luaL_pushresult(&b);
    return 1;
}

static int receiver_id(lua_State *L)
{
    receiver self = checkreceiver(L);
    compat_pushint64(L, (int64_t)getidentity(L, self.info->class, self.handle).id);
    return 1;
}

/* name(): the bytes as given, or nil for an unnamed object. */
static int receiver_name(lua_State *L)
{
    receiver self = checkreceiver(L);
    identity who = getidentity(L, self.info->class, self.handle);
    if (who.name == NULL) {
        lua_pushnil(L);
    } else {
        lua_pushlstring(L, who.name, who.name_len);
    }
    return 1;
}

/*
 * The reader nextmsg takes a message into: the state's, made on first use
 * and reused, unless a finalizer has re-entered nextmsg while the state's
 * reader pushes; then a fresh reader object on the stack, left to the
 * garbage collector, keeps the outer call's strings intact.
 */
static glue_reader *takingreader(lua_State *L, glue_state *state)
{
    glue_reader *own = &state->reader;
    if (own->busy != 0) {
        glue_reader *spare = glue_pushreader(L, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW);
        glue_check(L, mtmsg_reader_limit(spare->handle, COMPAT_MAX_RESULTS));
        return spare;
    }
    if (own->handle == NULL) {
        mtmsg_reader *handle = NULL;
        mtmsg_status status = mtmsg_reader_new(MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW, &handle);
        own->handle = handle;
        glue_check(L, status);
        glue_check(L, mtmsg_reader_limit(handle, COMPAT_MAX_RESULTS));
    }
    return own;
}

/* nextmsg([timeout]): the values of the message taken, or nothing when there was none. */
static int receiver_nextmsg(lua_State *L)
{
    receiver self = checkreceiver(L);
    double timeout = glue_opttimeout(L, 2);
    glue_reader *reader = takingreader(L, self.info->state);
    mtmsg_status status = self.buffer != NULL ? mtmsg_buffer_nextmsg(self.buffer, reader->handle, timeout)
                                              : mtmsg_listener_nextmsg(self.listener, reader->handle, timeout);
    if (glue_checkresult(L, status) != MTMSG_OK) {
        return 0;
    }
    return glue_pushvalues(L, reader, SIZE_MAX);
}

static int receiver_clear(lua_State *L)
{
    receiver self = checkreceiver(L);
    return glue_pushdone(L, self.buffer != NULL ? mtmsg_buffer_clear(self.buffer) : mtmsg_listener_clear(self.listener));
}

static int receiver_close(lua_State *L)
{
    receiver self = checkreceiver(L);
    glue_check(L, self.buffer != NULL ? mtmsg_buffer_close(self.buffer) : mtmsg_listener_close(self.listener));
    return 0;
}

/* abort([flag]), nonblock([flag]): no flag or nil switches the mode on. */
static int receiver_abort(lua_State *L)
{
    receiver self = checkreceiver(L);
    bool flag = glue_optflag(L, 2) != 0;
    glue_check(L, self.buffer != NULL ? mtmsg_buffer_abort(self.buffer, flag) : mtmsg_listener_abort(self.listener, flag));
    return 0;
}

static int receiver_nonblock(lua_State *L)
{
    receiver self = checkreceiver(L);
    bool flag = glue_optflag(L, 2) != 0;
    glue_check(L, self.buffer != NULL ? mtmsg_buffer_nonblock(self.buffer, flag)
                                      : mtmsg_listener_nonblock(self.listener, flag));
    return 0;
}

/* The result of isabort and isnonblock: the flag, read after the call that wrote it has been checked. */
static int pushflag(lua_State *L, mtmsg_status status, const bool *flag)
{
    glue_check(L, status);
    lua_pushboolean(L, *flag);
    return 1;
}

static int receiver_isabort(lua_State *L)
{
    receiver self = checkreceiver(L);
    bool flag = false;
    return pushflag(L, self.buffer != NULL ? mtmsg_buffer_isabort(self.buffer, &flag)
                                           : mtmsg_listener_isabort(self.listener, &flag), &flag);
}

static int receiver_isnonblock(lua_State *L)
{
    receiver self = checkreceiver(L);
    bool flag = false;
    return pushflag(L, self.buffer != NULL ? mtmsg_buffer_isnonblock(self.buffer, &flag)
                                           : mtmsg_listener_isnonblock(self.listener, &flag), &flag);
}

const luaL_Reg glue_receivermethods[] = {
    {"id", receiver_id},
    {"name", receiver_name},
    {"nextmsg", receiver_nextmsg},
    {"clear", receiver_clear},
    {"close", receiver_close},
    {"abort", receiver_abort},
    {"isabort", receiver_isabort},
    {"nonblock", receiver_nonblock},
    {"isnonblock", receiver_isnonblock},
    {NULL, NULL},
};
