/*
 * The mtmsg.reader class: takes one message out of a buffer or listener
 * atomically and hands its values out piece by piece. A reader belongs to
 * the Lua state that made it.
 */
#include "glue.h"

static glue_reader *checkreader(lua_State *L)
{
    return (glue_reader *)glue_checkobject(L, glue_getinfo(L), 1);
}

/*
 * nextmsg and clear free the strings next may still be pushing; only a
 * finalizer run by that pushing can get here meanwhile, and it gets an error
 * instead of pulling the memory from under the outer call.
 */
static glue_reader *checkidlereader(lua_State *L)
{
    glue_reader *reader = checkreader(L);
    if (reader->busy != 0) {
        luaL_error(L, GLUE_READER " is in use: reader:next is still returning its values");
    }
    return reader;
}

/* A new reader object on the stack; also the spare reader of a re-entered buffer:nextmsg or listener:nextmsg. */
glue_reader *glue_pushreader(lua_State *L, size_t size, double grow)
{
    glue_reader *reader = (glue_reader *)glue_newobject(L, GLUE_CLASS_READER, sizeof(glue_reader));
    mtmsg_reader *handle = NULL;
    mtmsg_status status;
    reader->busy = 0;
    status = mtmsg_reader_new(size, grow, &handle);
    reader->handle = handle;
    glue_check(L, status);
    return reader;
}

/* mtmsg.newreader([size[,grow]]): size is the initial memory for the message taken. */
int glue_newreader(lua_State *L)
{
    size_t size = glue_optsize(L, 1, MTMSG_DEFAULT_SIZE1);
    glue_pushreader(L, size, glue_optgrow(L, 2));
    return 1;
}

/* nextmsg(buffer|listener[, timeout]): true when a message was taken, false when there was none. */
static int reader_nextmsg(lua_State *L)
{
    glue_reader *reader = checkidlereader(L);
    const glue_classinfo *classes = glue_getstate(L)->classes;
    const void *metatable = glue_metatable(L, 2);
    int frombuffer = metatable == classes[GLUE_CLASS_BUFFER].metatable;
    void *from;
    double timeout;
    if (!frombuffer && metatable != classes[GLUE_CLASS_LISTENER].metatable) {
        return luaL_argerror(L, 2, lua_pushfstring(L, GLUE_BUFFER " or " GLUE_LISTENER " expected, got %s",
                                                   luaL_typename(L, 2)));
    }
    from = glue_checkhandle(L, 2, frombuffer ? GLUE_CLASS_BUFFER : GLUE_CLASS_LISTENER); /* not released */
    timeout = glue_opttimeout(L, 3);
    return glue_pushdone(L, frombuffer ? mtmsg_buffer_nextmsg(from, reader->handle, timeout)
                                       : mtmsg_listener_nextmsg(from, reader->handle, timeout));
}

/* next([count]): the next count (default 1) values of the message, fewer at its end. */
static int reader_next(lua_State *L)
{
    glue_reader *reader = checkreader(L);
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
    glue_check(L, mtmsg_reader_clear(checkidlereader(L)->handle));
    return 0;
}

void glue_registerreader(lua_State *L, int state)
{
    static const luaL_Reg methods[] = {
        {"nextmsg", reader_nextmsg},
        {"next", reader_next},
        {"clear", reader_clear},
        {NULL, NULL},
    };
    static const luaL_Reg *const tables[] = {methods, NULL};
    glue_newclass(L, state, GLUE_CLASS_READER, tables);
}
