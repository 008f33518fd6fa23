/*
 * Lua values in and out of messages: nil, boolean, integer
 * (5.3 and later), float, string, light userdata and C functions without
 * upvalues, and tables of them (tablewalk.c, tablebuild.c). Everything else is refused
 * before anything reaches the library, so a refused message adds nothing.
 * Tables leave the loops here at the first one met, so messages without
 * them pay nothing for them.
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
        return "Lua function";
    }
    if (lua_tocfunction(L, idx) == NULL) { /* LuaJIT's built-in fast functions */
        return "built-in function without a C pointer";
    }
    return "C function with upvalues";
}

/*
 * Fills value from the value at idx and returns NULL, or returns what the
 * value is when it is not one of these: a table (the caller's business) or
 * a value that cannot travel. Inlined into the loop of checkmessage, the
 * NULL test of the values that can travel folds away.
 */
static GLUE_HOT_INLINE const char *tovalue(lua_State *L, int idx, mtmsg_value *value)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        value->type = MTMSG_NIL;
        return NULL;
    case LUA_TBOOLEAN:
        value->type = MTMSG_BOOLEAN;
        value->as.boolean = lua_toboolean(L, idx) != 0;
        return NULL;
    case LUA_TNUMBER:
        if (compat_isinteger(L, idx)) {
            value->type = MTMSG_INTEGER;
            value->as.integer = (int64_t)lua_tointeger(L, idx);
        } else {
            value->type = MTMSG_NUMBER;
            value->as.number = (double)lua_tonumber(L, idx);
        }
        return NULL;
    case LUA_TSTRING:
        /* the string stays on the stack (or in its table), and so valid, until the library has copied it */
        value->type = MTMSG_STRING;
        value->as.string.ptr = lua_tolstring(L, idx, &value->as.string.len);
        return NULL;
    case LUA_TLIGHTUSERDATA:
        value->type = MTMSG_POINTER;
        value->as.pointer = lua_touserdata(L, idx);
        return NULL;
    case LUA_TFUNCTION: {
        lua_CFunction function = lua_tocfunction(L, idx);
        if (function != NULL && !hasupvalues(L, idx)) {
            value->type = MTMSG_CFUNCTION;
            value->as.cfunction = (mtmsg_cfunction)function;
            return NULL;
        }
        return functionrefusal(L, idx);
    }
    default:
        return luaL_typename(L, idx);
    }
}

const char *glue_tovalue(lua_State *L, int idx, mtmsg_value *value)
{
    return tovalue(L, idx, value);
}

/* Makes room for count values in scratch; it only grows, so steady traffic allocates nothing. */
mtmsg_value *glue_reserve(lua_State *L, glue_scratch *scratch, size_t count)
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
 * The arguments from first to the top as one message, for the writer at
 * stack index writer (0: none); more than GLUE_LOCAL_VALUES go through the
 * state's scratch. A table hands the whole message over to tablewalk.c. Between
 * filling the array and the library call nothing allocates Lua memory, so
 * no finalizer can run and reuse the scratch.
 */
static void checkmessage(lua_State *L, int writer, int first, glue_message *msg)
{
    int top = lua_gettop(L);
    mtmsg_value *values = msg->local;
    size_t count = top >= first ? (size_t)(top - first + 1) : 0;
    size_t i;
    if (count > GLUE_LOCAL_VALUES) {
        values = glue_reserve(L, &glue_getstate(L)->scratch, count);
    }
    for (i = 0; i < count; i++) {
        if (tovalue(L, first + (int)i, &values[i]) != NULL) {
            glue_checktables(L, writer, first, first + (int)i, msg);
            return;
        }
    }
    msg->values = values;
    msg->count = count;
}

void glue_checkmessage(lua_State *L, int first, glue_message *msg)
{
    checkmessage(L, 0, first, msg);
}

/* For writer:add: its tables are numbered on from those the writer's message has, and may refer to them. */
void glue_checkwriteradd(lua_State *L, int writer, int first, glue_message *msg)
{
    msg->kept = 0;
    checkmessage(L, writer, first, msg);
}

void glue_initscratch(glue_scratch *scratch)
{
    scratch->items = NULL;
    scratch->capacity = 0;
    glue_initseen(&scratch->seen);
}

void glue_freescratch(glue_scratch *scratch)
{
    free(scratch->items);
    scratch->items = NULL;
    scratch->capacity = 0;
    glue_freeseen(&scratch->seen);
}

/* Pushes a value that is not a table; 0 for a table or an unknown type. */
static GLUE_HOT_INLINE int pushvalue(lua_State *L, const mtmsg_value *value)
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

int glue_pushvalue(lua_State *L, const mtmsg_value *value)
{
    return pushvalue(L, value);
}

/* Room on the stack for count values, or luaL_checkstack's error. */
void glue_checkroom(lua_State *L, size_t count)
{
    /* INT_MAX is beyond every Lua's stack limit, so clamping keeps the check failing */
    luaL_checkstack(L, count > (size_t)INT_MAX ? INT_MAX : (int)count, "too many values in the message");
}

/* The first chunk of glue_pushvalues and a spare reader fit the stack every C function starts with. */
typedef char glue_first_chunk_fits[GLUE_LOCAL_VALUES + 1 <= LUA_MINSTACK ? 1 : -1];

static int hastables(const mtmsg_value *chunk, size_t got)
{
    size_t i;
    for (i = 0; i < got; i++) {
        if (chunk[i].type == MTMSG_TABLE) {
            return 1;
        }
    }
    return 0;
}

/*
 * Pushes the next values of the reader's message, at most count (SIZE_MAX:
 * all that are left), and returns how many; owner is the stack index of
 * the reader object (0 for the state's reader, which always pushes whole
 * messages). They come from the library in chunks. A C function starts
 * with LUA_MINSTACK free stack slots, of which the callers use at most one
 * (a spare reader), so a message that fits the first chunk costs one
 * library call and no stack check; a longer one without tables in its
 * first chunk checks the room for all its values before the first is
 * pushed (tablebuild.c checks its own). From then on only running out of memory
 * can fail while reader->busy is raised, or a library that contradicts
 * itself. The first table met hands the rest of the message over to
 * tablebuild.c, since its entries are not values of the message.
 */
static int pushvalues(lua_State *L, glue_reader *reader, int owner, size_t count)
{
    mtmsg_value chunk[GLUE_LOCAL_VALUES];
    size_t wanted = count;
    size_t want = count < GLUE_LOCAL_VALUES ? count : GLUE_LOCAL_VALUES;
    size_t got = 0, pushed = 0, i;
    mtmsg_status status;
    if (want == 0) {
        return 0;
    }
    glue_check(L, mtmsg_reader_next(reader->handle, chunk, want, &got));
    if (got == want && count > want && !hastables(chunk, got)) {
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
                if (chunk[i].type == MTMSG_TABLE || chunk[i].type == MTMSG_TABLE_REF) {
                    count = glue_pushtables(L, reader, owner, chunk + i, got - i, wanted, pushed + i);
                    reader->busy--;
                    return (int)count;
                }
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

int glue_pushvalues(lua_State *L, glue_reader *reader, size_t count)
{
    return pushvalues(L, reader, 0, count);
}

/* For reader:next: tables shared between its calls on one message stay shared. */
int glue_pushreadervalues(lua_State *L, int owner, glue_reader *reader, size_t count)
{
    return pushvalues(L, reader, owner, count);
}
