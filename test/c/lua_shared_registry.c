/* One process, one registry: buffers made through the C API are found by
 * Lua states in the same process (require "mtmsg"), and the other way round.
 *
 * Run from the repository root: the module is loaded from build/lua5.4/
 * (MTMSG_LUA_CPATH overrides the package.cpath used). */
#include <pthread.h>

#include "check.h"
#include "lua_state.h"

static char lua_error_text[512];

/* Runs a chunk; false (and the error in lua_error_text) when it raised one. */
static bool run_lua(lua_State *L, const char *code)
{
    if (luaL_dostring(L, code) == LUA_OK) return true;
    snprintf(lua_error_text, sizeof lua_error_text, "%s", lua_tostring(L, -1));
    printf("  # Lua error: %s\n", lua_error_text);
    lua_pop(L, 1);
    return false;
}

static void c_buffer_is_read_by_lua_and_lua_answers(void)
{
    mtmsg_buffer *b = NULL;
    CHECK_OK(mtmsg_buffer_new("shared.c", 8, 128, 1024, 2.0, &b));
    mtmsg_value in[3] = { mv_cstr("from C"), mv_int(42), mv_num(1.5) };
    CHECK_OK(mtmsg_buffer_addmsg(b, in, 3));
    uint64_t id = 0;
    CHECK_OK(mtmsg_buffer_id(b, &id));

    lua_State *L = new_state();
    CHECK(L != NULL);
    lua_pushinteger(L, (lua_Integer)id);
    lua_setglobal(L, "buffer_id");
    bool ok = run_lua(L,
        "local mtmsg = require 'mtmsg'\n"
        "local b = mtmsg.buffer(buffer_id)\n"
        "assert(mtmsg.buffer('shared.c'):id() == buffer_id, 'found by name')\n"
        "local s, n, f = b:nextmsg(0)\n"
        "assert(s == 'from C' and n == 42 and f == 1.5,\n"
        "       'got ' .. tostring(s) .. ', ' .. tostring(n) .. ', ' .. tostring(f))\n"
        "assert(math.type(n) == 'integer' and math.type(f) == 'float', 'subtypes')\n"
        "assert(b:addmsg('from Lua', 43, true))\n");
    lua_close(L);
    CHECK(ok);

    mtmsg_reader *r = NULL;
    CHECK_OK(mtmsg_reader_new(64, 2.0, &r));
    mtmsg_value out[4];
    size_t got = 0;
    CHECK_OK(take_message(b, r, 0, out, 4, &got));
    mtmsg_value want[3] = { mv_cstr("from Lua"), mv_int(43), mv_bool(true) };
    CHECK(got == 3);
    for (size_t i = 0; i < 3; i++) CHECK(mv_same(&out[i], &want[i]));
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void lua_buffer_is_found_by_c_and_outlives_the_state(void)
{
    lua_State *L = new_state();
    CHECK(L != NULL);
    bool ok = run_lua(L,
        "local mtmsg = require 'mtmsg'\n"
        "kept = mtmsg.newbuffer('shared.lua')\n"
        "kept:addmsg('made in Lua')\n");
    mtmsg_buffer *b = NULL;
    mtmsg_status found = mtmsg_buffer_find_name("shared.lua", 10, &b);
    lua_close(L); /* releases Lua's reference; C's keeps the buffer */
    CHECK(ok);
    CHECK_OK(found);
    mtmsg_reader *r = NULL;
    CHECK_OK(mtmsg_reader_new(64, 2.0, &r));
    mtmsg_value out;
    size_t got = 0;
    CHECK_OK(take_message(b, r, 0, &out, 1, &got));
    mtmsg_value want = mv_cstr("made in Lua");
    CHECK(got == 1 && mv_same(&out, &want));
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
    CHECK_STATUS(mtmsg_buffer_find_name("shared.lua", 10, &b), MTMSG_UNKNOWN_OBJECT);
}

static void closing_the_lua_state_releases_its_references(void)
{
    lua_State *L = new_state();
    CHECK(L != NULL);
    bool ok = run_lua(L,
        "local mtmsg = require 'mtmsg'\n"
        "kept = mtmsg.newbuffer('shared.closed')\n"
        "kept_id = kept:id()\n");
    lua_getglobal(L, "kept_id");
    uint64_t id = (uint64_t)lua_tointeger(L, -1);
    lua_close(L);
    CHECK(ok);
    mtmsg_buffer *b = NULL;
    CHECK_STATUS(mtmsg_buffer_find_id(id, &b), MTMSG_UNKNOWN_OBJECT);
}

typedef struct {
    mtmsg_buffer *buffer;
    mtmsg_status status;
    size_t got;
    mtmsg_value value;
    char text[32];
} c_waiter;

static void *wait_in_c(void *arg)
{
    c_waiter *w = arg;
    mtmsg_reader *r = NULL;
    w->status = mtmsg_reader_new(64, 2.0, &r);
    if (w->status == MTMSG_OK) w->status = take_message(w->buffer, r, 10.0, &w->value, 1, &w->got);
    if (w->status == MTMSG_OK && w->got == 1 && w->value.type == MTMSG_STRING &&
        w->value.as.string.len < sizeof w->text) {
        memcpy(w->text, w->value.as.string.ptr, w->value.as.string.len);
    }
    mtmsg_reader_release(r);
    return NULL;
}

static void c_thread_blocked_in_nextmsg_is_woken_by_lua(void)
{
    mtmsg_buffer *b = NULL;
    c_waiter w = { 0 };
    CHECK_OK(mtmsg_buffer_new("shared.wake", 11, 128, 1024, 2.0, &b));
    CHECK_OK(mtmsg_buffer_clone(b, &w.buffer));
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, wait_in_c, &w) == 0);
    mtmsg_sleep(0.1);
    lua_State *L = new_state();
    bool ok = L != NULL && run_lua(L, "require('mtmsg').buffer('shared.wake'):addmsg('from Lua')\n");
    if (L != NULL) lua_close(L);
    pthread_join(thread, NULL);
    mtmsg_buffer_release(w.buffer);
    mtmsg_buffer_release(b);
    CHECK(ok);
    CHECK_OK(w.status);
    CHECK(strcmp(w.text, "from Lua") == 0);
}

int main(int argc, char **argv)
{
    RUN(c_buffer_is_read_by_lua_and_lua_answers);
    RUN(lua_buffer_is_found_by_c_and_outlives_the_state);
    RUN(closing_the_lua_state_releases_its_references);
    RUN(c_thread_blocked_in_nextmsg_is_woken_by_lua);
    return check_summary();
}
