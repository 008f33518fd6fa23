/*
 * A minimal thread module with the part of lua-llthreads2's interface
 * ("llthreads2.ex") that mtmsg's examples and tests use:
 *
 *   local llthreads = require "llthreads2.ex"
 *   local thread = llthreads.new(function_or_code, ...)  -- args: nil, boolean,
 *                                    -- number, string, light userdata
 *   thread:start()   --> thread            (nil, message when it cannot start)
 *   thread:join()    --> true, results...  (false, message with traceback when
 *                                           the thread raised an error)
 *   thread:alive()   --> boolean
 *
 * Each thread runs in a new lua_State (standard libraries, the parent's
 * package.path and package.cpath, this module preloaded) on a new OS thread.
 * A function is passed by lua_dump, so it sees none of its upvalues; a
 * string is Lua source, or "@file" for a file to load. A thread collected
 * without join is joined then: like llthreads2, so no state or OS thread
 * outlives its object; a thread still waiting for its parent then blocks it.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "llthreads.h"

#define THREAD_METATABLE "llthreads2.thread"

/* Guards every host_thread.finished: one lock is plenty for alive()'s
 * rare calls, and unlike atomics it is understood by helgrind. */
static pthread_mutex_t finished_lock = PTHREAD_MUTEX_INITIALIZER;

enum thread_phase { THREAD_NEW, THREAD_RUNNING, THREAD_JOINED };

/*
 * Lives inside its Lua userdata: Lua never moves a userdata, and __gc joins
 * the OS thread before Lua frees the memory the thread writes to.
 */
typedef struct host_thread {
    lua_State *child;         /* the thread's own state; NULL once closed */
    pthread_t os_thread;      /* valid while phase == THREAD_RUNNING */
    enum thread_phase phase;  /* changed by the parent only */
    int status;               /* of the child's lua_pcall; read after pthread_join */
    int finished;             /* set by the child at its end; under finished_lock */
    char *dump;               /* the function argument of new(), lua_dump'ed */
    size_t dump_length;
    size_t dump_capacity;
} host_thread;

/* What setup_child copies from the parent state, by stack index. */
typedef struct child_setup {
    lua_State *parent;
    host_thread *thread;
    int code_index;  /* source code or "@file" when thread->dump is NULL */
    int path_index;  /* package.path and package.cpath, or nil */
    int cpath_index;
    int first_argument;
    int last_argument;
} child_setup;

/* Returns nil, message: llthreads2's way of reporting misuse. */
static int fail(lua_State *L, const char *message)
{
    lua_pushnil(L);
    lua_pushstring(L, message);
    return 2;
}

static int is_passable(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TBOOLEAN:
    case LUA_TNUMBER:
    case LUA_TSTRING:
    case LUA_TLIGHTUSERDATA:
        return 1;
    default:
        return 0;
    }
}

/*
 * Pushes onto `to` a copy of the passable value at idx of `from`. Only reads
 * `from`, without converting or allocating there, so no error can be raised
 * in `from` while a call is protected in `to`.
 */
static void copy_value(lua_State *from, int idx, lua_State *to)
{
    size_t length;
    const char *bytes;
    switch (lua_type(from, idx)) {
    case LUA_TBOOLEAN:
        lua_pushboolean(to, lua_toboolean(from, idx));
        break;
    case LUA_TNUMBER:
        host_xmove_number(from, idx, to);
        break;
    case LUA_TSTRING:
        bytes = lua_tolstring(from, idx, &length);
        lua_pushlstring(to, bytes, length);
        break;
    case LUA_TLIGHTUSERDATA:
        lua_pushlightuserdata(to, lua_touserdata(from, idx));
        break;
    default:
        lua_pushnil(to);
        break;
    }
}

int llthreads_traceback(lua_State *L)
{
    const char *message = lua_tostring(L, 1);
    if (message == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
            return 1;
        }
        message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    host_traceback(L, message, 1);
    return 1;
}

void llthreads_preload(lua_State *L)
{
    lua_getglobal(L, "package");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "preload");
        if (lua_istable(L, -1)) {
            lua_pushcfunction(L, luaopen_llthreads2_ex);
            lua_setfield(L, -2, "llthreads2.ex");
            lua_pushcfunction(L, luaopen_llthreads2_ex);
            lua_setfield(L, -2, "llthreads2");
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Pushes package[field] when it is a string, else nil. */
static void push_package_string(lua_State *L, const char *field)
{
    lua_getglobal(L, "package");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, field);
    } else {
        lua_pushnil(L);
    }
    lua_remove(L, -2);
    if (lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
}

/* package[field] = the string at idx of the parent, when it is one. */
static void set_package_string(lua_State *child, const char *field, lua_State *parent, int idx)
{
    if (lua_type(parent, idx) != LUA_TSTRING) {
        return;
    }
    lua_getglobal(child, "package");
    copy_value(parent, idx, child);
    lua_setfield(child, -2, field);
    lua_pop(child, 1);
}

static int load_thread_code(lua_State *child, const child_setup *setup)
{
    size_t length;
    const char *code;
    if (setup->thread->dump != NULL) {
        return luaL_loadbuffer(child, setup->thread->dump, setup->thread->dump_length, "=(thread)");
    }
    code = lua_tolstring(setup->parent, setup->code_index, &length);
    if (code[0] == '@') {
        return luaL_loadfile(child, code + 1);
    }
    return luaL_loadbuffer(child, code, length, code);
}

/*
 * Runs protected in the new state, so that any error there (memory, a
 * syntax error in the code) comes back as a status instead of a panic.
 * Leaves the stack run_thread wants: message handler, function, arguments.
 */
static int setup_child(lua_State *child)
{
    const child_setup *setup = (const child_setup *)lua_touserdata(child, 1);
    int idx;
    lua_settop(child, 0);
    luaL_openlibs(child);
    llthreads_preload(child);
    set_package_string(child, "path", setup->parent, setup->path_index);
    set_package_string(child, "cpath", setup->parent, setup->cpath_index);
    lua_pushcfunction(child, llthreads_traceback);
    if (load_thread_code(child, setup) != LUA_OK) {
        return lua_error(child);
    }
    luaL_checkstack(child, setup->last_argument - setup->first_argument + 1, "too many thread arguments");
    for (idx = setup->first_argument; idx <= setup->last_argument; idx++) {
        copy_value(setup->parent, idx, child);
    }
    return lua_gettop(child);
}

/* A lua_Writer collecting the dump in thread->dump; non-zero stops lua_dump. */
static int append_to_dump(lua_State *L, const void *bytes, size_t size, void *data)
{
    host_thread *thread = (host_thread *)data;
    (void)L;
    if (size == 0) { /* Lua 5.5 ends a dump with (NULL, 0): memcpy may not see a NULL */
        return 0;
    }
    if (size > thread->dump_capacity - thread->dump_length) {
        size_t capacity = thread->dump_capacity > 0 ? thread->dump_capacity : 512;
        char *grown;
        while (capacity - thread->dump_length < size) {
            capacity *= 2;
        }
        grown = (char *)realloc(thread->dump, capacity);
        if (grown == NULL) {
            return 1;
        }
        thread->dump = grown;
        thread->dump_capacity = capacity;
    }
    memcpy(thread->dump + thread->dump_length, bytes, size);
    thread->dump_length += size;
    return 0;
}

static void forget_dump(host_thread *thread)
{
    free(thread->dump);
    thread->dump = NULL;
    thread->dump_length = thread->dump_capacity = 0;
}

static void close_child(host_thread *thread)
{
    if (thread->child != NULL) {
        lua_close(thread->child);
        thread->child = NULL;
    }
}

static host_thread *check_thread(lua_State *L)
{
    return (host_thread *)luaL_checkudata(L, 1, THREAD_METATABLE);
}

/*
 * Everything that can raise an error in the parent (argument checks, the
 * dump, reading package) happens before the child state exists or while the
 * userdata already owns it, so an error leaks nothing.
 */
static int thread_new(lua_State *L)
{
    int top = lua_gettop(L);
    int code_type = lua_type(L, 1);
    int idx;
    host_thread *thread;
    child_setup setup;

    luaL_argcheck(L, code_type == LUA_TFUNCTION || code_type == LUA_TSTRING, 1,
                  "function or Lua code expected");
    for (idx = 2; idx <= top; idx++) {
        if (!is_passable(L, idx)) {
            luaL_argerror(L, idx, lua_pushfstring(L, "nil, boolean, number, string or light userdata expected, got %s",
                                                  luaL_typename(L, idx)));
        }
    }

    thread = (host_thread *)host_newuserdata(L, sizeof *thread);
    memset(thread, 0, sizeof *thread);
    thread->phase = THREAD_NEW;
    luaL_getmetatable(L, THREAD_METATABLE);
    lua_setmetatable(L, -2);

    if (code_type == LUA_TFUNCTION) {
        int failed;
        /* checked first: 5.5's lua_dump takes a C function for an API misuse */
        luaL_argcheck(L, !lua_iscfunction(L, 1), 1, "a C function cannot run in another state");
        lua_pushvalue(L, 1);
        failed = host_dump(L, append_to_dump, thread);
        lua_pop(L, 1);
        if (failed) {
            return luaL_error(L, "not enough memory to pass the thread's function");
        }
    }

    setup.parent = L;
    setup.thread = thread;
    setup.code_index = 1;
    setup.first_argument = 2;
    setup.last_argument = top;
    push_package_string(L, "path");
    setup.path_index = lua_gettop(L);
    push_package_string(L, "cpath");
    setup.cpath_index = lua_gettop(L);

    thread->child = luaL_newstate();
    if (thread->child == NULL) {
        return luaL_error(L, "not enough memory for the thread's Lua state");
    }
    lua_pushcfunction(thread->child, setup_child);
    lua_pushlightuserdata(thread->child, &setup);
    if (lua_pcall(thread->child, 1, LUA_MULTRET, 0) != LUA_OK) {
        if (lua_type(thread->child, -1) == LUA_TSTRING) {
            copy_value(thread->child, -1, L);
        } else {
            lua_pushliteral(L, "cannot set up the thread's Lua state");
        }
        close_child(thread);
        forget_dump(thread);
        return lua_error(L);
    }
    forget_dump(thread);
    lua_pushvalue(L, top + 1);
    return 1;
}

static void *run_thread(void *data)
{
    host_thread *thread = (host_thread *)data;
    lua_State *child = thread->child;
    /* the stack setup_child left: message handler, function, arguments */
    thread->status = lua_pcall(child, lua_gettop(child) - 2, LUA_MULTRET, 1);
    lua_remove(child, 1);
    pthread_mutex_lock(&finished_lock);
    thread->finished = 1;
    pthread_mutex_unlock(&finished_lock);
    return NULL;
}

static int thread_start(lua_State *L)
{
    host_thread *thread = check_thread(L);
    int error;
    if (thread->phase != THREAD_NEW) {
        return fail(L, "thread already started");
    }
    error = pthread_create(&thread->os_thread, NULL, run_thread, thread);
    if (error != 0) {
        return fail(L, strerror(error));
    }
    thread->phase = THREAD_RUNNING;
    lua_settop(L, 1);
    return 1;
}

static void wait_for_thread(host_thread *thread)
{
    pthread_join(thread->os_thread, NULL);
    thread->phase = THREAD_JOINED;
}

/* After the join: true and the results, or false and why not. */
static int push_outcome(lua_State *L, host_thread *thread)
{
    lua_State *child = thread->child;
    int count = lua_gettop(child);
    int base = lua_gettop(L);
    int idx;
    if (thread->status != LUA_OK) {
        lua_pushboolean(L, 0);
        /* the message handler made it a string, unless memory ran out first */
        if (lua_type(child, -1) == LUA_TSTRING) {
            copy_value(child, -1, L);
        } else {
            lua_pushliteral(L, "thread failed without a message");
        }
        close_child(thread);
        return 2;
    }
    luaL_checkstack(L, count + 2, "too many thread results");
    lua_pushboolean(L, 1);
    for (idx = 1; idx <= count; idx++) {
        if (!is_passable(child, idx)) {
            lua_settop(L, base);
            lua_pushboolean(L, 0);
            lua_pushfstring(L, "thread result #%d is a %s, which cannot be passed to another state", idx,
                            luaL_typename(child, idx));
            close_child(thread);
            return 2;
        }
        copy_value(child, idx, L);
    }
    close_child(thread);
    return count + 1;
}

static int thread_join(lua_State *L)
{
    host_thread *thread = check_thread(L);
    switch (thread->phase) {
    case THREAD_NEW:
        return fail(L, "thread not started");
    case THREAD_JOINED:
        return fail(L, "thread already joined");
    case THREAD_RUNNING:
        break;
    }
    wait_for_thread(thread);
    return push_outcome(L, thread);
}

static int thread_alive(lua_State *L)
{
    host_thread *thread = check_thread(L);
    int finished;
    pthread_mutex_lock(&finished_lock);
    finished = thread->finished;
    pthread_mutex_unlock(&finished_lock);
    lua_pushboolean(L, thread->phase == THREAD_RUNNING && !finished);
    return 1;
}

/* Also reached again after a 5.2+ finalizer resurrected the object: every step is idempotent. */
static int thread_gc(lua_State *L)
{
    host_thread *thread = check_thread(L);
    if (thread->phase == THREAD_RUNNING) {
        wait_for_thread(thread);
    }
    close_child(thread);
    forget_dump(thread);
    return 0;
}

int luaopen_llthreads2_ex(lua_State *L)
{
    static const luaL_Reg thread_methods[] = {
        {"start", thread_start},
        {"join", thread_join},
        {"alive", thread_alive},
        {NULL, NULL},
    };
    static const luaL_Reg module_functions[] = {
        {"new", thread_new},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, THREAD_METATABLE)) {
        lua_pushcfunction(L, thread_gc);
        lua_setfield(L, -2, "__gc");
        lua_newtable(L);
        host_setfuncs(L, thread_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    host_setfuncs(L, module_functions);
    return 1;
}
