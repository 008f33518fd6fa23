/*
 * Declarations shared by the files of the Lua glue. The glue talks to mtmsg
 * only through include/mtmsg.h; each userdata holds handles (one reference
 * each), never the shared objects themselves.
 */
#ifndef MTMSG_LUA_GLUE_H
#define MTMSG_LUA_GLUE_H

#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "mtmsg.h"

#if defined(_WIN32)
#define GLUE_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define GLUE_EXPORT __attribute__((visibility("default")))
#else
#define GLUE_EXPORT
#endif

GLUE_EXPORT int luaopen_mtmsg(lua_State *L);

/* For the few functions of a hot loop that also serve a cold one, where the compiler would rather call them. */
#if defined(__GNUC__)
#define GLUE_HOT_INLINE inline __attribute__((always_inline))
#else
#define GLUE_HOT_INLINE inline
#endif

/* Only luaopen_mtmsg leaves the shared module; the glue_ names stay inside it. */
#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility push(hidden)
#endif

#define GLUE_BUFFER "mtmsg.buffer"
#define GLUE_LISTENER "mtmsg.listener"
#define GLUE_WRITER "mtmsg.writer"
#define GLUE_READER "mtmsg.reader"

/* The classes, in the order of glue_state.classes. */
typedef enum glue_class {
    GLUE_CLASS_BUFFER,
    GLUE_CLASS_LISTENER,
    GLUE_CLASS_WRITER,
    GLUE_CLASS_READER,
    GLUE_CLASSES
} glue_class;

/* Up to this many values go through an array on the C stack, in and out. */
#define GLUE_LOCAL_VALUES 16

/*
 * The tables met while one message is encoded, by address, with their
 * numbers (identity.c): a hash set in C memory, so that looking tables up
 * allocates no Lua memory. An entry counts only when its stamp is the
 * set's, so starting over is one increment, not a clearing.
 */
typedef struct glue_seenslot {
    const void *table;
    size_t number;
    unsigned stamp;
} glue_seenslot;

typedef struct glue_seen {
    glue_seenslot *slots;
    size_t capacity; /* 0 or a power of 2 */
    size_t used;
    unsigned stamp;
} glue_seen;

/* Memory for the values of larger messages (and those with tables), reused from call to call. */
typedef struct glue_scratch {
    mtmsg_value *items;
    size_t capacity;
    glue_seen seen;
} glue_scratch;

/*
 * The arguments of one call as a message: values is local or the scratch;
 * its strings point into the Lua stack or into the tables there. For
 * writer:add, kept is the stack index of the tables of this call (or 0),
 * which the writer remembers once the library took them.
 */
typedef struct glue_message {
    const mtmsg_value *values;
    size_t count;
    int kept;
    int earlier;
    mtmsg_value local[GLUE_LOCAL_VALUES];
} glue_message;

/*
 * Every object of the four classes is a userdata that starts with its
 * handle: one reference (to a buffer or listener) or the writer or reader
 * itself, of the class's mtmsg_ type. NULL until the library has handed
 * the handle out, and again once __gc or __close released it; the generic
 * check (glue_checkobject) and the release see every class through this.
 * A buffer or listener userdata is that handle and nothing else, so that it
 * costs the Lua heap as little as a userdata can; what the methods need
 * besides lives once per Lua state (glue_state). Nonblock mode belongs to
 * the handle, and so to the reference, in the library.
 */
typedef struct glue_object {
    void *handle;
} glue_object;

/*
 * A reader object, and the reader a Lua state's buffers and listeners take
 * messages into: the handle (an mtmsg_reader, first as in every object) and
 * how many calls are pushing values out of it right now. Pushing can run
 * finalizers, and a finalizer could reuse this very reader, which would free
 * the strings still to be pushed; busy lets the glue see that. An error
 * while pushing (out of memory) leaves busy raised for good: the buffers
 * and listeners of the Lua state then take each message into a spare
 * reader, a reader object refuses nextmsg and clear; slower or stricter,
 * never unsafe.
 */
typedef struct glue_reader {
    void *handle;
    unsigned busy;
} glue_reader;

struct glue_state;

/*
 * What a method knows of its class: upvalue 1 of every method and
 * metamethod (a light userdata pointing into the state, which upvalue 2
 * keeps alive). The module functions have no upvalues and stay plain C
 * functions, which messages can carry. A method recognises its objects by
 * comparing the address of their metatable with this one, not by looking
 * the class up in the registry by name.
 */
typedef struct glue_classinfo {
    const void *metatable;
    const char *name; /* the metatable's __name: mtmsg.buffer, ... */
    glue_class class;
    struct glue_state *state;
} glue_classinfo;

/*
 * What the module keeps per Lua state, a userdata. Its own metatable holds
 * the class metatables, which keeps them alive, and so their addresses
 * unique, while the state lives. A Lua state runs one call at a time, so one
 * reader (for buffer:nextmsg and listener:nextmsg) and one scratch serve all
 * its objects; a finalizer that re-enters nextmsg while values are pushed
 * finds the reader busy.
 */
typedef struct glue_state {
    glue_classinfo classes[GLUE_CLASSES];
    glue_reader reader; /* made on first use */
    glue_scratch scratch;
} glue_state;

#define GLUE_CLASSINFO lua_upvalueindex(1)

/* errors.c: statuses to results and Lua errors */
int glue_raise(lua_State *L, mtmsg_status status);
void glue_pusherrortable(lua_State *L);

/* Raises every status but MTMSG_OK: for the calls that have no other results. */
static inline void glue_check(lua_State *L, mtmsg_status status)
{
    if (status != MTMSG_OK) {
        glue_raise(L, status);
    }
}

/* Returns the status when it is a result (OK, TIMEOUT, WOULD_BLOCK), raises it otherwise. */
static inline mtmsg_status glue_checkresult(lua_State *L, mtmsg_status status)
{
    if (status != MTMSG_OK && status != MTMSG_TIMEOUT && status != MTMSG_WOULD_BLOCK) {
        glue_raise(L, status);
    }
    return status;
}

/* The result of addmsg, setmsg, clear and friends: true when done, false when not possible now. */
static inline int glue_pushdone(lua_State *L, mtmsg_status status)
{
    lua_pushboolean(L, glue_checkresult(L, status) == MTMSG_OK);
    return 1;
}

/* args.c: optional and typed arguments */
typedef struct glue_key { /* an object named by id or by name */
    const char *name;     /* NULL: look up by id */
    size_t name_len;
    uint64_t id;
} glue_key;

int glue_optflag(lua_State *L, int idx);
lua_Number glue_checknonnegative(lua_State *L, int idx);
double glue_opttimeout(lua_State *L, int idx);
size_t glue_optsize(lua_State *L, int idx, size_t def);
double glue_optgrow(lua_State *L, int idx);
void glue_checkkey(lua_State *L, int idx, glue_key *key);

/* values.c: Lua values in and out of messages */
void glue_checkmessage(lua_State *L, int first, glue_message *msg);
void glue_checkwriteradd(lua_State *L, int writer, int first, glue_message *msg);
const char *glue_tovalue(lua_State *L, int idx, mtmsg_value *value);
mtmsg_value *glue_reserve(lua_State *L, glue_scratch *scratch, size_t count);
void glue_initscratch(glue_scratch *scratch);
void glue_freescratch(glue_scratch *scratch);
void glue_checkroom(lua_State *L, size_t count);
int glue_pushvalue(lua_State *L, const mtmsg_value *value);
int glue_pushvalues(lua_State *L, glue_reader *reader, size_t count);
int glue_pushreadervalues(lua_State *L, int owner, glue_reader *reader, size_t count);

/* tablewalk.c: Lua tables into a message */
void glue_checktables(lua_State *L, int writer, int first, int from, glue_message *msg);
void glue_keeptables(lua_State *L, int writer, const glue_message *msg);

/* tablebuild.c: Lua tables out of a message */
int glue_pushtables(lua_State *L, glue_reader *reader, int owner, const mtmsg_value *rest, size_t count,
                    size_t wanted, size_t pushed);

/* identity.c: tables met again within one message */
void glue_initseen(glue_seen *seen);
void glue_freeseen(glue_seen *seen);
void glue_seenstart(glue_seen *seen);
int glue_seenfind(const glue_seen *seen, const void *table, size_t *number);
void glue_seenadd(lua_State *L, glue_seen *seen, const void *table, size_t number);
void glue_pushtablesof(lua_State *L, int owner);
void glue_settablesof(lua_State *L, int owner, int tables);

/* object.c: the state, the classes, and the check, release and description every object has */
void glue_pushstate(lua_State *L);
void glue_setfuncs(lua_State *L, const luaL_Reg *functions);
void glue_newclass(lua_State *L, int state, glue_class class, const luaL_Reg *const *methods);
glue_object *glue_newobject(lua_State *L, glue_class class, size_t size);
int glue_objecterror(lua_State *L, const glue_classinfo *info, int idx);

static inline const glue_classinfo *glue_getinfo(lua_State *L)
{
    return (const glue_classinfo *)lua_touserdata(L, GLUE_CLASSINFO);
}

static inline glue_state *glue_getstate(lua_State *L)
{
    return glue_getinfo(L)->state;
}

/* The address of the metatable of the value at idx, NULL when it has none. */
static inline const void *glue_metatable(lua_State *L, int idx)
{
    const void *metatable = NULL;
    if (lua_getmetatable(L, idx)) {
        metatable = lua_topointer(L, -1);
        lua_pop(L, 1);
    }
    return metatable;
}

/* The object of that class at idx, released or not, or NULL: luaL_testudata, with the metatable compared by address. */
static inline glue_object *glue_testobject(lua_State *L, const glue_classinfo *info, int idx)
{
    return glue_metatable(L, idx) == info->metatable ? (glue_object *)lua_touserdata(L, idx) : NULL;
}

/*
 * The check of every method's self and every object argument: an object of
 * that class whose reference is not released, or an argument error. Four
 * calls into Lua (the metatable, its address, the pop, the userdata) and no
 * lookup by name.
 */
static inline glue_object *glue_checkobject(lua_State *L, const glue_classinfo *info, int idx)
{
    glue_object *object = glue_testobject(L, info, idx);
    if (object == NULL || object->handle == NULL) {
        glue_objecterror(L, info, idx);
    }
    return object;
}

/* The handle of a method's self, of the class the method belongs to. */
static inline void *glue_checkself(lua_State *L)
{
    return glue_checkobject(L, glue_getinfo(L), 1)->handle;
}

/* The handle of an object argument of that class (a buffer to writer:addmsg, say). */
static inline void *glue_checkhandle(lua_State *L, int idx, glue_class class)
{
    return glue_checkobject(L, &glue_getstate(L)->classes[class], idx)->handle;
}

/* receiver.c: what buffers and listeners share */
extern const luaL_Reg glue_receivermethods[];
int glue_findreceiver(lua_State *L, glue_class class);
int glue_pushdescription(lua_State *L, const glue_classinfo *info, void *handle);

/* buffer.c */
void glue_registerbuffer(lua_State *L, int state);
int glue_newbufferat(lua_State *L, mtmsg_listener *listener, int first);
int glue_newbuffer(lua_State *L);
int glue_findbuffer(lua_State *L);

/* listener.c */
void glue_registerlistener(lua_State *L, int state);
int glue_newlistener(lua_State *L);
int glue_findlistener(lua_State *L);

/* writer.c */
void glue_registerwriter(lua_State *L, int state);
int glue_newwriter(lua_State *L);

/* reader.c */
void glue_registerreader(lua_State *L, int state);
glue_reader *glue_pushreader(lua_State *L, size_t size, double grow);
int glue_newreader(lua_State *L);

#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility pop
#endif

#endif
