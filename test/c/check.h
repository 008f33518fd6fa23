/* A tiny test harness for the C tests of mtmsg.
 *
 * A test is a `static void name(void)`; RUN(name) runs it and prints
 * "ok name" or "FAIL name: file:line: what". A failed CHECK returns from the
 * test at once (later steps would use what failed). A test that cannot run
 * on this machine calls check_skip(reason) and returns: "skip name: reason",
 * counted neither passed nor failed. check_summary() prints
 * "N passed, N failed" and gives the exit status.
 *
 * A watchdog (alarm) turns a hang into a failure naming the test:
 * MTMSG_TEST_WATCHDOG seconds per test (default 60, 0 turns it off).
 */
#ifndef MTMSG_TEST_CHECK_H
#define MTMSG_TEST_CHECK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtmsg.h"

static int check_passed, check_failed;
static const char *check_current = "(none)";
static char check_message[1024];
static char check_skip_reason[512];

static void check_set_message(const char *file, int line, const char *what)
{
    if (check_message[0] == '\0') {
        snprintf(check_message, sizeof check_message, "%s:%d: %s", file, line, what);
    }
}

/* The condition must hold, else the test fails and returns. */
#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            check_set_message(__FILE__, __LINE__, #cond); \
            return; \
        } \
    } while (0)

/* A call must give a status; on mismatch the message shows both names and
 * the thread's last error text. */
#define CHECK_STATUS(expr, want) \
    do { \
        mtmsg_status check_got_ = (expr); \
        if (check_got_ != (want)) { \
            char check_what_[768]; \
            snprintf(check_what_, sizeof check_what_, "%s gave %s, want %s (last error: %s)", \
                     #expr, mtmsg_status_name(check_got_), mtmsg_status_name(want), \
                     mtmsg_last_error()); \
            check_set_message(__FILE__, __LINE__, check_what_); \
            return; \
        } \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, MTMSG_OK)

static inline void check_skip(const char *reason)
{
    snprintf(check_skip_reason, sizeof check_skip_reason, "%s", reason);
}

static void check_write(const char *text)
{
    if (write(STDOUT_FILENO, text, strlen(text)) < 0) {
        /* nothing to do: the exit status tells */
    }
}

static void check_write_int(int n)
{
    char digits[16];
    int i = (int)sizeof digits;
    digits[--i] = '\0';
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0 && i > 0);
    check_write(digits + i);
}

/* SIGALRM: only async-signal-safe calls from here on. */
static void check_watchdog(int sig)
{
    (void)sig;
    check_write("FAIL ");
    check_write(check_current);
    check_write(": hangs (watchdog)\n");
    check_write_int(check_passed);
    check_write(" passed, ");
    check_write_int(check_failed + 1);
    check_write(" failed\n");
    _exit(1);
}

static unsigned check_watchdog_seconds(void)
{
    const char *text = getenv("MTMSG_TEST_WATCHDOG");
    return text ? (unsigned)atoi(text) : 60u;
}

static void check_run(const char *name, void (*test)(void), const char *filter)
{
    if (filter && !strstr(name, filter)) return;
    check_current = name;
    check_message[0] = '\0';
    check_skip_reason[0] = '\0';
    signal(SIGALRM, check_watchdog);
    alarm(check_watchdog_seconds());
    test();
    alarm(0);
    if (mtmsg_isabort()) mtmsg_abort(false); /* a failed test must not leave the next ones aborted */
    if (check_message[0] == '\0' && check_skip_reason[0] != '\0') {
        printf("skip %s: %s\n", name, check_skip_reason);
    } else if (check_message[0] == '\0') {
        check_passed++;
        printf("ok %s\n", name);
    } else {
        check_failed++;
        printf("FAIL %s: %s\n", name, check_message);
    }
    fflush(stdout);
}

/* RUN(test) inside main(int argc, char **argv): argv[1], when given, runs
 * only the tests whose name contains it. */
#define RUN(test) check_run(#test, test, argc > 1 ? argv[1] : NULL)

/* ---- time ---- */

static inline void pause_micros(long micros)
{
    struct timespec ts = { micros / 1000000, (micros % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

/* Seconds on the monotonic clock. */
static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- message values ---- */

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

static inline mtmsg_value mv_nil(void)
{
    mtmsg_value v;
    memset(&v, 0, sizeof v);
    v.type = MTMSG_NIL;
    return v;
}

static inline mtmsg_value mv_bool(bool b)
{
    mtmsg_value v = mv_nil();
    v.type = MTMSG_BOOLEAN;
    v.as.boolean = b;
    return v;
}

static inline mtmsg_value mv_int(int64_t i)
{
    mtmsg_value v = mv_nil();
    v.type = MTMSG_INTEGER;
    v.as.integer = i;
    return v;
}

static inline mtmsg_value mv_num(double d)
{
    mtmsg_value v = mv_nil();
    v.type = MTMSG_NUMBER;
    v.as.number = d;
    return v;
}

static inline mtmsg_value mv_str(const char *ptr, size_t len)
{
    mtmsg_value v = mv_nil();
    v.type = MTMSG_STRING;
    v.as.string.ptr = ptr;
    v.as.string.len = len;
    return v;
}

static inline mtmsg_value mv_cstr(const char *text)
{
    return mv_str(text, strlen(text));
}

static inline mtmsg_value mv_ptr(void *p)
{
    mtmsg_value v = mv_nil();
    v.type = MTMSG_POINTER;
    v.as.pointer = p;
    return v;
}

static inline mtmsg_value mv_fn(mtmsg_cfunction f)
{
    mtmsg_value v = mv_nil();
    v.type = MTMSG_CFUNCTION;
    v.as.cfunction = f;
    return v;
}

/* A table header: `array` values, then `pairs` key/value pairs follow (MTMSG_TABLE). */
static inline mtmsg_value mv_table(size_t array, size_t pairs)
{
    mtmsg_value v = mv_nil();
    v.type = MTMSG_TABLE;
    v.as.table.array = array;
    v.as.table.pairs = pairs;
    return v;
}

/* The message's table number `number` again (MTMSG_TABLE_REF). */
static inline mtmsg_value mv_ref(size_t number)
{
    mtmsg_value v = mv_nil();
    v.type = MTMSG_TABLE_REF;
    v.as.table_ref = number;
    return v;
}

/* Same type and payload; numbers bit for bit (NaN, -0.0), strings by bytes. */
static inline bool mv_same(const mtmsg_value *a, const mtmsg_value *b)
{
    if (a->type != b->type) return false;
    switch (a->type) {
    case MTMSG_NIL: return true;
    case MTMSG_BOOLEAN: return a->as.boolean == b->as.boolean;
    case MTMSG_INTEGER: return a->as.integer == b->as.integer;
    case MTMSG_NUMBER: return memcmp(&a->as.number, &b->as.number, sizeof(double)) == 0;
    case MTMSG_STRING:
        return a->as.string.len == b->as.string.len &&
               (a->as.string.len == 0 ||
                memcmp(a->as.string.ptr, b->as.string.ptr, a->as.string.len) == 0);
    case MTMSG_POINTER: return a->as.pointer == b->as.pointer;
    case MTMSG_CFUNCTION: return a->as.cfunction == b->as.cfunction;
    case MTMSG_TABLE: return a->as.table.array == b->as.table.array && a->as.table.pairs == b->as.table.pairs;
    case MTMSG_TABLE_REF: return a->as.table_ref == b->as.table_ref;
    default: return false;
    }
}

/* Takes the next message of a buffer into the reader (timeout seconds) and
 * decodes up to max of its values; *got = how many. */
static inline mtmsg_status take_message(mtmsg_buffer *buffer, mtmsg_reader *reader, double timeout,
                                        mtmsg_value *out, size_t max, size_t *got)
{
    mtmsg_status status = mtmsg_buffer_nextmsg(buffer, reader, timeout);
    *got = 0;
    if (status != MTMSG_OK) return status;
    return mtmsg_reader_next(reader, out, max, got);
}

static int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    fflush(stdout);
    return check_failed == 0 ? 0 : 1;
}

#endif
