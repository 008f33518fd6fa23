/*
 * What the classes share: the state, their metatables, and for buffers and
 * listeners the way they describe themselves and hand out the message
 * nextmsg took.
 */
#include <inttypes.h>
#include <stdio.h>

#include "glue.h"

static const char *const classnames[GLUE_CLASSES] = {GLUE_BUFFER, GLUE_LISTENER, GLUE_WRITER, GLUE_READER};

/* Frees what the objects of a Lua state shared, when the state closes (or the module is collected). */
static int state_gc(lua_State *L)
{
    glue_state *state = glue_getstate(L);
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
    static const luaL_Reg metamethods[] = {{"__gc", state_gc}, {NULL, NULL}};
    glue_state *state = (glue_state *)compat_newuserdata(L, sizeof(glue_state));
    int idx = lua_gettop(L);
    int class;
    state->reader.handle = NULL;
    state->reader.busy = 0;
    glue_initscratch(&state->scratch);
    lua_createtable(L, GLUE_CLASSES, 1);
    for (class = 0; class < GLUE_CLASSES; class++) {
        compat_newmetatable(L, classnames[class]);
        state->classes[class] = lua_topointer(L, -1);
        lua_rawseti(L, -2, class + 1);
    }
    glue_setfuncs(L, idx, metamethods);
    lua_setmetatable(L, idx);
}

/*
 * Sets the functions into the table on top of the stack: with the state at
 * index state as their upvalue, or as plain C functions when state is 0.
 */
void glue_setfuncs(lua_State *L, int state, const luaL_Reg *functions)
{
    for (; functions->name != NULL; functions++) {
        if (state != 0) {
            lua_pushvalue(L, state);
            lua_pushcclosure(L, functions->func, 1);
        } else {
            lua_pushcfunction(L, functions->func);
        }
        lua_setfield(L, -2, functions->name);
    }
}

/* Fills the metatable of a class: the metamethods, and __index with the methods. */
void glue_newclass(lua_State *L, int state, glue_class class, const luaL_Reg *metamethods, const luaL_Reg *methods)
{
    lua_getmetatable(L, state);
    lua_rawgeti(L, -1, (int)class + 1);
    glue_setfuncs(L, state, metamethods);
    lua_newtable(L);
    glue_setfuncs(L, state, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 2);
}

/* The argument error luaL_checkudata raises, worded as this Lua version words it. */
int glue_classerror(lua_State *L, int idx, glue_class class)
{
    return compat_typeerror(L, idx, classnames[class]);
}

/* Gives the userdata on top of the stack the metatable of its class (module functions have no upvalues). */
void glue_setclass(lua_State *L, glue_class class)
{
    luaL_getmetatable(L, classnames[class]);
    lua_setmetatable(L, -2);
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

/* __tostring of buffers and listeners: mtmsg.buffer: 0x55d0c0de(name="in",id=7), or (id=7) when unnamed. */
int glue_pushdescription(lua_State *L, const char *tname, const void *handle, const char *name, size_t name_len,
                         uint64_t id)
{
    char text[64];
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, tname);
    snprintf(text, sizeof text, ": %p(", handle);
    luaL_addstring(&b, text);
    if (name != NULL) {
        luaL_addstring(&b, "name=");
        addquoted(&b, name, name_len);
        luaL_addchar(&b, ',');
    }
    snprintf(text, sizeof text, "id=%" PRIu64 ")", id);
    luaL_addstring(&b, text);
    luaL_pushresult(&b);
    return 1;
}

/*
 * The accessors pass the out value by address together with the status of
 * the call that fills it: all arguments are evaluated before the body runs,
 * so *out is read only after the library wrote it.
 */
int glue_pushflag(lua_State *L, mtmsg_status status, const bool *out)
{
    glue_check(L, status);
    lua_pushboolean(L, *out);
    return 1;
}

int glue_pushid(lua_State *L, mtmsg_status status, const uint64_t *out)
{
    glue_check(L, status);
    compat_pushint64(L, (int64_t)*out);
    return 1;
}

/* name(): the bytes as given, or nil for an unnamed object. */
int glue_pushname(lua_State *L, const char *name, size_t name_len)
{
    if (name == NULL) {
        lua_pushnil(L);
    } else {
        lua_pushlstring(L, name, name_len);
    }
    return 1;
}

/*
 * The reader nextmsg takes a message into: the state's, made on first use
 * and reused, unless a finalizer has re-entered nextmsg while the state's
 * reader pushes; then a fresh reader object on the stack, left to the
 * garbage collector, keeps the outer call's strings intact.
 */
glue_reader *glue_receiverreader(lua_State *L, glue_state *state)
{
    glue_reader *own = &state->reader;
    if (own->busy != 0) {
        glue_reader *spare = glue_pushreader(L, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW);
        glue_check(L, mtmsg_reader_limit(spare->handle, COMPAT_MAX_RESULTS));
        return spare;
    }
    if (own->handle == NULL) {
        glue_check(L, mtmsg_reader_new(MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW, &own->handle));
        glue_check(L, mtmsg_reader_limit(own->handle, COMPAT_MAX_RESULTS));
    }
    return own;
}

/* The results of nextmsg: the message's values, or nothing when there was none. */
int glue_pushmessage(lua_State *L, glue_reader *reader, mtmsg_status status)
{
    if (glue_check(L, status) != MTMSG_OK) {
        return 0;
    }
    return glue_pushvalues(L, reader, SIZE_MAX);
}
