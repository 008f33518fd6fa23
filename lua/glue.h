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

/* Only luaopen_mtmsg leaves the shared module; the glue_ names stay inside it. */
#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility push(hidden)
#endif

#define GLUE_BUFFER "mtmsg.buffer"
#define GLUE_LISTENER "mtmsg.listener"
#define GLUE_WRITER "mtmsg.writer"
#define GLUE_READER "mtmsg.reader"

/* Up to this many values go through an array on the C stack, in and out. */
#define GLUE_LOCAL_VALUES 16

/* Memory for the values of larger messages, kept by the userdata so it is reused and freed by __gc. */
typedef struct glue_scratch {
    mtmsg_value *items;
    size_t capacity;
} glue_scratch;

/* The arguments of one call as a message: values is local or the scratch; its strings point into the Lua stack. */
typedef struct glue_message {
    const mtmsg_value *values;
    size_t count;
    mtmsg_value local[GLUE_LOCAL_VALUES];
} glue_message;

/*
 * A reader handle and how many calls are pushing values out of it right now.
 * Pushing can run finalizers, and a finalizer could reuse this very reader,
 * which would free the strings still to be pushed; busy lets the glue see
 * that. An error while pushing (out of memory) leaves busy raised for good:
 * buffers and listeners then take each message into a spare reader, reader
 * objects refuse nextmsg and clear; slower or stricter, never unsafe.
 */
typedef struct glue_reader {
    mtmsg_reader *handle;
    unsigned busy;
} glue_reader;

typedef struct glue_buffer {
    mtmsg_buffer *handle;
    glue_reader reader; /* for nextmsg, made on first use */
    glue_scratch scratch;
} glue_buffer;

typedef struct glue_listener {
    mtmsg_listener *handle;
    glue_reader reader; /* for nextmsg, made on first use */
} glue_listener;

typedef struct glue_writer {
    mtmsg_writer *handle;
    glue_scratch scratch;
} glue_writer;

/* errors.c: statuses to results and Lua errors */
int glue_raise(lua_State *L, mtmsg_status status);
mtmsg_status glue_check(lua_State *L, mtmsg_status status);
int glue_pushdone(lua_State *L, mtmsg_status status);
void glue_pusherrortable(lua_State *L);

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
void glue_checkmessage(lua_State *L, int first, glue_scratch *scratch, glue_message *msg);
void glue_freescratch(glue_scratch *scratch);
int glue_pushvalues(lua_State *L, glue_reader *reader, size_t count);

/* object.c: what the classes share */
void glue_newclass(lua_State *L, const char *tname, const luaL_Reg *metamethods, const luaL_Reg *methods);
int glue_pushdescription(lua_State *L, const char *tname, const void *handle, const char *name, size_t name_len,
                         uint64_t id);
int glue_pushflag(lua_State *L, mtmsg_status status, const bool *out);
int glue_pushid(lua_State *L, mtmsg_status status, const uint64_t *out);
int glue_pushname(lua_State *L, const char *name, size_t name_len);
glue_reader *glue_receiverreader(lua_State *L, glue_reader *own);
int glue_pushmessage(lua_State *L, glue_reader *reader, mtmsg_status status);

/* buffer.c */
void glue_registerbuffer(lua_State *L);
glue_buffer *glue_checkbuffer(lua_State *L, int idx);
glue_buffer *glue_testbuffer(lua_State *L, int idx);
int glue_newbufferat(lua_State *L, mtmsg_listener *listener, int first);
int glue_newbuffer(lua_State *L);
int glue_findbuffer(lua_State *L);

/* listener.c */
void glue_registerlistener(lua_State *L);
glue_listener *glue_testlistener(lua_State *L, int idx);
int glue_newlistener(lua_State *L);
int glue_findlistener(lua_State *L);

/* writer.c */
void glue_registerwriter(lua_State *L);
int glue_newwriter(lua_State *L);

/* reader.c */
void glue_registerreader(lua_State *L);
glue_reader *glue_pushreader(lua_State *L, size_t size, double grow);
int glue_newreader(lua_State *L);

#if defined(__GNUC__) && !defined(_WIN32)
#pragma GCC visibility pop
#endif

#endif
