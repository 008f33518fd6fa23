/*
 * The identity of tables within one message: a table met twice travels
 * once, and arrives as one table.
 *
 * While a message is encoded, the tables met so far are found by address
 * in a hash set in C memory (glue_seen): looking them up allocates no Lua
 * memory, so no finalizer can run and reuse the scratch meanwhile, and
 * their addresses stay unique because every one of them is reachable from
 * the arguments. A writer's message and a reader's message span several
 * calls, between which a table may become garbage and its address another
 * table's: so what a writer or reader object must remember from one call
 * to the next is kept as Lua tables, which hold on to their tables, in a
 * registry table with weak keys (the objects), gone with the object.
 */
#include <stdlib.h>
#include <string.h>

#include "glue.h"

/* The registry key of the objects' remembered tables. */
static const char remembered_key = 0;

void glue_initseen(glue_seen *seen)
{
    seen->slots = NULL;
    seen->capacity = 0;
    seen->used = 0;
    seen->stamp = 0;
}

void glue_freeseen(glue_seen *seen)
{
    free(seen->slots);
    glue_initseen(seen);
}

/* Forgets every table: one increment, unless the stamps ran out. */
void glue_seenstart(glue_seen *seen)
{
    seen->used = 0;
    if (++seen->stamp == 0) {
        if (seen->slots != NULL) {
            memset(seen->slots, 0, seen->capacity * sizeof *seen->slots);
        }
        seen->stamp = 1;
    }
}

static size_t slotof(const glue_seen *seen, const void *table)
{
    /* table addresses are aligned: the low bits say nothing; the multiplication spreads the rest */
    uint64_t h = ((uint64_t)(uintptr_t)table >> 4) * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & (seen->capacity - 1);
}

int glue_seenfind(const glue_seen *seen, const void *table, size_t *number)
{
    size_t i;
    if (seen->used == 0) {
        return 0;
    }
    for (i = slotof(seen, table); seen->slots[i].stamp == seen->stamp; i = (i + 1) & (seen->capacity - 1)) {
        if (seen->slots[i].table == table) {
            *number = seen->slots[i].number;
            return 1;
        }
    }
    return 0;
}

static void put(glue_seen *seen, const void *table, size_t number)
{
    size_t i = slotof(seen, table);
    while (seen->slots[i].stamp == seen->stamp) {
        i = (i + 1) & (seen->capacity - 1);
    }
    seen->slots[i].table = table;
    seen->slots[i].number = number;
    seen->slots[i].stamp = seen->stamp;
    seen->used++;
}

/* Doubles the set; the current entries move over, the stale ones stay behind. */
static void grow(lua_State *L, glue_seen *seen)
{
    size_t capacity = seen->capacity == 0 ? 16 : seen->capacity * 2;
    glue_seen old = *seen;
    size_t i;
    glue_seenslot *slots = capacity <= SIZE_MAX / sizeof *slots ? calloc(capacity, sizeof *slots) : NULL;
    if (slots == NULL) {
        lua_pushfstring(L, "%s: no memory to tell the tables of a message apart",
                        mtmsg_status_name(MTMSG_OUT_OF_MEMORY));
        lua_error(L);
    }
    seen->slots = slots;
    seen->capacity = capacity;
    seen->used = 0;
    seen->stamp = 1;
    for (i = 0; i < old.capacity; i++) {
        if (old.slots[i].stamp == old.stamp) {
            put(seen, old.slots[i].table, old.slots[i].number);
        }
    }
    free(old.slots);
}

/* Adds a table not in the set; the set stays at most half full, so probes stay short. */
void glue_seenadd(lua_State *L, glue_seen *seen, const void *table, size_t number)
{
    if ((seen->used + 1) * 2 > seen->capacity) {
        grow(L, seen);
    }
    put(seen, table, number);
}

/* Pushes the registry table of what objects remember (made on first use: it allocates). */
static void pushremembered(lua_State *L)
{
    lua_pushlightuserdata(L, (void *)&remembered_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushlightuserdata(L, (void *)&remembered_key);
        lua_pushvalue(L, -2);
        lua_rawset(L, LUA_REGISTRYINDEX);
    }
}

/* Pushes the tables the object at owner remembers, or nil. */
void glue_pushtablesof(lua_State *L, int owner)
{
    pushremembered(L);
    lua_pushvalue(L, owner);
    lua_rawget(L, -2);
    lua_remove(L, -2);
}

/* The object at owner remembers the table at tables from now on (0: nothing). */
void glue_settablesof(lua_State *L, int owner, int tables)
{
    pushremembered(L);
    lua_pushvalue(L, owner);
    if (tables != 0) {
        lua_pushvalue(L, tables);
    } else {
        lua_pushnil(L);
    }
    lua_rawset(L, -3);
    lua_pop(L, 1);
}
