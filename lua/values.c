/*
 * Lua values in and out of messages (SPEC section 2): nil, boolean, integer
 * (5.3 and later), float, string, light userdata and C functions without
 * upvalues. Everything else is refused before anything reaches the library,
 * so a refused message adds nothing.
 */
#include <limits.h>
#include <stdlib.h>

#include "glue.h"

static int hasupvalues(lua_State *L, int idx)
{
    if (lua_getupvalue(L, idx, 1) == NULL) {
        return 0;
    }
    lua_pop(L, 1);
    return 1;
}

/* Why a function cannot travel: only the pointer of a plain C function means the same in another state. */
static const char *functionrefusal(lua_State *L, int idx)
{
    if (!lua_iscfunction(L, idx)) {
        return "Lua function not allowed in a message";
    }
    if (lua_tocfunction(L, idx) == NULL) { /* LuaJIT's built-in fast functions */
        return "built-in function without a C pointer not allowed in a message";
    }
    return "C function with upvalues not allowed in a message";
}

static void checkvalue(lua_State *L, int idx, mtmsg_value *value)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        value->type = MTMSG_NIL;
        return;
    case LUA_TBOOLEAN:
        value->type = MTMSG_BOOLEAN;
        value->as.boolean = lua_toboolean(L, idx) != 0;
        return;
    case LUA_TNUMBER:
        if (compat_isinteger(L, idx)) {
            value->type = MTMSG_INTEGER;
            value->as.integer = (int64_t)lua_tointeger(L, idx);
        } else {
            value->type = MTMSG_NUMBER;
            value->as.number = (double)lua_tonumber(L, idx);
        }
        return;
    case LUA_TSTRING:
        /* the string stays on the stack, and so valid, until the library has copied it */
        value->type = MTMSG_STRING;
        value->as.string.ptr = lua_tolstring(L, idx, &value->as.string.len);
        return;
    case LUA_TLIGHTUSERDATA:
        value->type = MTMSG_POINTER;
        value->as.pointer = lua_touserdata(L, idx);
        return;
    case LUA_TFUNCTION: {
        lua_CFunction function = lua_tocfunction(L, idx);
        if (function != NULL && !hasupvalues(L, idx)) {
            value->type = MTMSG_CFUNCTION;
            value->as.cfunction = (mtmsg_cfunction)function;
            return;
        }
        luaL_argerror(L, idx, functionrefusal(L, idx));
        return;
    }
    default:
        luaL_argerror(L, idx, lua_pushfstring(L, "%s not allowed in a message", luaL_typename(L, idx)));
    }
}

/* Makes room for count values in scratch; it only grows, so steady traffic allocates nothing. */
static mtmsg_value *reserve(lua_State *L, glue_scratch *scratch, size_t count)
{
    if (count > scratch->capacity) {
        size_t capacity = scratch->capacity * 2 > count ? scratch->capacity * 2 : count;
        mtmsg_value *items = NULL;
        if (capacity <= SIZE_MAX / sizeof(mtmsg_value)) {
            items = realloc(scratch->items, capacity * sizeof(mtmsg_value));
        }
        if (items == NULL) {
            lua_pushfstring(L, "%s: no memory for a message of %d values", mtmsg_status_name(MTMSG_OUT_OF_MEMORY),
                            (int)count);
            lua_error(L);
        }
        scratch->items = items;
        scratch->capacity = capacity;
    }
    return scratch->items;
}

/*
 * The arguments from first to the top as one message. Between filling the
 * array and the library call nothing allocates Lua memory, so no finalizer
 * can run and touch the scratch of the same userdata.
 */
void glue_checkmessage(lua_State *L, int first, glue_scratch *scratch, glue_message *msg)
{
    int top = lua_gettop(L);
    mtmsg_value *values = msg->local;
    size_t count = top >= first ? (size_t)(top - first + 1) : 0;
    size_t i;
    if (count > GLUE_LOCAL_VALUES) {
        values = reserve(L, scratch, count);
    }
    for (i = 0; i < count; i++) {
        checkvalue(L, first + (int)i, &values[i]);
    }
    msg->values = values;
    msg->count = count;
}

void glue_freescratch(glue_scratch *scratch)
{
    free(scratch->items);
    scratch->items = NULL;
    scratch->capacity = 0;
}

static int pushvalue(lua_State *L, const mtmsg_value *value)
{
    switch (value->type) {
    case MTMSG_NIL:
        lua_pushnil(L);
        return 1;
    case MTMSG_BOOLEAN:
        lua_pushboolean(L, value->as.boolean);
        return 1;
    case MTMSG_INTEGER:
        compat_pushint64(L, value->as.integer);
        return 1;
    case MTMSG_NUMBER:
        lua_pushnumber(L, (lua_Number)value->as.number);
        return 1;
    case MTMSG_STRING:
        lua_pushlstring(L, value->as.string.ptr, value->as.string.len);
        return 1;
    case MTMSG_POINTER:
        lua_pushlightuserdata(L, value->as.pointer);
        return 1;
    case MTMSG_CFUNCTION:
        lua_pushcfunction(L, (lua_CFunction)value->as.cfunction);
        return 1;
    default:
        return 0;
    }
}

/*
 * Pushes the next count values of the reader's message (the caller knows
 * they are there). The stack is checked first, so that apart from running
 * out of memory nothing can fail while reader->busy is raised.
 */
int glue_pushvalues(lua_State *L, glue_reader *reader, size_t count)
{
    mtmsg_value chunk[GLUE_LOCAL_VALUES];
    size_t pushed = 0;
    /* INT_MAX is beyond every Lua's stack limit, so clamping keeps the check failing */
    luaL_checkstack(L, count > (size_t)INT_MAX ? INT_MAX : (int)count, "too many values in the message");
    reader->busy++;
    while (pushed < count) {
        size_t want = count - pushed < GLUE_LOCAL_VALUES ? count - pushed : GLUE_LOCAL_VALUES;
        size_t got = 0;
        size_t i;
        mtmsg_status status = mtmsg_reader_next(reader->handle, chunk, want, &got);
        if (status != MTMSG_OK || got == 0) {
            reader->busy--;
            return status != MTMSG_OK ? glue_raise(L, status) : luaL_error(L, "mtmsg: message ended early");
        }
        for (i = 0; i < got; i++) {
            if (!pushvalue(L, &chunk[i])) {
                reader->busy--;
                return luaL_error(L, "mtmsg: unknown value type %d in a message", (int)chunk[i].type);
            }
        }
        pushed += got;
    }
    reader->busy--;
    return (int)count;
}
