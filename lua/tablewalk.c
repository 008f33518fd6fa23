/*
 * Lua tables into message entries (the flat form of MTMSG_TABLE in
 * mtmsg.h): the walk behind addmsg, setmsg, waitaddmsg and writer:add once
 * values.c meets a table among the arguments.
 *
 * The walk is a loop over an explicit stack of levels, one per table being
 * walked, at most MTMSG_MAX_DEPTH deep: the C stack does not grow with the
 * nesting. A level keeps its table and lua_next's key on the Lua stack,
 * the key's value above them while it is encoded; the keys of the levels
 * are the path that a refusal names. Each table's entries come in
 * lua_next's order, which is that of the array part first: keys 1, 2, ...
 * go out as the table's array values for as long as they follow each
 * other, everything after as key/value pairs.
 *
 * Nothing here allocates Lua memory once the entries are being written
 * (see values.c): what the walk needs (stack room, a writer's tables) is
 * made first, and a table met again is found in the state's seen set
 * (identity.c). Refusals raise argument errors before the library is
 * called, so a refused message adds nothing.
 */
#include <stdio.h>
#include <string.h>

#include "glue.h"

/* What the current pair of a level waits for. */
enum phase {
    PHASE_NEXT,  /* lua_next; nothing of the pair on the stack yet */
    PHASE_VALUE, /* its key is done (a table key: being walked), its value comes */
    PHASE_POP    /* its value is done (a table value: being walked), then it is popped */
};

typedef struct level {
    int table;          /* stack index of the table */
    int key;            /* stack index of its current key */
    size_t header;      /* its MTMSG_TABLE entry */
    lua_Integer expect; /* the key that continues its array part; 0 once pairs have begun */
    enum phase phase;
} level;

typedef struct walk {
    lua_State *L;
    glue_scratch *scratch;
    size_t count;    /* entries written */
    int arg;         /* the argument being walked */
    size_t tables;   /* the number of the next new table */
    int earlier;     /* writer:add: stack index of the tables of its earlier calls, else 0 */
    int kept;        /* writer:add: stack index of the map this call's tables go into, else 0 */
    int depth;
    level levels[MTMSG_MAX_DEPTH];
} walk;

/* Stack slots the walk takes at most: a key and its value per level, and a few to spare. */
#define WALK_ROOM (2 * MTMSG_MAX_DEPTH + 8)

static mtmsg_value *emit(walk *w)
{
    mtmsg_value *items = glue_reserve(w->L, w->scratch, w->count + 1);
    return &items[w->count++];
}

/* The key at idx in a path: .name after the first step when it is a name, else [key]. */
static void pushstep(lua_State *L, int idx, int first)
{
    size_t len, i;
    const char *s;
    char quoted[80];
    size_t n = 0;
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        for (i = 0; i < len && (s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                                (i > 0 && s[i] >= '0' && s[i] <= '9'));
             i++) {
        }
        if (!first && len > 0 && i == len && len < 40) {
            lua_pushfstring(L, ".%s", s);
            return;
        }
        /* quoted, escaped, cut short: the path only has to point at the value */
        for (i = 0; i < len && n < sizeof quoted - 8; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '"' || c == '\\') {
                quoted[n++] = '\\';
                quoted[n++] = (char)c;
            } else if (c < 32 || c >= 127) {
                n += (size_t)snprintf(quoted + n, sizeof quoted - n, "\\%u", c);
            } else {
                quoted[n++] = (char)c;
            }
        }
        quoted[n] = '\0';
        lua_pushfstring(L, "[\"%s%s\"]", quoted, i < len ? "..." : "");
        return;
    case LUA_TNUMBER:
        lua_pushvalue(L, idx); /* tostring converts in place: a copy, not the key lua_next needs */
        lua_pushfstring(L, "[%s]", lua_tostring(L, -1));
        lua_remove(L, -2);
        return;
    case LUA_TBOOLEAN:
        lua_pushstring(L, lua_toboolean(L, idx) ? "[true]" : "[false]");
        return;
    default:
        lua_pushfstring(L, "[<%s>]", luaL_typename(L, idx));
    }
}

/*
 * Pushes the path from the argument to what the first `levels` levels
 * lead to: a step per level, its key, or "(key)" where the walk went into a
 * table that is a key.
 */
static void pushpath(walk *w, int levels)
{
    lua_State *L = w->L;
    int d;
    luaL_checkstack(L, levels + 2, "path of a refused value");
    lua_pushliteral(L, "");
    for (d = 0; d < levels; d++) {
        const level *lv = &w->levels[d];
        if (lv->phase == PHASE_VALUE) {
            lua_pushliteral(L, "(key)");
        } else {
            pushstep(L, lv->key, d == 0);
        }
    }
    lua_concat(L, levels + 1);
}

/* Refuses a key (askey) or a value the walk is at, naming what it is and where. */
static void refuse(walk *w, const char *what, int askey)
{
    lua_State *L = w->L;
    int levels = askey ? w->depth - 1 : w->depth;
    const char *path;
    pushpath(w, levels);
    path = lua_tostring(L, -1);
    if (levels == 0 && !askey) {
        luaL_argerror(L, w->arg, lua_pushfstring(L, "%s not allowed in a message", what));
    }
    if (askey) {
        luaL_argerror(L, w->arg, lua_pushfstring(L, "%s as a key%s%s not allowed in a message", what,
                                                 levels > 0 ? " in " : "", path));
    }
    luaL_argerror(L, w->arg, lua_pushfstring(L, "%s at %s not allowed in a message", what, path));
}

static void scalar(walk *w, int idx, int askey)
{
    const char *refusal = glue_tovalue(w->L, idx, emit(w));
    if (refusal != NULL) {
        refuse(w, refusal, askey);
    }
}

/* The number of a table met before in this message (or, for writer:add, in its earlier calls). */
static int seenbefore(walk *w, int idx, const void *table, size_t *number)
{
    lua_State *L = w->L;
    int found;
    if (glue_seenfind(&w->scratch->seen, table, number)) {
        return 1;
    }
    if (w->earlier == 0) {
        return 0;
    }
    lua_pushvalue(L, idx);
    lua_rawget(L, w->earlier);
    found = lua_type(L, -1) == LUA_TNUMBER;
    if (found) {
        *number = (size_t)lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return found;
}

/*
 * The table at idx: a reference when it was met before, else its header,
 * and a new level that walks it. The depth counts new tables only: a
 * reference nests nothing.
 */
static void entertable(walk *w, int idx)
{
    lua_State *L = w->L;
    const void *table = lua_topointer(L, idx);
    size_t number;
    mtmsg_value *header;
    level *lv;
    if (seenbefore(w, idx, table, &number)) {
        mtmsg_value *ref = emit(w);
        ref->type = MTMSG_TABLE_REF;
        ref->as.table_ref = number;
        return;
    }
    if (lua_getmetatable(L, idx)) {
        refuse(w, "table with a metatable", w->depth > 0 && w->levels[w->depth - 1].phase == PHASE_VALUE);
    }
    if (w->depth == MTMSG_MAX_DEPTH) {
        luaL_argerror(L, w->arg,
                      lua_pushfstring(L, "tables nested deeper than %d levels not allowed in a message", MTMSG_MAX_DEPTH));
    }
    number = w->tables++;
    glue_seenadd(L, &w->scratch->seen, table, number);
    if (w->kept != 0) {
        lua_pushvalue(L, idx);
        lua_pushnumber(L, (lua_Number)number);
        lua_rawset(L, w->kept);
    }
    header = emit(w);
    header->type = MTMSG_TABLE;
    header->as.table.array = 0;
    header->as.table.pairs = 0;
    lv = &w->levels[w->depth++];
    lv->table = idx;
    lv->header = w->count - 1;
    lv->expect = 1;
    lv->phase = PHASE_NEXT;
    lua_pushnil(L);
    lv->key = lua_gettop(L);
}

/* Walks the levels open until the first one is done. */
static void walklevels(walk *w)
{
    lua_State *L = w->L;
    while (w->depth > 0) {
        level *lv = &w->levels[w->depth - 1];
        switch (lv->phase) {
        case PHASE_NEXT:
            if (!lua_next(L, lv->table)) { /* lua_next popped the key: the table is done */
                w->depth--;
                continue;
            }
            lv->phase = PHASE_VALUE;
            if (lv->expect != 0 && compat_iskey(L, lv->key, lv->expect)) {
                w->scratch->items[lv->header].as.table.array++;
                lv->expect++;
            } else {
                lv->expect = 0;
                w->scratch->items[lv->header].as.table.pairs++;
                if (lua_type(L, lv->key) == LUA_TTABLE) {
                    entertable(w, lv->key);
                    continue;
                }
                scalar(w, lv->key, 1);
            }
            /* fall through */
        case PHASE_VALUE:
            lv->phase = PHASE_POP;
            if (lua_type(L, -1) == LUA_TTABLE) {
                entertable(w, lua_gettop(L));
                continue;
            }
            scalar(w, -1, 0);
            /* fall through */
        case PHASE_POP:
            lua_pop(L, 1);
            lv->phase = PHASE_NEXT;
        }
    }
}

/*
 * For writer:add: the tables its earlier calls for this message sent
 * (while its message has any: the library counts them), and a new map for
 * this call's, which glue_keeptables adds to them once the library took
 * the values. Both on the stack, made before anything is written.
 */
static size_t writertables(walk *w, int writer, glue_message *msg)
{
    lua_State *L = w->L;
    size_t before = 0;
    glue_check(L, mtmsg_writer_tables(((glue_object *)lua_touserdata(L, writer))->handle, &before));
    if (before > 0) {
        glue_pushtablesof(L, writer);
        w->earlier = lua_istable(L, -1) ? lua_gettop(L) : 0;
    }
    lua_newtable(L);
    w->kept = lua_gettop(L);
    msg->earlier = w->earlier;
    msg->kept = w->kept;
    return before;
}

/*
 * The message of the arguments from first to the top, from is the first
 * one values.c did not take: a table, or a value that cannot travel. The
 * entries go into the state's scratch, written anew from the first
 * argument on, since making what the walk needs may have run finalizers
 * that used the scratch.
 */
void glue_checktables(lua_State *L, int writer, int first, int from, glue_message *msg)
{
    walk w;
    int top = lua_gettop(L);
    int arg;
    if (lua_type(L, from) != LUA_TTABLE) {
        luaL_argerror(L, from, lua_pushfstring(L, "%s not allowed in a message", glue_tovalue(L, from, msg->local)));
    }
    w.L = L;
    w.scratch = &glue_getstate(L)->scratch;
    w.count = 0;
    w.tables = 0;
    w.earlier = 0;
    w.kept = 0;
    w.depth = 0;
    luaL_checkstack(L, WALK_ROOM, "tables of a message");
    if (writer != 0) {
        w.tables = writertables(&w, writer, msg);
    }
    glue_seenstart(&w.scratch->seen);
    glue_reserve(L, w.scratch, (size_t)(top - first + 1) + GLUE_LOCAL_VALUES);
    for (arg = first; arg <= top; arg++) {
        w.arg = arg;
        if (lua_type(L, arg) == LUA_TTABLE) {
            entertable(&w, arg);
            walklevels(&w);
        } else {
            const char *refusal = glue_tovalue(L, arg, emit(&w));
            if (refusal != NULL) {
                luaL_argerror(L, arg, lua_pushfstring(L, "%s not allowed in a message", refusal));
            }
        }
    }
    msg->values = w.scratch->items;
    msg->count = w.count;
}

/* After writer:add: the writer remembers this call's tables with those of its earlier calls. */
void glue_keeptables(lua_State *L, int writer, const glue_message *msg)
{
    if (msg->kept == 0) {
        return;
    }
    if (msg->earlier == 0) {
        glue_settablesof(L, writer, msg->kept);
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, msg->kept)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, msg->earlier);
    }
}
