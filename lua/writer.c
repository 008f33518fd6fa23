/*
 * The mtmsg.writer class: builds one message piece by piece and moves it into
 * a buffer atomically. A writer belongs to the Lua state that made it.
 */
#include "glue.h"

/* mtmsg.newwriter([size[,grow]]): size is the initial memory for the message being built. */
int glue_newwriter(lua_State *L)
{
    size_t size = glue_optsize(L, 1, MTMSG_DEFAULT_SIZE1);
    double grow = glue_optgrow(L, 2);
    glue_object *object = glue_newobject(L, GLUE_CLASS_WRITER, sizeof(glue_object));
    mtmsg_writer *writer = NULL;
    mtmsg_status status = mtmsg_writer_new(size, grow, &writer);
    object->handle = writer;
    glue_check(L, status);
    return 1;
}

/* add(...): appends the values; a refused value leaves the writer as it was. */
static int writer_add(lua_State *L)
{
    mtmsg_writer *writer = glue_checkself(L);
    glue_message msg;
    glue_checkwriteradd(L, 1, 2, &msg);
    glue_check(L, mtmsg_writer_add(writer, msg.values, msg.count));
    glue_keeptables(L, 1, &msg);
    return 0;
}

static int writer_addmsg(lua_State *L)
{
    mtmsg_writer *writer = glue_checkself(L);
    return glue_pushdone(L, mtmsg_writer_addmsg(writer, glue_checkhandle(L, 2, GLUE_CLASS_BUFFER)));
}

static int writer_setmsg(lua_State *L)
{
    mtmsg_writer *writer = glue_checkself(L);
    return glue_pushdone(L, mtmsg_writer_setmsg(writer, glue_checkhandle(L, 2, GLUE_CLASS_BUFFER)));
}

static int writer_clear(lua_State *L)
{
    glue_check(L, mtmsg_writer_clear(glue_checkself(L)));
    return 0;
}

void glue_registerwriter(lua_State *L, int state)
{
    static const luaL_Reg methods[] = {
        {"add", writer_add},
        {"addmsg", writer_addmsg},
        {"setmsg", writer_setmsg},
        {"clear", writer_clear},
        {NULL, NULL},
    };
    static const luaL_Reg *const tables[] = {methods, NULL};
    glue_newclass(L, state, GLUE_CLASS_WRITER, tables);
}
