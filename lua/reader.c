/*
 * The mtmsg.reader class: takes one message out of a buffer or listener
 * atomically and hands its values out piece by piece. A reader belongs to
 * the Lua state that made it.
 */
#include "glue.h"

static glue_reader *checkreader(lua_State *L, int idx)
{
    glue_reader *reader = (glue_reader *)glue_checkclass(L, glue_getstate(L), idx, GLUE_CLASS_READER);
    if (reader->handle == NULL) { /* only reachable by calling __gc by hand */
        luaL_argerror(L, idx, "released " GLUE_READER);
    }
    return reader;
}

/*
 * nextmsg and clear free the strings next may still be pushing; only a
 * finalizer run by that pushing can get here meanwhile, and it gets an error
 * instead of pulling the memory from under the outer call.
 */
static glue_reader *checkidlereader(lua_State *L, int idx)
{
    glue_reader *reader = checkreader(L, idx);
    if (reader->busy != 0) {
        luaL_error(L, GLUE_READER " is in use: reader:next is still returning its values");
    }
    return reader;
}

/* A new reader object on the stack; also the spare reader of a re-entered buffer:nextmsg or listener:nextmsg. */
glue_reader *glue_pushreader(lua_State *L, size_t size, double grow)
{
    glue_reader *reader = (glue_reader *)compat_newuserdata(L, sizeof(glue_reader));
    reader->handle = NULL;
    reader->busy = 0;
    glue_setclass(L, GLUE_CLASS_READER);
    glue_check(L, mtmsg_reader_new(size, grow, &reader->handle));
    return reader;
}

/* mtmsg.newreader([size[,grow]]): size is the initial memory for the message taken. */
int glue_newreader(lua_State *L)
{
    size_t size = glue_optsize(L, 1, MTMSG_DEFAULT_SIZE1);
    glue_pushreader(L, size, glue_optgrow(L, 2));
    return 1;
}

static int reader_gc(lua_State *L)
{
    glue_reader *reader = (glue_reader *)glue_checkclass(L, glue_getstate(L), 1, GLUE_CLASS_READER);
    mtmsg_reader_release(reader->handle);
    reader->handle = NULL;
    return 0;
}

static int reader_tostring(lua_State *L)
{
    lua_pushfstring(L, GLUE_READER ": %p", (void *)checkreader(L, 1)->handle);
    return 1;
}

/* nextmsg(buffer|listener[, timeout]): true when a message was taken, false when there was none. */
static int reader_nextmsg(lua_State *L)
{
    const glue_state *state = glue_getstate(L);
    glue_reader *reader = checkidlereader(L, 1);
    glue_buffer *buffer = (glue_buffer *)glue_testclass(L, state, 2, GLUE_CLASS_BUFFER);
    glue_listener *listener = buffer == NULL ? (glue_listener *)glue_testclass(L, state, 2, GLUE_CLASS_LISTENER) : NULL;
    double timeout;
    if (buffer == NULL && listener == NULL) {
        return luaL_argerror(L, 2, lua_pushfstring(L, GLUE_BUFFER " or " GLUE_LISTENER " expected, got %s",
                                                   luaL_typename(L, 2)));
    }
    timeout = glue_opttimeout(L, 3);
    if (buffer != NULL) {
        return glue_pushdone(L, mtmsg_buffer_nextmsg(buffer->handle, reader->handle, timeout));
    }
    return glue_pushdone(L, mtmsg_listener_nextmsg(listener->handle, reader->handle, timeout));
}

/* next([count]): the next count (default 1) values of the message, fewer at its end. */
static int reader_next(lua_State *L)
{
    glue_reader *reader = checkreader(L, 1);
    lua_Integer wanted = luaL_optinteger(L, 2, 1);
    size_t remaining = 0;
    glue_check(L, mtmsg_reader_remaining(reader->handle, &remaining));
    if (wanted <= 0) {
        return 0;
    }
    if ((uint64_t)wanted < (uint64_t)remaining) {
        remaining = (size_t)wanted;
    }
    glue_checkroom(L, remaining); /* all first, so that a call that fails takes no value */
    return glue_pushreadervalues(L, 1, reader, remaining);
}

static int reader_clear(lua_State *L)
{
    glue_check(L, mtmsg_reader_clear(checkidlereader(L, 1)->handle));
    return 0;
}

void glue_registerreader(lua_State *L, int state)
{
    static const luaL_Reg metamethods[] = {
        {"__gc", reader_gc},
        {"__tostring", reader_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"nextmsg", reader_nextmsg},
        {"next", reader_next},
        {"clear", reader_clear},
        {NULL, NULL},
    };
    glue_newclass(L, state, GLUE_CLASS_READER, metamethods, methods);
}
