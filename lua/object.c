/*
 * What the four classes share: the state and their metatables, the making
 * of an object, the check of every method's self, and the metamethods
 * every object has (__gc, __close, __tostring).
 */
#include "glue.h"

static const char *const classnames[GLUE_CLASSES] = {GLUE_BUFFER, GLUE_LISTENER, GLUE_WRITER, GLUE_READER};

/*
 * Frees what the objects of a Lua state shared, when the state closes (or
 * the module is collected). The state is its upvalue, not its argument:
 * called by hand with something else, it still frees only what it owns.
 */
static int state_gc(lua_State *L)
{
    glue_state *state = (glue_state *)lua_touserdata(L, lua_upvalueindex(1));
    mtmsg_reader_release(state->reader.handle);
    state->reader.handle = NULL;
    glue_freescratch(&state->scratch);
    return 0;
}

/*
 * Pushes a new state with the metatable of each class: made here, or found
 * in the registry when the module is loaded into this Lua state again. They
 * are registered under the class names (luaL_newmetatable, which also sets
 * the __name that mtmsg.type and error messages use).
 */
void glue_pushstate(lua_State *L)
{
    glue_state *state = (glue_state *)compat_newuserdata(L, sizeof(glue_state));
    int idx = lua_gettop(L);
    int class;
    state->reader.handle = NULL;
    state->reader.busy = 0;
    glue_initscratch(&state->scratch);
    lua_createtable(L, GLUE_CLASSES, 1);
    for (class = 0; class < GLUE_CLASSES; class++) {
        glue_classinfo *info = &state->classes[class];
        compat_newmetatable(L, classnames[class]);
        info->metatable = lua_topointer(L, -1);
        info->name = classnames[class];
        info->class = (glue_class)class;
        info->state = state;
        lua_rawseti(L, -2, class + 1);
    }
    lua_pushvalue(L, idx);
    lua_pushcclosure(L, state_gc, 1);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, idx);
}

/* Sets the functions into the table on top of the stack as plain C functions (the module's, which messages can carry). */
void glue_setfuncs(lua_State *L, const luaL_Reg *functions)
{
    for (; functions->name != NULL; functions++) {
        lua_pushcfunction(L, functions->func);
        lua_setfield(L, -2, functions->name);
    }
}

/* Sets the functions into the table on top of the stack with the upvalues of a method of that class (GLUE_CLASSINFO). */
static void setmethods(lua_State *L, int state, glue_class class, const luaL_Reg *functions)
{
    glue_state *s = (glue_state *)lua_touserdata(L, state);
    for (; functions->name != NULL; functions++) {
        lua_pushlightuserdata(L, &s->classes[class]);
        lua_pushvalue(L, state); /* the light userdata does not keep the state alive; this does */
        lua_pushcclosure(L, functions->func, 2);
        lua_setfield(L, -2, functions->name);
    }
}

/* Drops the object's reference: the one place that knows each class's release function. */
static void release(glue_class class, glue_object *object)
{
    switch (class) {
    case GLUE_CLASS_BUFFER:
        mtmsg_buffer_release(object->handle);
        break;
    case GLUE_CLASS_LISTENER:
        mtmsg_listener_release(object->handle);
        break;
    case GLUE_CLASS_WRITER:
        mtmsg_writer_release(object->handle);
        break;
    default:
        mtmsg_reader_release(object->handle);
        break;
    }
    object->handle = NULL;
}

/*
 * __gc and __close: releases this reference, once; the object stays a
 * released one, which tostring still describes and every method refuses
 * with an argument error. Any number of calls is fine. The one difference:
 * __close leaves a reader that reader:next is still pushing values out of
 * (a finalizer run by that pushing can close it) to __gc, since those values
 * point into the reader's memory. The collector never finds a reader busy
 * that way (it is on the stack of the call that pushes), only one stuck
 * after running out of memory while pushing, which it frees.
 */
static int releaseobject(lua_State *L, int collecting)
{
    const glue_classinfo *info = glue_getinfo(L);
    glue_object *object = glue_testobject(L, info, 1);
    if (object == NULL) {
        return glue_objecterror(L, info, 1);
    }
    if (!collecting && info->class == GLUE_CLASS_READER && ((glue_reader *)object)->busy != 0) {
        return 0;
    }
    release(info->class, object);
    return 0;
}

static int object_gc(lua_State *L)
{
    return releaseobject(L, 1);
}

static int object_close(lua_State *L)
{
    return releaseobject(L, 0);
}

/* mtmsg.writer: 0x55d0c0de; a buffer or listener adds its name and id; a released object says so. */
static int object_tostring(lua_State *L)
{
    const glue_classinfo *info = glue_getinfo(L);
    glue_object *object = glue_testobject(L, info, 1);
    if (object == NULL) {
        return glue_objecterror(L, info, 1);
    }
    if (object->handle == NULL) {
        lua_pushfstring(L, "%s: released", info->name);
        return 1;
    }
    if (info->class == GLUE_CLASS_BUFFER || info->class == GLUE_CLASS_LISTENER) {
        return glue_pushdescription(L, info, object->handle);
    }
    lua_pushfstring(L, "%s: %p", info->name, object->handle);
    return 1;
}

/*
 * Fills the metatable of a class: the metamethods every object has, and
 * __index with the methods of each table in methods (NULL-terminated).
 * __close is set for every Lua version: 5.4 and later call it for a
 * to-be-closed variable, earlier ones never do, and calling it by hand
 * releases the reference on all of them alike.
 */
void glue_newclass(lua_State *L, int state, glue_class class, const luaL_Reg *const *methods)
{
    static const luaL_Reg metamethods[] = {
        {"__gc", object_gc},
        {"__close", object_close},
        {"__tostring", object_tostring},
        {NULL, NULL},
    };
    lua_getmetatable(L, state);
    lua_rawgeti(L, -1, (int)class + 1);
    setmethods(L, state, class, metamethods);
    lua_newtable(L);
    for (; *methods != NULL; methods++) {
        setmethods(L, state, class, *methods);
    }
    lua_setfield(L, -2, "__index");
    lua_pop(L, 2);
}

/*
 * Pushes a new userdata of that class, size bytes of which a glue_object
 * comes first, its handle NULL until the caller stores the one the library
 * hands out: an error before then leaves __gc nothing to release.
 */
glue_object *glue_newobject(lua_State *L, glue_class class, size_t size)
{
    glue_object *object = (glue_object *)compat_newuserdata(L, size);
    object->handle = NULL;
    luaL_getmetatable(L, classnames[class]); /* module functions have no upvalues: by name */
    lua_setmetatable(L, -2);
    return object;
}

/* The argument error for idx, which is no object of that class, or a released one (glue_checkobject). */
int glue_objecterror(lua_State *L, const glue_classinfo *info, int idx)
{
    if (glue_testobject(L, info, idx) == NULL) {
        return compat_typeerror(L, idx, info->name);
    }
    return luaL_argerror(L, idx, lua_pushfstring(L, "%s reference released", info->name));
}
