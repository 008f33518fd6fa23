/* Tables between C and Lua: a C producer's flat table entries
 * arrive in a Lua state as tables of the same shape (array part, keys and
 * their subtypes, a shared table, a cycle), and a Lua producer's tables
 * arrive in C as the documented entries.
 *
 * Run from the repository root (see lua_state.h). */
#include "check.h"
#include "lua_state.h"

/* Runs a chunk in a new state that has the buffer's id as buffer_id; false when it raised an error. */
static bool run_lua(mtmsg_buffer *b, const char *code)
{
    uint64_t id = 0;
    lua_State *L = mtmsg_buffer_id(b, &id) == MTMSG_OK ? new_state() : NULL;
    if (L != NULL) {
        lua_pushinteger(L, (lua_Integer)id);
        lua_setglobal(L, "buffer_id");
    }
    bool ok = L != NULL && luaL_dostring(L, code) == LUA_OK;
    if (L != NULL && !ok) printf("  # Lua error: %s\n", lua_tostring(L, -1));
    if (L != NULL) lua_close(L);
    return ok;
}

static void c_tables_arrive_in_lua_with_their_shape(void)
{
    mtmsg_buffer *b = NULL;
    /* t = {10, 20, [7] = "seven", name = "job", args = {1.5}}; t.self = t; message (t, t.args) */
    mtmsg_value msg[] = {
        mv_table(2, 4),
        mv_int(10), mv_int(20),
        mv_int(7), mv_cstr("seven"),
        mv_cstr("name"), mv_cstr("job"),
        mv_cstr("args"), mv_table(1, 0), mv_num(1.5),
        mv_cstr("self"), mv_ref(0),
        mv_ref(1),
    };
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &b));
    CHECK_OK(mtmsg_buffer_addmsg(b, msg, COUNT_OF(msg)));
    CHECK(run_lua(b,
        "local mtmsg = require 'mtmsg'\n"
        "local t, args = mtmsg.buffer(buffer_id):nextmsg(0)\n"
        "assert(type(t) == 'table', 'a table: ' .. tostring(t))\n"
        "assert(#t == 2 and t[1] == 10 and t[2] == 20, 'array part')\n"
        "local seen = {}\n"
        "for i, v in ipairs(t) do seen[#seen + 1] = v end\n"
        "assert(#seen == 2, 'ipairs')\n"
        "assert(t[7] == 'seven', 'integer key')\n"
        "for k in pairs(t) do if type(k) == 'number' then assert(math.type(k) == 'integer', 'key subtype') end end\n"
        "assert(t.name == 'job' and t.args[1] == 1.5, 'hash part')\n"
        "assert(t.self == t, 'cycle')\n"
        "assert(args == t.args, 'shared across values')\n"));
    mtmsg_buffer_release(b);
}

static void c_tables_arrive_in_pieces_through_a_lua_reader(void)
{
    mtmsg_buffer *b = NULL;
    mtmsg_writer *w = NULL;
    mtmsg_value first[] = { mv_table(1, 0), mv_cstr("shared") };
    mtmsg_value second[] = { mv_table(0, 1), mv_cstr("again"), mv_ref(0), mv_ref(0) };
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &b));
    CHECK_OK(mtmsg_writer_new(64, 2.0, &w));
    CHECK_OK(mtmsg_writer_add(w, first, COUNT_OF(first)));
    CHECK_OK(mtmsg_writer_add(w, second, COUNT_OF(second)));
    CHECK_OK(mtmsg_writer_addmsg(w, b));
    mtmsg_writer_release(w);
    CHECK(run_lua(b,
        "local mtmsg = require 'mtmsg'\n"
        "local r = mtmsg.newreader()\n"
        "assert(r:nextmsg(mtmsg.buffer(buffer_id), 0))\n"
        "local shared = r:next()\n"
        "local wrapper = r:next()\n"
        "local last = r:next()\n"
        "assert(shared[1] == 'shared', 'first value')\n"
        "assert(wrapper.again == shared and last == shared, 'shared across reader:next calls')\n"));
    mtmsg_buffer_release(b);
}

static void lua_tables_arrive_in_c_as_the_documented_entries(void)
{
    mtmsg_buffer *b = NULL;
    mtmsg_reader *r = NULL;
    mtmsg_value got[16];
    size_t count = 0;
    mtmsg_value want[] = {
        mv_table(3, 1), mv_int(1), mv_int(2), mv_int(3),
        mv_cstr("sub"), mv_table(1, 0), mv_cstr("a"),
        mv_ref(1),
    };
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &b));
    CHECK_OK(mtmsg_reader_new(64, 2.0, &r));
    CHECK(run_lua(b,
        "local mtmsg = require 'mtmsg'\n"
        "local sub = {'a'}\n"
        "assert(mtmsg.buffer(buffer_id):addmsg({1, 2, 3, sub = sub}, sub))\n"));
    CHECK_OK(take_message(b, r, 0, got, COUNT_OF(got), &count));
    CHECK(count == COUNT_OF(want));
    for (size_t i = 0; i < count; i++) CHECK(mv_same(&got[i], &want[i]));
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void lua_refusal_reaches_no_c_reader(void)
{
    mtmsg_buffer *b = NULL;
    size_t count = 99;
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &b));
    CHECK(run_lua(b,
        "local mtmsg = require 'mtmsg'\n"
        "local b = mtmsg.buffer(buffer_id)\n"
        "local ok, err = pcall(b.addmsg, b, {ok = 1, job = {done = function() end}})\n"
        "assert(not ok and err:find('at [\"job\"].done', 1, true), tostring(err))\n"));
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 0);
    mtmsg_buffer_release(b);
}

int main(int argc, char **argv)
{
    RUN(c_tables_arrive_in_lua_with_their_shape);
    RUN(c_tables_arrive_in_pieces_through_a_lua_reader);
    RUN(lua_tables_arrive_in_c_as_the_documented_entries);
    RUN(lua_refusal_reaches_no_c_reader);
    return check_summary();
}
