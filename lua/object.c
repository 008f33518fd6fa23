/*
 * What the classes share: their metatables, and for buffers and listeners the
 * way they describe themselves and hand out the message nextmsg took.
 */
#include <inttypes.h>
#include <stdio.h>

#include "glue.h"

/* A metatable registered under tname (so __name is set) whose __index holds the methods. */
void glue_newclass(lua_State *L, const char *tname, const luaL_Reg *metamethods, const luaL_Reg *methods)
{
    compat_newmetatable(L, tname);
    compat_setfuncs(L, metamethods);
    lua_newtable(L);
    compat_setfuncs(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
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
 * The reader nextmsg takes a message into: the userdata's own, made on first
 * use and reused, unless a finalizer has re-entered nextmsg on the same
 * userdata while it pushes; then a fresh reader object on the stack, left
 * to the garbage collector, keeps the outer call's strings intact.
 */
glue_reader *glue_receiverreader(lua_State *L, glue_reader *own)
{
    if (own->busy != 0) {
        return glue_pushreader(L, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW);
    }
    if (own->handle == NULL) {
        glue_check(L, mtmsg_reader_new(MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW, &own->handle));
    }
    return own;
}

/* The results of nextmsg: the message's values, or nothing when there was none. */
int glue_pushmessage(lua_State *L, glue_reader *reader, mtmsg_status status)
{
    size_t remaining = 0;
    if (glue_check(L, status) != MTMSG_OK) {
        return 0;
    }
    glue_check(L, mtmsg_reader_remaining(reader->handle, &remaining));
    return glue_pushvalues(L, reader, remaining);
}
