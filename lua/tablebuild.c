/*
 * Message entries into Lua tables: the rest of nextmsg and reader:next
 * once values.c meets a table among the entries it reads.
 *
 * Entries come from the reader a chunk at a time and are placed as they
 * come: a new table is made with room for its array part and its pairs
 * (so an array arrives as an array part), pushed, and opens a frame; each
 * entry after it goes into the innermost open frame (an array value at
 * its index, a key left on the stack until its value comes), and a frame
 * whose entries are all there closes, its table being in turn the entry of
 * the frame below. A frame takes at most two stack slots (its table and a
 * pending key), and the library refuses tables nested deeper than
 * MTMSG_MAX_DEPTH, so neither the C stack nor the Lua stack grows beyond
 * that. Every table made is kept in a list, by number, for the references
 * to it (shared tables, cycles).
 *
 * A chunk never asks for more entries than the tables open still owe plus
 * one per value still wanted, so reader:next(n) never takes entries of a
 * value beyond its n. A reader object's list outlives the call: the
 * tables its earlier calls made for the same message stay the same tables.
 */
#include <string.h>

#include "glue.h"

typedef struct frame {
    int table;   /* stack index of the table */
    size_t array; /* array values still to come */
    size_t pairs; /* keys and values still to come: even when a key comes next */
    size_t next;  /* the index of the next array value */
} frame;

typedef struct build {
    lua_State *L;
    glue_reader *reader;
    int list;      /* stack index of the tables made, by number + 1 */
    size_t tables; /* the number of the next table */
    size_t wanted; /* values asked for */
    size_t begun;  /* values begun, those values.c pushed included */
    size_t owed;   /* entries the open frames still expect and no chunk held */
    int depth;
    frame frames[MTMSG_MAX_DEPTH];
} build;

/* Stack slots a value takes at most while it is built: two per frame, the list, and a few to spare. */
#define BUILD_ROOM (2 * MTMSG_MAX_DEPTH + 8)

/* Raised from within pushing: the reader is not busy any more (values.c lowers it on success). */
static int fail(build *b, const char *what)
{
    b->reader->busy--;
    return luaL_error(b->L, "mtmsg: %s", what);
}

/* Room for one more value of the message and the tables in it. */
static void room(build *b)
{
    if (!lua_checkstack(b->L, BUILD_ROOM)) {
        fail(b, "no stack room for the values of a message");
    }
}

static int sizehint(size_t n)
{
    return n > (size_t)INT_MAX ? INT_MAX : (int)n;
}

static void placetop(build *b);

/* The list of the tables, and the number of the first one the entries in rest hold or refer to. */
static void startlist(build *b, int owner, const mtmsg_value *rest, size_t count)
{
    lua_State *L = b->L;
    size_t read = 0, i;
    if (owner == 0) { /* nextmsg: a whole message, its first table among the entries */
        lua_newtable(L);
        b->list = lua_gettop(L);
        b->tables = 0;
        return;
    }
    glue_check(L, mtmsg_reader_tables(b->reader->handle, &read));
    for (i = 0; i < count; i++) {
        read -= rest[i].type == MTMSG_TABLE;
    }
    b->tables = read;
    if (read == 0) { /* the message's first table: a new list */
        lua_newtable(L);
        glue_settablesof(L, owner, lua_gettop(L));
    } else {
        glue_pushtablesof(L, owner);
        if (!lua_istable(L, -1)) {
            fail(b, "reader:next lost the tables of its message");
        }
    }
    b->list = lua_gettop(L);
}

/* A new table, on top of the stack: in the list, and a frame when entries follow. */
static void newtable(build *b, const mtmsg_table *counts)
{
    lua_State *L = b->L;
    lua_createtable(L, sizehint(counts->array), sizehint(counts->pairs));
    lua_pushvalue(L, -1);
    compat_rawsetindex(L, b->list, ++b->tables);
    if (counts->array == 0 && counts->pairs == 0) {
        placetop(b);
        return;
    }
    if (b->depth == MTMSG_MAX_DEPTH) {
        fail(b, "tables nested too deep in a message");
    }
    b->frames[b->depth].table = lua_gettop(L);
    b->frames[b->depth].array = counts->array;
    b->frames[b->depth].pairs = 2 * counts->pairs;
    b->frames[b->depth].next = 1;
    b->depth++;
    b->owed += counts->array + 2 * counts->pairs;
}

/* The value on top of the stack is complete: into the open table it belongs to, or a value of the message. */
static void placetop(build *b)
{
    lua_State *L = b->L;
    while (b->depth > 0) {
        frame *f = &b->frames[b->depth - 1];
        if (f->array > 0) {
            f->array--;
            compat_rawsetindex(L, f->table, f->next++);
        } else if (f->pairs-- % 2 == 0) {
            return; /* a key: it waits on the stack for its value */
        } else {
            lua_rawset(L, f->table);
        }
        if (f->array > 0 || f->pairs > 0) {
            return;
        }
        b->depth--; /* its table, now on top, is an entry of the frame below */
    }
}

static void take(build *b, const mtmsg_value *entry)
{
    lua_State *L = b->L;
    switch (entry->type) {
    case MTMSG_TABLE:
        newtable(b, &entry->as.table);
        return;
    case MTMSG_TABLE_REF:
        if (entry->as.table_ref >= b->tables) {
            fail(b, "a message refers to a table not before it");
        }
        lua_pushnumber(L, (lua_Number)entry->as.table_ref + 1);
        lua_rawget(L, b->list);
        break;
    default:
        if (!glue_pushvalue(L, entry)) {
            fail(b, "unknown value type in a message");
        }
    }
    placetop(b);
}

/*
 * The entries to ask for next: what the open tables owe, plus one for each
 * value still wanted (a value is at least one entry), at most a chunk.
 */
static size_t nextwant(const build *b)
{
    size_t want = b->owed < GLUE_LOCAL_VALUES ? b->owed : GLUE_LOCAL_VALUES;
    size_t values = b->wanted - b->begun;
    return want + (values < GLUE_LOCAL_VALUES - want ? values : GLUE_LOCAL_VALUES - want);
}

/*
 * Goes on pushing from rest (count entries, the first a table or a
 * reference) after values.c pushed `pushed` values, up to `wanted` values;
 * returns how many values are pushed then, all of them, in order, on top of
 * the stack. reader->busy is raised by the caller and, on an error raised
 * here, lowered.
 */
int glue_pushtables(lua_State *L, glue_reader *reader, int owner, const mtmsg_value *rest, size_t count,
                    size_t wanted, size_t pushed)
{
    mtmsg_value chunk[GLUE_LOCAL_VALUES];
    size_t at = 0, got = count;
    build b;
    memcpy(chunk, rest, count * sizeof *chunk);
    b.L = L;
    b.reader = reader;
    b.wanted = wanted;
    b.begun = pushed;
    b.owed = 0;
    b.depth = 0;
    room(&b);
    startlist(&b, owner, chunk, got);
    for (;;) {
        if (at == got) {
            size_t want = nextwant(&b);
            if (want == 0) {
                break;
            }
            mtmsg_status status = mtmsg_reader_next(reader->handle, chunk, want, &got);
            if (status != MTMSG_OK) {
                reader->busy--;
                glue_raise(L, status);
            }
            at = 0;
            if (got == 0) {
                if (b.depth > 0) {
                    fail(&b, "message ended inside a table");
                }
                break;
            }
        }
        if (b.depth == 0) {
            if (b.begun == wanted) {
                break;
            }
            b.begun++;
            room(&b);
        } else {
            b.owed--; /* the entry the innermost open table waits for */
        }
        take(&b, &chunk[at++]);
    }
    lua_remove(L, b.list);
    return (int)b.begun;
}
