/*
 * Tables between C and Lua: a C program sends an order, a table with
 * nested tables, to a Lua state on a thread of its own, which answers with
 * a table that C takes apart. In C a table is an MTMSG_TABLE value followed
 * by its entries in the same value array (mtmsg.h): first its array values,
 * then its key/value pairs, each nested table followed by its own entries;
 * a table sent a second time is an MTMSG_TABLE_REF to its number.
 *
 * Build as c_host.c (see there); `make example` builds and runs both.
 * Exits 0 when the answer is right, 1 otherwise.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <mtmsg.h>

#define WAIT_SECONDS 10.0

static const char worker_code[] =
    "local mtmsg = require 'mtmsg'\n"
    "local orders = mtmsg.buffer('c_tables.orders')\n"
    "local replies = mtmsg.buffer('c_tables.replies')\n"
    "local order, customer = orders:nextmsg(10)\n"
    "assert(order.customer == customer, 'a table sent twice arrives as one table')\n"
    "local total, lines = 0, {}\n"
    "for i, item in ipairs(order.items) do\n"
    "  total = total + item[2] * item[3]\n"
    "  lines[i] = item[1] .. ' x' .. item[2]\n"
    "end\n"
    "replies:addmsg({order = order.id, to = customer.name, total = total, lines = lines})\n";

static char worker_error[512];

static void *run_worker(void *unused)
{
    lua_State *L = luaL_newstate();
    (void)unused;
    if (L == NULL) {
        snprintf(worker_error, sizeof worker_error, "no memory for a Lua state");
        return NULL;
    }
    luaL_openlibs(L);
    if (luaL_dostring(L, worker_code) != 0) {
        snprintf(worker_error, sizeof worker_error, "%s", lua_tostring(L, -1));
    }
    lua_close(L);
    return NULL;
}

static mtmsg_value str(const char *text)
{
    mtmsg_value v = {.type = MTMSG_STRING, .as.string = {text, strlen(text)}};
    return v;
}

static mtmsg_value integer(int64_t i)
{
    mtmsg_value v = {.type = MTMSG_INTEGER, .as.integer = i};
    return v;
}

static mtmsg_value number(double n)
{
    mtmsg_value v = {.type = MTMSG_NUMBER, .as.number = n};
    return v;
}

static mtmsg_value table(size_t array, size_t pairs)
{
    mtmsg_value v = {.type = MTMSG_TABLE, .as.table = {array, pairs}};
    return v;
}

static mtmsg_value table_ref(size_t number)
{
    mtmsg_value v = {.type = MTMSG_TABLE_REF, .as.table_ref = number};
    return v;
}

/*
 * The index after the value that starts at `at`: a table's value runs on
 * while its entries, and theirs, are still owed. mtmsg checked the shape
 * when the message was added, so the count never runs past the entries.
 */
static size_t skip_value(const mtmsg_value *entries, size_t at)
{
    size_t owed = 1;
    while (owed > 0) {
        owed--;
        if (entries[at].type == MTMSG_TABLE) {
            owed += entries[at].as.table.array + 2 * entries[at].as.table.pairs;
        }
        at++;
    }
    return at;
}

/* The index of the value of key `name` in the table at `at`, or 0 when it has none. */
static size_t field(const mtmsg_value *entries, size_t at, const char *name)
{
    size_t array = entries[at].as.table.array, pairs = entries[at].as.table.pairs;
    at++;
    for (size_t k = 0; k < array; k++) {
        at = skip_value(entries, at);
    }
    for (size_t p = 0; p < pairs; p++) {
        size_t value = skip_value(entries, at);
        if (entries[at].type == MTMSG_STRING && entries[at].as.string.len == strlen(name) &&
            memcmp(entries[at].as.string.ptr, name, strlen(name)) == 0) {
            return value;
        }
        at = skip_value(entries, value);
    }
    return 0;
}

/* Lua 5.1 and LuaJIT hand every number back as a double, 5.3+ integers as integers. */
static double as_number(const mtmsg_value *v)
{
    return v->type == MTMSG_INTEGER ? (double)v->as.integer : v->type == MTMSG_NUMBER ? v->as.number : -1;
}

int main(void)
{
    mtmsg_buffer *orders = NULL, *replies = NULL;
    mtmsg_reader *reader = NULL;
    pthread_t thread;
    mtmsg_value reply[64];
    size_t got = 0, total_at, to_at, lines_at, order_at;
    int ok = 1;

    /*
     * order = {id = 7, customer = {name = "Ada"}, items = {{"apple", 3, 0.5}, {"pear", 2, 0.75}}},
     * sent with order.customer again as a second value: tables 0 (order), 1 (customer), 2, 3, 4.
     */
    mtmsg_value order[] = {
        table(0, 3),
        str("id"), integer(7),
        str("customer"), table(0, 1), str("name"), str("Ada"),
        str("items"), table(2, 0),
            table(3, 0), str("apple"), integer(3), number(0.5),
            table(3, 0), str("pear"), integer(2), number(0.75),
        table_ref(1),
    };

    if (mtmsg_buffer_new("c_tables.orders", 15, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2, MTMSG_DEFAULT_GROW,
                         &orders) != MTMSG_OK ||
        mtmsg_buffer_new("c_tables.replies", 16, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2, MTMSG_DEFAULT_GROW,
                         &replies) != MTMSG_OK ||
        mtmsg_reader_new(MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW, &reader) != MTMSG_OK ||
        mtmsg_buffer_addmsg(orders, order, sizeof order / sizeof order[0]) != MTMSG_OK) {
        fprintf(stderr, "mtmsg: %s\n", mtmsg_last_error());
        return 1;
    }
    if (pthread_create(&thread, NULL, run_worker, NULL) != 0) {
        fprintf(stderr, "cannot start a thread\n");
        return 1;
    }

    /* the reply: one value, a table of pairs, read whole (it is small) */
    if (mtmsg_buffer_nextmsg(replies, reader, WAIT_SECONDS) != MTMSG_OK ||
        mtmsg_reader_next(reader, reply, sizeof reply / sizeof reply[0], &got) != MTMSG_OK || got == 0 ||
        reply[0].type != MTMSG_TABLE) {
        fprintf(stderr, "no reply (%s)\n", mtmsg_last_error());
        ok = 0;
    }
    pthread_join(thread, NULL);
    if (worker_error[0] != '\0') {
        fprintf(stderr, "Lua: %s\n", worker_error);
        ok = 0;
    }
    if (ok) {
        order_at = field(reply, 0, "order");
        to_at = field(reply, 0, "to");
        total_at = field(reply, 0, "total");
        lines_at = field(reply, 0, "lines");
        ok = order_at && to_at && total_at && lines_at && reply[to_at].type == MTMSG_STRING &&
             reply[lines_at].type == MTMSG_TABLE && reply[lines_at].as.table.array == 2;
    }
    if (ok) {
        printf("order %.0f for %.*s: total %.2f:", as_number(&reply[order_at]), (int)reply[to_at].as.string.len,
               reply[to_at].as.string.ptr, as_number(&reply[total_at]));
        for (size_t i = 1; i <= 2; i++) {
            const mtmsg_value *line = &reply[lines_at + i];
            printf(" %.*s", (int)line->as.string.len, line->as.string.ptr);
        }
        printf("\n");
        ok = as_number(&reply[order_at]) == 7 && as_number(&reply[total_at]) == 3.0 &&
             reply[to_at].as.string.len == 3 && memcmp(reply[to_at].as.string.ptr, "Ada", 3) == 0;
    }
    mtmsg_reader_release(reader);
    mtmsg_buffer_release(replies);
    mtmsg_buffer_release(orders);
    if (!ok) {
        fprintf(stderr, "wrong reply\n");
    }
    return ok ? 0 : 1;
}
