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
 * The arguments from first to the top as one message; more than
 * GLUE_LOCAL_VALUES go through the state's scratch. Between filling the
 * array and the library call nothing allocates Lua memory, so no finalizer
 * can run and reuse the scratch.
 */
void glue_checkmessage(lua_State *L, int first, glue_message *msg)
{
    int top = lua_gettop(L);
    mtmsg_value *values = msg->local;
    size_t count = top >= first ? (size_t)(top - first + 1) : 0;
    size_t i;
    if (count > GLUE_LOCAL_VALUES) {
        values = reserve(L, &glue_getstate(L)->scratch, count);
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

/* Room on the stack for count values, or luaL_checkstack's error. */
void glue_checkroom(lua_State *L, size_t count)
{
    /* INT_MAX is beyond every Lua's stack limit, so clamping keeps the check failing */
    luaL_checkstack(L, count > (size_t)INT_MAX ? INT_MAX : (int)count, "too many values in the message");
}

/* The first chunk of glue_pushvalues and a spare reader fit the stack every C function starts with. */
typedef char glue_first_chunk_fits[GLUE_LOCAL_VALUES + 1 <= LUA_MINSTACK ? 1 : -1];

/*
 * Pushes the next values of the reader's message, at most count (SIZE_MAX:
 * all that are left), and returns how many. They come from the library in
 * chunks. A C function starts with LUA_MINSTACK free stack slots, of which
 * the callers use at most one (a spare reader), so a message that fits the
 * first chunk costs one library call and no stack check; a longer one
 * checks the room for all its values before the first is pushed. From
 * then on only running out of memory can fail while reader->busy is raised,
 * or a library that contradicts itself.
 */
int glue_pushvalues(lua_State *L, glue_reader *reader, size_t count)
{
    mtmsg_value chunk[GLUE_LOCAL_VALUES];
    size_t want = count < GLUE_LOCAL_VALUES ? count : GLUE_LOCAL_VALUES;
    size_t got = 0, pushed = 0, i;
    mtmsg_status status;
    if (want == 0) {
        return 0;
    }
    glue_check(L, mtmsg_reader_next(reader->handle, chunk, want, &got));
    if (got == want && count > want) {
        size_t rest = 0;
        glue_check(L, mtmsg_reader_remaining(reader->handle, &rest));
        count = got + (rest < count - got ? rest : count - got);
        glue_checkroom(L, count);
    } else {
        count = got;
    }
    reader->busy++;
    for (;;) {
        for (i = 0; i < got; i++) {
            if (!pushvalue(L, &chunk[i])) {
                reader->busy--;
                lua_pop(L, (int)(pushed + i)); /* the error message needs the room */
                return luaL_error(L, "mtmsg: unknown value type %d in a message", (int)chunk[i].type);
            }
        }
        pushed += got;
        if (pushed == count) {
            break;
        }
        want = count - pushed < GLUE_LOCAL_VALUES ? count - pushed : GLUE_LOCAL_VALUES;
        status = mtmsg_reader_next(reader->handle, chunk, want, &got);
        if (status != MTMSG_OK || got == 0) {
            reader->busy--;
            lua_pop(L, (int)pushed);
            return status != MTMSG_OK ? glue_raise(L, status) : luaL_error(L, "mtmsg: message ended early");
        }
    }
    reader->busy--;
    return (int)count;
}
