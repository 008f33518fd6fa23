/*
 * The mtmsg.writer class: builds one message piece by piece and moves it into
 * a buffer atomically. A writer belongs to the Lua state that made it.
 */
#include "glue.h"

static glue_writer *checkwriter(lua_State *L, int idx)
{
    glue_writer *writer = (glue_writer *)glue_checkclass(L, glue_getstate(L), idx, GLUE_CLASS_WRITER);
    if (writer->handle == NULL) { /* only reachable by calling __gc by hand */
        luaL_argerror(L, idx, "released " GLUE_WRITER);
    }
    return writer;
}

/* mtmsg.newwriter([size[,grow]]): size is the initial memory for the message being built. */
int glue_newwriter(lua_State *L)
{
    size_t size = glue_optsize(L, 1, MTMSG_DEFAULT_SIZE1);
    double grow = glue_optgrow(L, 2);
    glue_writer *writer = (glue_writer *)compat_newuserdata(L, sizeof(glue_writer));
    writer->handle = NULL;
    glue_setclass(L, GLUE_CLASS_WRITER);
    glue_check(L, mtmsg_writer_new(size, grow, &writer->handle));
    return 1;
}

static int writer_gc(lua_State *L)
{
    glue_writer *writer = (glue_writer *)glue_checkclass(L, glue_getstate(L), 1, GLUE_CLASS_WRITER);
    mtmsg_writer_release(writer->handle);
    writer->handle = NULL;
    return 0;
}

static int writer_tostring(lua_State *L)
{
    lua_pushfstring(L, GLUE_WRITER ": %p", (void *)checkwriter(L, 1)->handle);
    return 1;
}

/* add(...): appends the values; a refused value leaves the writer as it was. */
static int writer_add(lua_State *L)
{
    glue_writer *writer = checkwriter(L, 1);
    glue_message msg;
    glue_checkwriteradd(L, 1, 2, &msg);
    glue_check(L, mtmsg_writer_add(writer->handle, msg.values, msg.count));
    glue_keeptables(L, 1, &msg);
    return 0;
}

static int writer_addmsg(lua_State *L)
{
    glue_writer *writer = checkwriter(L, 1);
    glue_buffer *buffer = glue_checkbuffer(L, 2);
    return glue_pushdone(L, mtmsg_writer_addmsg(writer->handle, buffer->handle));
}

static int writer_setmsg(lua_State *L)
{
    glue_writer *writer = checkwriter(L, 1);
    glue_buffer *buffer = glue_checkbuffer(L, 2);
    return glue_pushdone(L, mtmsg_writer_setmsg(writer->handle, buffer->handle));
}

static int writer_clear(lua_State *L)
{
    glue_check(L, mtmsg_writer_clear(checkwriter(L, 1)->handle));
    return 0;
}

void glue_registerwriter(lua_State *L, int state)
{
    static const luaL_Reg metamethods[] = {
        {"__gc", writer_gc},
        {"__tostring", writer_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"add", writer_add},
        {"addmsg", writer_addmsg},
        {"setmsg", writer_setmsg},
        {"clear", writer_clear},
        {NULL, NULL},
    };
    glue_newclass(L, state, GLUE_CLASS_WRITER, metamethods, methods);
}
