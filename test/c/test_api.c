/* The C API of mtmsg in one thread (and a few helper threads): everything
 * the Lua API can do, through include/mtmsg.h alone. */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"

#define NEW_BUFFER(var) \
    mtmsg_buffer *var = NULL; \
    CHECK_OK(mtmsg_buffer_new(NULL, 0, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2, MTMSG_DEFAULT_GROW, &var))

#define NEW_FIXED_BUFFER(var, size1, size2) \
    mtmsg_buffer *var = NULL; \
    CHECK_OK(mtmsg_buffer_new(NULL, 0, size1, size2, 0.0, &var))

#define NEW_READER(var) \
    mtmsg_reader *var = NULL; \
    CHECK_OK(mtmsg_reader_new(64, 2.0, &var))

#define NEW_LISTENER(var) \
    mtmsg_listener *var = NULL; \
    CHECK_OK(mtmsg_listener_new(NULL, 0, &var))

static bool starts_with(const char *text, const char *prefix)
{
    return text && strncmp(text, prefix, strlen(prefix)) == 0;
}

static int sample_function(void)
{
    return 42;
}

/* ---- library ---- */

static void version_is_major_minor_patch(void)
{
    const char *version = mtmsg_version();
    unsigned major, minor, patch;
    CHECK(version != NULL && sscanf(version, "%u.%u.%u", &major, &minor, &patch) == 3);
}

static void status_names_are_the_error_names(void)
{
    CHECK(strcmp(mtmsg_status_name(MTMSG_AMBIGUOUS_NAME), "mtmsg.error.ambiguous_name") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_HAS_NOTIFIER), "mtmsg.error.has_notifier") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_MESSAGE_SIZE), "mtmsg.error.message_size") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_NO_BUFFERS), "mtmsg.error.no_buffers") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_OBJECT_CLOSED), "mtmsg.error.object_closed") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_OPERATION_ABORTED), "mtmsg.error.operation_aborted") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_OUT_OF_MEMORY), "mtmsg.error.out_of_memory") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_UNKNOWN_OBJECT), "mtmsg.error.unknown_object") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_OK), "ok") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_TIMEOUT), "timeout") == 0);
    CHECK(strcmp(mtmsg_status_name(MTMSG_WOULD_BLOCK), "would_block") == 0);
    CHECK(strstr(mtmsg_status_name(MTMSG_INVALID_ARGUMENT), "invalid_argument") != NULL);
    CHECK(strstr(mtmsg_status_name(MTMSG_PANIC), "panic") != NULL);
}

/* C may pass any int where the header says mtmsg_status: a value no status
 * has gets a name too, never a crash. Checked in a child process, so that
 * a crash fails this test alone. */
static void unknown_status_values_have_a_name(void)
{
    fflush(stdout);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        int bad = 0;
        int values[] = { -1, 13, 14, 99, 1000000 };
        for (size_t i = 0; i < COUNT_OF(values); i++) {
            const char *name = mtmsg_status_name((mtmsg_status)values[i]);
            if (name == NULL || strlen(name) > 64) bad++;
        }
        _exit(bad == 0 ? 0 : 1);
    }
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(!WIFSIGNALED(status)); /* it crashed */
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void time_is_seconds_since_the_epoch(void)
{
    double now = mtmsg_time();
    CHECK(fabs(now - (double)time(NULL)) < 2.0);
    /* the smallest step seen in a few tries (one may be cut by the scheduler) */
    double step = 1.0;
    for (int try = 0; try < 5; try++) {
        double first = mtmsg_time(), later = first;
        for (long i = 0; i < 10000000 && later == first; i++) later = mtmsg_time();
        if (later > first && later - first < step) step = later - first;
    }
    CHECK(step < 0.001);
}

static void sleep_suspends_for_the_given_seconds(void)
{
    double start = mtmsg_time();
    CHECK_OK(mtmsg_sleep(0.05));
    double took = mtmsg_time() - start;
    CHECK(took >= 0.05 && took < 1.0);
    start = mtmsg_time();
    CHECK_OK(mtmsg_sleep(0));
    CHECK_OK(mtmsg_sleep(-1));
    CHECK(mtmsg_time() - start < 0.1);
    CHECK_STATUS(mtmsg_sleep(NAN), MTMSG_INVALID_ARGUMENT);
}

/* The one rule of every waiting call: 0 or negative only looks,
 * MTMSG_FOREVER (infinity) waits as long as it takes, NaN is refused. */
static void a_negative_timeout_only_looks_and_forever_is_infinity(void)
{
    mtmsg_buffer *b = NULL, *fixed = NULL;
    mtmsg_reader *r = NULL;
    mtmsg_value v = mv_int(1);
    CHECK(isinf(MTMSG_FOREVER) && MTMSG_FOREVER > 0);
    CHECK_OK(mtmsg_buffer_new(NULL, 0, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2, MTMSG_DEFAULT_GROW, &b));
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 16, 16, 0, &fixed));
    CHECK_OK(mtmsg_reader_new(64, 2, &r));
    CHECK_OK(mtmsg_buffer_addmsg(fixed, &v, 1));
    double start = mtmsg_time();
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, -1), MTMSG_TIMEOUT);
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, -INFINITY), MTMSG_TIMEOUT);
    CHECK_STATUS(mtmsg_buffer_addmsg_wait(fixed, &v, 1, -1), MTMSG_TIMEOUT);
    CHECK_OK(mtmsg_sleep(-1));
    CHECK(mtmsg_time() - start < 0.5);
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, NAN), MTMSG_INVALID_ARGUMENT);
    CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, MTMSG_FOREVER));
    mtmsg_reader_release(r);
    mtmsg_buffer_release(fixed);
    mtmsg_buffer_release(b);
}

/* ---- buffers ---- */

static void buffer_is_found_by_id_and_by_name(void)
{
    mtmsg_buffer *b = NULL, *by_id = NULL, *by_name = NULL, *clone = NULL;
    CHECK_OK(mtmsg_buffer_new("c.api.find", 10, 128, 1024, 2.0, &b));
    uint64_t id = 0, id2 = 0;
    CHECK_OK(mtmsg_buffer_id(b, &id));
    CHECK_OK(mtmsg_buffer_find_id(id, &by_id));
    CHECK_OK(mtmsg_buffer_find_name("c.api.find", 10, &by_name));
    CHECK_OK(mtmsg_buffer_clone(b, &clone));
    CHECK_OK(mtmsg_buffer_id(by_id, &id2));
    CHECK(id2 == id);
    CHECK_OK(mtmsg_buffer_id(by_name, &id2));
    CHECK(id2 == id);
    CHECK_OK(mtmsg_buffer_id(clone, &id2));
    CHECK(id2 == id);
    const char *name = NULL;
    size_t len = 0;
    CHECK_OK(mtmsg_buffer_name(by_id, &name, &len));
    CHECK(len == 10 && memcmp(name, "c.api.find", 10) == 0);

    mtmsg_value v = mv_cstr("through by_id");
    CHECK_OK(mtmsg_buffer_addmsg(by_id, &v, 1));
    size_t count = 0;
    CHECK_OK(mtmsg_buffer_msgcnt(by_name, &count));
    CHECK(count == 1);

    mtmsg_buffer_release(by_id);
    mtmsg_buffer_release(by_name);
    mtmsg_buffer_release(clone);
    mtmsg_buffer_release(b);
    mtmsg_buffer *gone = NULL;
    CHECK_STATUS(mtmsg_buffer_find_id(id, &gone), MTMSG_UNKNOWN_OBJECT);
    CHECK(starts_with(mtmsg_last_error(), "mtmsg.error.unknown_object"));
    CHECK_STATUS(mtmsg_buffer_find_name("c.api.find", 10, &gone), MTMSG_UNKNOWN_OBJECT);
}

static void unnamed_buffer_has_no_name_and_unique_id(void)
{
    NEW_BUFFER(a);
    NEW_BUFFER(b);
    const char *name = "x";
    size_t len = 7;
    CHECK_OK(mtmsg_buffer_name(a, &name, &len));
    CHECK(name == NULL);
    uint64_t id_a = 0, id_b = 0;
    CHECK_OK(mtmsg_buffer_id(a, &id_a));
    CHECK_OK(mtmsg_buffer_id(b, &id_b));
    CHECK(id_a != id_b);
    mtmsg_buffer_release(a);
    mtmsg_buffer_release(b);
}

static void name_with_zero_bytes_is_found_only_whole(void)
{
    static const char name[] = "c.api\0zero";
    mtmsg_buffer *b = NULL, *found = NULL;
    CHECK_OK(mtmsg_buffer_new(name, sizeof name - 1, 128, 1024, 2.0, &b));
    CHECK_OK(mtmsg_buffer_find_name(name, sizeof name - 1, &found));
    CHECK_STATUS(mtmsg_buffer_find_name(name, 5, &found), MTMSG_UNKNOWN_OBJECT);
    const char *got = NULL;
    size_t len = 0;
    CHECK_OK(mtmsg_buffer_name(found, &got, &len));
    CHECK(len == sizeof name - 1 && memcmp(got, name, len) == 0);
    mtmsg_buffer_release(found);
    mtmsg_buffer_release(b);
}

static void shared_name_is_ambiguous(void)
{
    mtmsg_buffer *a = NULL, *b = NULL, *found = NULL;
    CHECK_OK(mtmsg_buffer_new("c.api.twice", 11, 128, 1024, 2.0, &a));
    CHECK_OK(mtmsg_buffer_new("c.api.twice", 11, 128, 1024, 2.0, &b));
    CHECK_STATUS(mtmsg_buffer_find_name("c.api.twice", 11, &found), MTMSG_AMBIGUOUS_NAME);
    CHECK(starts_with(mtmsg_last_error(), "mtmsg.error.ambiguous_name"));
    mtmsg_buffer_release(a);
    CHECK_OK(mtmsg_buffer_find_name("c.api.twice", 11, &found));
    mtmsg_buffer_release(found);
    mtmsg_buffer_release(b);
}

static void every_value_type_round_trips(void)
{
    static const char zeros[] = "a\0b\0";
    int local = 0;
    mtmsg_value in[] = {
        mv_nil(), mv_bool(true), mv_bool(false),
        mv_int(0), mv_int(INT64_MAX), mv_int(INT64_MIN), mv_int(-1),
        mv_num(0.1), mv_num(-0.0), mv_num(INFINITY), mv_num(-INFINITY), mv_num(NAN),
        mv_num(9007199254740992.0), mv_num(5e-324),
        mv_str(zeros, sizeof zeros - 1), mv_str("", 0), mv_cstr("plain"),
        mv_ptr(&local), mv_ptr(NULL), mv_fn((mtmsg_cfunction)sample_function),
        mv_nil(), mv_nil(),
    };
    NEW_BUFFER(b);
    NEW_READER(r);
    CHECK_OK(mtmsg_buffer_addmsg(b, in, COUNT_OF(in)));
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    size_t remaining = 0;
    CHECK_OK(mtmsg_reader_remaining(r, &remaining));
    CHECK(remaining == COUNT_OF(in));
    mtmsg_value out[COUNT_OF(in) + 4];
    size_t got = 0;
    CHECK_OK(mtmsg_reader_next(r, out, COUNT_OF(out), &got));
    CHECK(got == COUNT_OF(in));
    for (size_t i = 0; i < got; i++) CHECK(mv_same(&out[i], &in[i]));
    CHECK(signbit(out[8].as.number));
    CHECK(isnan(out[11].as.number));
    CHECK(((int (*)(void))out[19].as.cfunction)() == 42);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void large_string_round_trips(void)
{
    size_t len = 10u * 1024u * 1024u;
    char *big = malloc(len);
    CHECK(big != NULL);
    for (size_t i = 0; i < len; i++) big[i] = (char)(i * 7);
    mtmsg_value v = mv_str(big, len);
    mtmsg_buffer *b = NULL;
    mtmsg_reader *r = NULL;
    mtmsg_value out;
    size_t got = 0;
    bool same = false;
    if (mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &b) == MTMSG_OK &&
        mtmsg_reader_new(64, 2.0, &r) == MTMSG_OK &&
        mtmsg_buffer_addmsg(b, &v, 1) == MTMSG_OK &&
        take_message(b, r, 0, &out, 1, &got) == MTMSG_OK) {
        same = got == 1 && mv_same(&out, &v);
    }
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
    free(big);
    CHECK(same);
}

static void empty_message_differs_from_timeout(void)
{
    NEW_BUFFER(b);
    NEW_READER(r);
    mtmsg_value none[1];
    CHECK_OK(mtmsg_buffer_addmsg(b, none, 0));
    size_t count = 0;
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 1);
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    size_t remaining = 99;
    CHECK_OK(mtmsg_reader_remaining(r, &remaining));
    CHECK(remaining == 0);
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, 0), MTMSG_TIMEOUT);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void nextmsg_times_out_after_the_timeout(void)
{
    NEW_BUFFER(b);
    NEW_READER(r);
    double start = mtmsg_time();
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, 0.2), MTMSG_TIMEOUT);
    double took = mtmsg_time() - start;
    CHECK(took >= 0.2 && took < 1.5);
    start = mtmsg_time();
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, 0), MTMSG_TIMEOUT);
    CHECK(mtmsg_time() - start < 0.1);
    mtmsg_value v = mv_int(5);
    CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, MTMSG_FOREVER));
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void messages_keep_fifo_order_and_setmsg_discards_older(void)
{
    NEW_BUFFER(b);
    NEW_READER(r);
    for (int64_t i = 0; i < 100; i++) {
        mtmsg_value v = mv_int(i);
        CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
    }
    mtmsg_value out;
    size_t got = 0;
    for (int64_t i = 0; i < 50; i++) {
        CHECK_OK(take_message(b, r, 0, &out, 1, &got));
        CHECK(got == 1 && out.type == MTMSG_INTEGER && out.as.integer == i);
    }
    mtmsg_value set = mv_cstr("set");
    CHECK_OK(mtmsg_buffer_setmsg(b, &set, 1));
    size_t count = 0;
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 1);
    CHECK_OK(take_message(b, r, 0, &out, 1, &got));
    CHECK(got == 1 && mv_same(&out, &set));
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, 0), MTMSG_TIMEOUT);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void fixed_size_buffer_refuses_large_and_full(void)
{
    NEW_FIXED_BUFFER(b, 64, 200);
    NEW_READER(r);
    char text[100];
    memset(text, 'x', sizeof text);
    mtmsg_value big = mv_str(text, sizeof text);
    CHECK_STATUS(mtmsg_buffer_addmsg(b, &big, 1), MTMSG_MESSAGE_SIZE);
    CHECK(starts_with(mtmsg_last_error(), "mtmsg.error.message_size"));
    CHECK_STATUS(mtmsg_buffer_setmsg(b, &big, 1), MTMSG_MESSAGE_SIZE);
    mtmsg_value msg[2] = { mv_int(0), mv_str(text, 20) };
    int added = 0;
    while (added < 1000 && mtmsg_buffer_addmsg(b, msg, 2) == MTMSG_OK) added++;
    CHECK(added >= 2 && added < 1000);
    CHECK_STATUS(mtmsg_buffer_addmsg(b, msg, 2), MTMSG_WOULD_BLOCK);
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    CHECK_OK(mtmsg_buffer_addmsg(b, msg, 2));
    CHECK_STATUS(mtmsg_buffer_addmsg(b, msg, 2), MTMSG_WOULD_BLOCK);
    CHECK_OK(mtmsg_buffer_clear(b));
    CHECK_OK(mtmsg_buffer_addmsg(b, msg, 2));
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void addmsg_wait_waits_for_room(void)
{
    NEW_FIXED_BUFFER(b, 64, 64);
    NEW_READER(r);
    mtmsg_value v = mv_cstr("fill it up");
    CHECK_OK(mtmsg_buffer_addmsg_wait(b, &v, 1, 0));
    while (mtmsg_buffer_addmsg(b, &v, 1) == MTMSG_OK) {}
    double start = mtmsg_time();
    CHECK_STATUS(mtmsg_buffer_addmsg_wait(b, &v, 1, 0.1), MTMSG_TIMEOUT);
    double took = mtmsg_time() - start;
    CHECK(took >= 0.1 && took < 1.5);
    CHECK_STATUS(mtmsg_buffer_addmsg_wait(b, &v, 1, 0), MTMSG_TIMEOUT);
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    CHECK_OK(mtmsg_buffer_addmsg_wait(b, &v, 1, MTMSG_FOREVER));
    char text[100];
    memset(text, 'y', sizeof text);
    mtmsg_value big = mv_str(text, sizeof text);
    CHECK_STATUS(mtmsg_buffer_addmsg_wait(b, &big, 1, MTMSG_FOREVER), MTMSG_MESSAGE_SIZE);
    CHECK_STATUS(mtmsg_buffer_addmsg_wait(b, &v, 1, NAN), MTMSG_INVALID_ARGUMENT);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void huge_sizes_never_crash(void)
{
    mtmsg_buffer *b = NULL;
    mtmsg_value v = mv_cstr("x");
    mtmsg_status s = mtmsg_buffer_new(NULL, 0, SIZE_MAX, SIZE_MAX, 0.0, &b);
    CHECK(s == MTMSG_OK || s == MTMSG_OUT_OF_MEMORY);
    if (s == MTMSG_OK) {
        s = mtmsg_buffer_addmsg(b, &v, 1);
        CHECK(s == MTMSG_OK || s == MTMSG_OUT_OF_MEMORY);
        mtmsg_buffer_release(b);
    }
    s = mtmsg_buffer_new(NULL, 0, (size_t)1 << 62, 16, 2.0, &b);
    CHECK(s == MTMSG_OK || s == MTMSG_OUT_OF_MEMORY);
    if (s == MTMSG_OK) {
        s = mtmsg_buffer_addmsg(b, &v, 1);
        CHECK(s == MTMSG_OK || s == MTMSG_OUT_OF_MEMORY);
        mtmsg_buffer_release(b);
    }
    CHECK_STATUS(mtmsg_buffer_new(NULL, 0, 16, 16, NAN, &b), MTMSG_INVALID_ARGUMENT);
    mtmsg_writer *w = NULL;
    s = mtmsg_writer_new(SIZE_MAX, 0.0, &w);
    CHECK(s == MTMSG_OK || s == MTMSG_OUT_OF_MEMORY);
    if (s == MTMSG_OK) {
        s = mtmsg_writer_add(w, &v, 1);
        CHECK(s == MTMSG_OK || s == MTMSG_OUT_OF_MEMORY);
        mtmsg_writer_release(w);
    }
}

static void grow_at_most_one_grows_by_what_is_needed(void)
{
    mtmsg_buffer *b = NULL;
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 16, 16, 1.0, &b));
    char text[1000];
    memset(text, 'g', sizeof text);
    mtmsg_value v = mv_str(text, sizeof text);
    CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
    CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
    size_t count = 0;
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 2);
    mtmsg_buffer_release(b);
}

/* ---- listeners ---- */

static mtmsg_status add_text(mtmsg_buffer *b, const char *text)
{
    mtmsg_value v = mv_cstr(text);
    return mtmsg_buffer_addmsg(b, &v, 1);
}

static mtmsg_status set_text(mtmsg_buffer *b, const char *text)
{
    mtmsg_value v = mv_cstr(text);
    return mtmsg_buffer_setmsg(b, &v, 1);
}

/* Takes the next message of a listener; true when it is the given text. */
static bool listener_gives(mtmsg_listener *lst, mtmsg_reader *r, const char *text)
{
    mtmsg_value v;
    size_t got = 0;
    if (mtmsg_listener_nextmsg(lst, r, 0) != MTMSG_OK) return false;
    if (mtmsg_reader_next(r, &v, 1, &got) != MTMSG_OK || got != 1) return false;
    return mv_same(&v, &(mtmsg_value){ .type = MTMSG_STRING, .as.string = { text, strlen(text) } });
}

static void listener_serves_the_seed_example_m1_m4_m3_m5(void)
{
    NEW_LISTENER(lst);
    NEW_READER(r);
    mtmsg_buffer *b1 = NULL, *b2 = NULL;
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &b1));
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &b2));
    CHECK_OK(add_text(b1, "m1"));
    CHECK_OK(add_text(b2, "m2"));
    CHECK_OK(add_text(b1, "m3"));
    CHECK_OK(set_text(b2, "m4"));
    CHECK_OK(add_text(b2, "m5"));
    CHECK(listener_gives(lst, r, "m1"));
    CHECK(listener_gives(lst, r, "m4"));
    CHECK(listener_gives(lst, r, "m3"));
    CHECK(listener_gives(lst, r, "m5"));
    CHECK_STATUS(mtmsg_listener_nextmsg(lst, r, 0), MTMSG_TIMEOUT);
    mtmsg_buffer_release(b1);
    mtmsg_buffer_release(b2);
    mtmsg_reader_release(r);
    mtmsg_listener_release(lst);
}

static void listener_round_robin_and_setmsg_keeps_place(void)
{
    NEW_LISTENER(lst);
    NEW_READER(r);
    mtmsg_buffer *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &a));
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &b));
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &c));
    CHECK_OK(add_text(a, "a1"));
    CHECK_OK(add_text(a, "a2"));
    CHECK_OK(add_text(b, "b1"));
    CHECK_OK(add_text(c, "c1"));
    CHECK_OK(set_text(a, "a3")); /* a keeps the front */
    CHECK(listener_gives(lst, r, "a3"));
    CHECK(listener_gives(lst, r, "b1"));
    CHECK_OK(add_text(b, "b2")); /* empty b joins the back, behind c */
    CHECK(listener_gives(lst, r, "c1"));
    CHECK(listener_gives(lst, r, "b2"));
    mtmsg_buffer_release(a);
    mtmsg_buffer_release(b);
    mtmsg_buffer_release(c);
    mtmsg_reader_release(r);
    mtmsg_listener_release(lst);
}

static void listener_without_buffers_gives_no_buffers(void)
{
    NEW_LISTENER(lst);
    NEW_READER(r);
    CHECK_STATUS(mtmsg_listener_nextmsg(lst, r, 0), MTMSG_NO_BUFFERS);
    CHECK(starts_with(mtmsg_last_error(), "mtmsg.error.no_buffers"));
    double start = mtmsg_time();
    CHECK_STATUS(mtmsg_listener_nextmsg(lst, r, 2.0), MTMSG_NO_BUFFERS);
    CHECK(mtmsg_time() - start < 1.0);
    mtmsg_reader_release(r);
    mtmsg_listener_release(lst);
}

static void released_listener_buffer_still_delivers(void)
{
    NEW_LISTENER(lst);
    NEW_READER(r);
    mtmsg_buffer *b = NULL;
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &b));
    uint64_t id = 0;
    CHECK_OK(mtmsg_buffer_id(b, &id));
    CHECK_OK(add_text(b, "left"));
    mtmsg_buffer_release(b);
    mtmsg_buffer *gone = NULL;
    CHECK_STATUS(mtmsg_buffer_find_id(id, &gone), MTMSG_UNKNOWN_OBJECT);
    CHECK(listener_gives(lst, r, "left"));
    CHECK_STATUS(mtmsg_listener_nextmsg(lst, r, 0), MTMSG_NO_BUFFERS);
    mtmsg_reader_release(r);
    mtmsg_listener_release(lst);
}

static void listener_is_found_and_lives_while_a_buffer_lives(void)
{
    mtmsg_listener *lst = NULL, *found = NULL, *clone = NULL;
    CHECK_OK(mtmsg_listener_new("c.api.listener", 14, &lst));
    uint64_t id = 0, id2 = 0;
    CHECK_OK(mtmsg_listener_id(lst, &id));
    CHECK_OK(mtmsg_listener_find_name("c.api.listener", 14, &found));
    CHECK_OK(mtmsg_listener_id(found, &id2));
    CHECK(id == id2);
    CHECK_OK(mtmsg_listener_clone(found, &clone));
    const char *name = NULL;
    size_t len = 0;
    CHECK_OK(mtmsg_listener_name(clone, &name, &len));
    CHECK(len == 14 && memcmp(name, "c.api.listener", 14) == 0);
    mtmsg_buffer *b = NULL;
    CHECK_OK(mtmsg_listener_newbuffer(lst, "c.api.lb", 8, 128, 1024, 2.0, &b));
    mtmsg_listener_release(found);
    mtmsg_listener_release(clone);
    mtmsg_listener_release(lst);
    CHECK_OK(mtmsg_listener_find_id(id, &found)); /* kept by its buffer */
    mtmsg_listener_release(found);
    mtmsg_buffer_release(b);
    CHECK_STATUS(mtmsg_listener_find_id(id, &found), MTMSG_UNKNOWN_OBJECT);
    CHECK_STATUS(mtmsg_listener_find_name("c.api.listener", 14, &found), MTMSG_UNKNOWN_OBJECT);
}

/* ---- close, abort, nonblock, clear ---- */

static void closed_buffer_gives_object_closed_with_its_name(void)
{
    mtmsg_buffer *b = NULL, *other = NULL;
    CHECK_OK(mtmsg_buffer_new("in", 2, 128, 1024, 2.0, &b));
    CHECK_OK(mtmsg_buffer_clone(b, &other));
    NEW_READER(r);
    mtmsg_writer *w = NULL;
    CHECK_OK(mtmsg_writer_new(64, 2.0, &w));
    CHECK_OK(add_text(b, "queued"));
    CHECK_OK(mtmsg_buffer_close(b));
    uint64_t id = 0;
    CHECK_OK(mtmsg_buffer_id(b, &id));
    char want[128];
    snprintf(want, sizeof want, "mtmsg.error.object_closed: mtmsg.buffer(name=\"in\",id=%llu)",
             (unsigned long long)id);
    mtmsg_value v = mv_int(1);
    CHECK_STATUS(mtmsg_buffer_addmsg(other, &v, 1), MTMSG_OBJECT_CLOSED);
    CHECK(strcmp(mtmsg_last_error(), want) == 0);
    CHECK_STATUS(mtmsg_buffer_setmsg(b, &v, 1), MTMSG_OBJECT_CLOSED);
    CHECK_STATUS(mtmsg_buffer_addmsg_wait(b, &v, 1, 0), MTMSG_OBJECT_CLOSED);
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, 0), MTMSG_OBJECT_CLOSED);
    CHECK_STATUS(mtmsg_buffer_nextmsg(other, r, MTMSG_FOREVER), MTMSG_OBJECT_CLOSED);
    size_t count = 0;
    CHECK_STATUS(mtmsg_buffer_msgcnt(b, &count), MTMSG_OBJECT_CLOSED);
    CHECK_STATUS(mtmsg_buffer_clear(other), MTMSG_OBJECT_CLOSED);
    CHECK_OK(mtmsg_writer_add(w, &v, 1));
    CHECK_STATUS(mtmsg_writer_addmsg(w, b), MTMSG_OBJECT_CLOSED);
    mtmsg_writer_release(w);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(other);
    mtmsg_buffer_release(b);
}

static void closed_listener_closes_its_buffers(void)
{
    NEW_LISTENER(lst);
    NEW_READER(r);
    mtmsg_buffer *b = NULL;
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &b));
    CHECK_OK(add_text(b, "queued"));
    CHECK_OK(mtmsg_listener_close(lst));
    CHECK_STATUS(mtmsg_listener_nextmsg(lst, r, 0), MTMSG_OBJECT_CLOSED);
    CHECK(starts_with(mtmsg_last_error(), "mtmsg.error.object_closed: mtmsg.listener("));
    CHECK_STATUS(add_text(b, "more"), MTMSG_OBJECT_CLOSED);
    CHECK_STATUS(mtmsg_listener_clear(lst), MTMSG_OBJECT_CLOSED);
    mtmsg_buffer_release(b);
    mtmsg_reader_release(r);
    mtmsg_listener_release(lst);
}

static void aborted_buffer_refuses_until_unaborted_and_loses_nothing(void)
{
    NEW_BUFFER(b);
    NEW_READER(r);
    mtmsg_buffer *other = NULL;
    CHECK_OK(mtmsg_buffer_clone(b, &other));
    CHECK_OK(add_text(b, "kept"));
    CHECK_OK(mtmsg_buffer_abort(b, true));
    bool flag = false;
    CHECK_OK(mtmsg_buffer_isabort(other, &flag));
    CHECK(flag);
    CHECK_STATUS(add_text(other, "no"), MTMSG_OPERATION_ABORTED);
    CHECK(starts_with(mtmsg_last_error(), "mtmsg.error.operation_aborted"));
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, 0), MTMSG_OPERATION_ABORTED);
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, MTMSG_FOREVER), MTMSG_OPERATION_ABORTED);
    CHECK_STATUS(mtmsg_buffer_clear(b), MTMSG_OPERATION_ABORTED);
    CHECK_OK(mtmsg_buffer_abort(other, false));
    CHECK_OK(mtmsg_buffer_isabort(b, &flag));
    CHECK(!flag);
    mtmsg_value v;
    size_t got = 0;
    CHECK_OK(take_message(b, r, 0, &v, 1, &got));
    CHECK(got == 1 && v.type == MTMSG_STRING && v.as.string.len == 4);
    mtmsg_buffer_release(other);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void aborted_listener_refuses_until_unaborted(void)
{
    NEW_LISTENER(lst);
    NEW_READER(r);
    mtmsg_buffer *b = NULL;
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &b));
    CHECK_OK(add_text(b, "kept"));
    CHECK_OK(mtmsg_listener_abort(lst, true));
    bool flag = false;
    CHECK_OK(mtmsg_listener_isabort(lst, &flag));
    CHECK(flag);
    CHECK_STATUS(mtmsg_listener_nextmsg(lst, r, 0), MTMSG_OPERATION_ABORTED);
    CHECK_OK(mtmsg_listener_abort(lst, false));
    CHECK(listener_gives(lst, r, "kept"));
    mtmsg_buffer_release(b);
    mtmsg_reader_release(r);
    mtmsg_listener_release(lst);
}

static void global_abort_refuses_every_operation_and_creation(void)
{
    NEW_BUFFER(b);
    NEW_READER(r);
    CHECK_OK(add_text(b, "kept"));
    CHECK_OK(mtmsg_abort(true));
    CHECK(mtmsg_isabort());
    mtmsg_buffer *nb = NULL;
    mtmsg_listener *nl = NULL;
    CHECK_STATUS(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &nb), MTMSG_OPERATION_ABORTED);
    CHECK_STATUS(mtmsg_listener_new(NULL, 0, &nl), MTMSG_OPERATION_ABORTED);
    CHECK_STATUS(add_text(b, "no"), MTMSG_OPERATION_ABORTED);
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, MTMSG_FOREVER), MTMSG_OPERATION_ABORTED);
    CHECK_STATUS(mtmsg_sleep(0.05), MTMSG_OPERATION_ABORTED);
    CHECK_OK(mtmsg_abort(false));
    CHECK(!mtmsg_isabort());
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &nb));
    mtmsg_buffer_release(nb);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void nonblock_belongs_to_the_handle(void)
{
    NEW_BUFFER(b);
    NEW_READER(r);
    CHECK_OK(mtmsg_buffer_nonblock(b, true));
    bool flag = false;
    CHECK_OK(mtmsg_buffer_isnonblock(b, &flag));
    CHECK(flag);
    mtmsg_buffer *other = NULL;
    CHECK_OK(mtmsg_buffer_clone(b, &other));
    CHECK_OK(mtmsg_buffer_isnonblock(other, &flag));
    CHECK(!flag);
    double start = mtmsg_time();
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, MTMSG_FOREVER), MTMSG_TIMEOUT);
    CHECK(mtmsg_time() - start < 0.1);
    CHECK_OK(add_text(b, "x"));
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, MTMSG_FOREVER));
    CHECK_OK(mtmsg_buffer_nonblock(b, false));
    CHECK_OK(mtmsg_buffer_isnonblock(b, &flag));
    CHECK(!flag);

    NEW_LISTENER(lst);
    mtmsg_buffer *lb = NULL;
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &lb));
    CHECK_OK(mtmsg_listener_nonblock(lst, true));
    CHECK_OK(mtmsg_listener_isnonblock(lst, &flag));
    CHECK(flag);
    CHECK_STATUS(mtmsg_listener_nextmsg(lst, r, MTMSG_FOREVER), MTMSG_TIMEOUT);
    mtmsg_buffer_release(lb);
    mtmsg_listener_release(lst);
    mtmsg_buffer_release(other);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void clear_and_msgcnt(void)
{
    NEW_BUFFER(b);
    NEW_LISTENER(lst);
    mtmsg_buffer *lb = NULL;
    CHECK_OK(mtmsg_listener_newbuffer(lst, NULL, 0, 128, 1024, 2.0, &lb));
    size_t count = 99;
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 0);
    for (int i = 0; i < 5; i++) {
        CHECK_OK(add_text(b, "m"));
        CHECK_OK(add_text(lb, "m"));
    }
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 5);
    CHECK_OK(mtmsg_buffer_clear(b));
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 0);
    CHECK_OK(mtmsg_listener_clear(lst));
    CHECK_OK(mtmsg_buffer_msgcnt(lb, &count));
    CHECK(count == 0);
    mtmsg_buffer_release(lb);
    mtmsg_listener_release(lst);
    mtmsg_buffer_release(b);
}

/* ---- notifiers ---- */

static void notifier_added_and_removed_with_thresholds(void)
{
    NEW_BUFFER(b);
    NEW_BUFFER(added);
    NEW_BUFFER(removed);
    NEW_READER(r);
    int64_t above = 1, below = 2;
    CHECK_OK(mtmsg_buffer_notifier(b, added, MTMSG_NOTIFY_ADDED, &above));
    CHECK_OK(mtmsg_buffer_notifier(b, removed, MTMSG_NOTIFY_REMOVED, &below));
    CHECK_STATUS(mtmsg_buffer_notifier(b, removed, MTMSG_NOTIFY_ADDED, NULL), MTMSG_HAS_NOTIFIER);
    CHECK(starts_with(mtmsg_last_error(), "mtmsg.error.has_notifier"));
    size_t count = 0;
    for (int i = 0; i < 3; i++) CHECK_OK(add_text(b, "m")); /* counts 1, 2, 3: two above 1 */
    CHECK_OK(mtmsg_buffer_msgcnt(added, &count));
    CHECK(count == 2);
    for (int i = 0; i < 3; i++) CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0)); /* 2, 1, 0: two below 2 */
    CHECK_OK(mtmsg_buffer_msgcnt(removed, &count));
    CHECK(count == 2);
    CHECK_OK(mtmsg_buffer_nextmsg(added, r, 0));
    size_t remaining = 9;
    CHECK_OK(mtmsg_reader_remaining(r, &remaining));
    CHECK(remaining == 0); /* notifications are empty messages */

    CHECK_OK(mtmsg_buffer_notifier(b, NULL, MTMSG_NOTIFY_ADDED, NULL)); /* disconnect */
    CHECK_OK(mtmsg_buffer_clear(added));
    for (int i = 0; i < 3; i++) CHECK_OK(add_text(b, "m"));
    CHECK_OK(mtmsg_buffer_msgcnt(added, &count));
    CHECK(count == 0);
    CHECK_OK(mtmsg_buffer_notifier(b, added, MTMSG_NOTIFY_ADDED, NULL)); /* no threshold */
    CHECK_OK(add_text(b, "m"));
    CHECK_OK(mtmsg_buffer_msgcnt(added, &count));
    CHECK(count == 1);
    CHECK_STATUS(mtmsg_buffer_notifier(b, added, 'x', NULL), MTMSG_INVALID_ARGUMENT);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(removed);
    mtmsg_buffer_release(added);
    mtmsg_buffer_release(b);
}

/* Resident memory in bytes (Linux), 0 when unknown. */
static size_t resident_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* A notifier link does not keep its target alive; once the target's last
 * reference is gone nobody can take what the link would add to it, so the
 * notifications must stop instead of piling up for as long as the source
 * lives. */
static void notifications_to_a_collected_buffer_do_not_pile_up(void)
{
    NEW_BUFFER(b);
    NEW_READER(r);
    mtmsg_buffer *target = NULL;
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 16, 16, 2.0, &target));
    CHECK_OK(mtmsg_buffer_notifier(b, target, MTMSG_NOTIFY_ADDED, NULL));
    CHECK_OK(mtmsg_buffer_notifier(b, target, MTMSG_NOTIFY_REMOVED, NULL));
    mtmsg_buffer_release(target); /* collected: unreachable from now on */
    mtmsg_value v = mv_int(1);
    for (int i = 0; i < 1000; i++) { /* warm up */
        CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
        CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    }
    size_t before = resident_bytes();
    for (int i = 0; i < 2000000; i++) { /* 4 million notifications, 2 bytes each */
        CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
        CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    }
    size_t after = resident_bytes();
    printf("  # resident memory grew by %zu KiB\n", after > before ? (after - before) / 1024 : 0);
    CHECK(after < before + (2u << 20));
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

/* ---- writers and readers ---- */

static void writer_in_pieces_equals_addmsg(void)
{
    enum { N = 1000 };
    static mtmsg_value values[N];
    static char texts[N][16];
    for (int i = 0; i < N; i++) {
        switch (i % 5) {
        case 0: values[i] = mv_int(i); break;
        case 1: values[i] = mv_num(i / 8.0); break;
        case 2:
            snprintf(texts[i], sizeof texts[i], "t%d", i);
            values[i] = mv_str(texts[i], strlen(texts[i]) + 1); /* with its NUL */
            break;
        case 3: values[i] = mv_bool(i % 2); break;
        default: values[i] = mv_nil();
        }
    }
    NEW_BUFFER(b);
    NEW_READER(r);
    mtmsg_writer *w = NULL;
    CHECK_OK(mtmsg_writer_new(16, 2.0, &w));
    for (size_t i = 0; i < N;) {
        size_t n = 1 + i % 13;
        if (n > N - i) n = N - i;
        CHECK_OK(mtmsg_writer_add(w, values + i, n));
        i += n;
    }
    CHECK_OK(mtmsg_writer_addmsg(w, b));
    CHECK_OK(mtmsg_buffer_addmsg(b, values, N));
    static mtmsg_value first[N];
    static char first_text[N][16];
    size_t got = 0;
    CHECK_OK(take_message(b, r, 0, first, N, &got));
    CHECK(got == N);
    for (int i = 0; i < N; i++) {
        CHECK(mv_same(&first[i], &values[i]));
        if (first[i].type == MTMSG_STRING) {
            memcpy(first_text[i], first[i].as.string.ptr, first[i].as.string.len);
            first[i].as.string.ptr = first_text[i]; /* keep it past the next nextmsg */
        }
    }
    mtmsg_value second[N];
    CHECK_OK(take_message(b, r, 0, second, N, &got));
    CHECK(got == N);
    for (int i = 0; i < N; i++) CHECK(mv_same(&second[i], &first[i]));
    /* the writer is empty after a successful addmsg */
    CHECK_OK(mtmsg_writer_addmsg(w, b));
    size_t remaining = 9;
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    CHECK_OK(mtmsg_reader_remaining(r, &remaining));
    CHECK(remaining == 0);
    mtmsg_writer_release(w);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void writer_setmsg_clear_and_full_buffer(void)
{
    NEW_FIXED_BUFFER(b, 64, 64);
    NEW_READER(r);
    mtmsg_writer *w = NULL;
    CHECK_OK(mtmsg_writer_new(16, 2.0, &w));
    mtmsg_value v = mv_cstr("fill it up");
    while (mtmsg_buffer_addmsg(b, &v, 1) == MTMSG_OK) {}
    CHECK_OK(mtmsg_writer_add(w, &v, 1));
    CHECK_STATUS(mtmsg_writer_addmsg(w, b), MTMSG_WOULD_BLOCK);
    CHECK_OK(mtmsg_writer_setmsg(w, b)); /* replaces everything */
    size_t count = 0;
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 1);
    mtmsg_value one = mv_int(1), two = mv_int(2);
    CHECK_OK(mtmsg_writer_add(w, &one, 1));
    CHECK_OK(mtmsg_writer_clear(w));
    CHECK_OK(mtmsg_writer_add(w, &two, 1));
    CHECK_OK(mtmsg_buffer_clear(b));
    CHECK_OK(mtmsg_writer_addmsg(w, b));
    mtmsg_value out[2];
    size_t got = 0;
    CHECK_OK(take_message(b, r, 0, out, 2, &got));
    CHECK(got == 1 && mv_same(&out[0], &two));
    mtmsg_writer_release(w);

    mtmsg_writer *fixed = NULL;
    CHECK_OK(mtmsg_writer_new(16, 0.0, &fixed));
    char text[100];
    memset(text, 'w', sizeof text);
    mtmsg_value big = mv_str(text, sizeof text);
    CHECK_STATUS(mtmsg_writer_add(fixed, &big, 1), MTMSG_MESSAGE_SIZE);
    mtmsg_writer_release(fixed);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

static void reader_next_beyond_the_end_gives_what_is_left(void)
{
    NEW_BUFFER(b);
    NEW_READER(r);
    mtmsg_value in[5] = { mv_int(1), mv_int(2), mv_int(3), mv_int(4), mv_int(5) };
    CHECK_OK(mtmsg_buffer_addmsg(b, in, 5));
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    mtmsg_value out[10];
    size_t got = 0, remaining = 0;
    CHECK_OK(mtmsg_reader_next(r, out, 3, &got));
    CHECK(got == 3 && out[2].as.integer == 3);
    CHECK_OK(mtmsg_reader_remaining(r, &remaining));
    CHECK(remaining == 2);
    CHECK_OK(mtmsg_reader_next(r, out, 10, &got));
    CHECK(got == 2 && out[0].as.integer == 4 && out[1].as.integer == 5);
    CHECK_OK(mtmsg_reader_next(r, out, 10, &got));
    CHECK(got == 0);
    CHECK_OK(mtmsg_buffer_addmsg(b, in, 5));
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, 0));
    CHECK_OK(mtmsg_reader_clear(r));
    CHECK_OK(mtmsg_reader_remaining(r, &remaining));
    CHECK(remaining == 0);
    CHECK_OK(mtmsg_reader_next(r, out, 0, &got));
    CHECK(got == 0);
    mtmsg_reader_release(r);
    mtmsg_buffer_release(b);
}

/* ---- bad input ---- */

static void invalid_values_are_refused_and_nothing_is_added(void)
{
    NEW_BUFFER(b);
    mtmsg_value bad_tag = mv_nil();
    bad_tag.type = 99;
    mtmsg_value null_string = mv_str(NULL, 3);
    mtmsg_value null_function = mv_fn(NULL);
    mtmsg_value ok = mv_int(1);
    mtmsg_value pairs[2] = { ok, bad_tag };
    CHECK_STATUS(mtmsg_buffer_addmsg(b, &bad_tag, 1), MTMSG_INVALID_ARGUMENT);
    CHECK(mtmsg_last_error()[0] != '\0');
    CHECK_STATUS(mtmsg_buffer_addmsg(b, &null_string, 1), MTMSG_INVALID_ARGUMENT);
    CHECK_STATUS(mtmsg_buffer_addmsg(b, &null_function, 1), MTMSG_INVALID_ARGUMENT);
    CHECK_STATUS(mtmsg_buffer_addmsg(b, pairs, 2), MTMSG_INVALID_ARGUMENT);
    CHECK_STATUS(mtmsg_buffer_setmsg(b, pairs, 2), MTMSG_INVALID_ARGUMENT);
    size_t count = 9;
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 0);
    mtmsg_writer *w = NULL;
    CHECK_OK(mtmsg_writer_new(16, 2.0, &w));
    CHECK_OK(mtmsg_writer_add(w, &ok, 1));
    CHECK_STATUS(mtmsg_writer_add(w, pairs, 2), MTMSG_INVALID_ARGUMENT);
    CHECK_OK(mtmsg_writer_addmsg(w, b));
    NEW_READER(r);
    mtmsg_value out[3];
    size_t got = 0;
    CHECK_OK(take_message(b, r, 0, out, 3, &got));
    CHECK(got == 1 && mv_same(&out[0], &ok));
    mtmsg_reader_release(r);
    mtmsg_writer_release(w);
    mtmsg_buffer_release(b);
}

#define INVALID(expr) CHECK_STATUS(expr, MTMSG_INVALID_ARGUMENT)

static void null_pointers_give_invalid_argument_everywhere(void)
{
    NEW_BUFFER(b);
    NEW_LISTENER(l);
    NEW_READER(r);
    mtmsg_writer *w = NULL;
    CHECK_OK(mtmsg_writer_new(16, 2.0, &w));
    mtmsg_buffer *ob = NULL;
    mtmsg_listener *ol = NULL;
    mtmsg_writer *ow = NULL;
    mtmsg_reader *or_ = NULL;
    mtmsg_value v = mv_int(1), out[2];
    uint64_t id = 0;
    const char *name = NULL;
    size_t len = 0, got = 0;
    bool flag = false;

    INVALID(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, NULL));
    INVALID(mtmsg_buffer_find_id(1, NULL));
    INVALID(mtmsg_buffer_find_name(NULL, 3, &ob));
    INVALID(mtmsg_buffer_find_name("x", 1, NULL));
    INVALID(mtmsg_buffer_clone(NULL, &ob));
    INVALID(mtmsg_buffer_clone(b, NULL));
    mtmsg_buffer_release(NULL);
    INVALID(mtmsg_buffer_id(NULL, &id));
    INVALID(mtmsg_buffer_id(b, NULL));
    INVALID(mtmsg_buffer_name(NULL, &name, &len));
    INVALID(mtmsg_buffer_name(b, NULL, &len));
    INVALID(mtmsg_buffer_name(b, &name, NULL));
    INVALID(mtmsg_buffer_addmsg(NULL, &v, 1));
    INVALID(mtmsg_buffer_addmsg(b, NULL, 1));
    INVALID(mtmsg_buffer_setmsg(NULL, &v, 1));
    INVALID(mtmsg_buffer_setmsg(b, NULL, 1));
    INVALID(mtmsg_buffer_addmsg_wait(NULL, &v, 1, 0));
    INVALID(mtmsg_buffer_addmsg_wait(b, NULL, 1, 0));
    INVALID(mtmsg_buffer_nextmsg(NULL, r, 0));
    INVALID(mtmsg_buffer_nextmsg(b, NULL, 0));
    INVALID(mtmsg_buffer_nextmsg(b, r, NAN));
    INVALID(mtmsg_buffer_msgcnt(NULL, &len));
    INVALID(mtmsg_buffer_msgcnt(b, NULL));
    INVALID(mtmsg_buffer_clear(NULL));
    INVALID(mtmsg_buffer_close(NULL));
    INVALID(mtmsg_buffer_abort(NULL, true));
    INVALID(mtmsg_buffer_isabort(NULL, &flag));
    INVALID(mtmsg_buffer_isabort(b, NULL));
    INVALID(mtmsg_buffer_nonblock(NULL, true));
    INVALID(mtmsg_buffer_isnonblock(NULL, &flag));
    INVALID(mtmsg_buffer_isnonblock(b, NULL));
    INVALID(mtmsg_buffer_notifier(NULL, b, MTMSG_NOTIFY_ADDED, NULL));

    INVALID(mtmsg_listener_new(NULL, 0, NULL));
    INVALID(mtmsg_listener_find_id(1, NULL));
    INVALID(mtmsg_listener_find_name(NULL, 3, &ol));
    INVALID(mtmsg_listener_find_name("x", 1, NULL));
    INVALID(mtmsg_listener_clone(NULL, &ol));
    INVALID(mtmsg_listener_clone(l, NULL));
    mtmsg_listener_release(NULL);
    INVALID(mtmsg_listener_id(NULL, &id));
    INVALID(mtmsg_listener_id(l, NULL));
    INVALID(mtmsg_listener_name(NULL, &name, &len));
    INVALID(mtmsg_listener_name(l, NULL, &len));
    INVALID(mtmsg_listener_name(l, &name, NULL));
    INVALID(mtmsg_listener_newbuffer(NULL, NULL, 0, 128, 1024, 2.0, &ob));
    INVALID(mtmsg_listener_newbuffer(l, NULL, 0, 128, 1024, 2.0, NULL));
    INVALID(mtmsg_listener_newbuffer(l, NULL, 0, 128, 1024, NAN, &ob));
    INVALID(mtmsg_listener_nextmsg(NULL, r, 0));
    INVALID(mtmsg_listener_nextmsg(l, NULL, 0));
    INVALID(mtmsg_listener_clear(NULL));
    INVALID(mtmsg_listener_close(NULL));
    INVALID(mtmsg_listener_abort(NULL, true));
    INVALID(mtmsg_listener_isabort(NULL, &flag));
    INVALID(mtmsg_listener_isabort(l, NULL));
    INVALID(mtmsg_listener_nonblock(NULL, true));
    INVALID(mtmsg_listener_isnonblock(NULL, &flag));
    INVALID(mtmsg_listener_isnonblock(l, NULL));

    INVALID(mtmsg_writer_new(16, 2.0, NULL));
    INVALID(mtmsg_writer_new(16, NAN, &ow));
    mtmsg_writer_release(NULL);
    INVALID(mtmsg_writer_add(NULL, &v, 1));
    INVALID(mtmsg_writer_add(w, NULL, 1));
    INVALID(mtmsg_writer_addmsg(NULL, b));
    INVALID(mtmsg_writer_addmsg(w, NULL));
    INVALID(mtmsg_writer_setmsg(NULL, b));
    INVALID(mtmsg_writer_setmsg(w, NULL));
    INVALID(mtmsg_writer_clear(NULL));

    INVALID(mtmsg_reader_new(16, 2.0, NULL));
    INVALID(mtmsg_reader_new(16, NAN, &or_));
    mtmsg_reader_release(NULL);
    INVALID(mtmsg_reader_remaining(NULL, &len));
    INVALID(mtmsg_reader_remaining(r, NULL));
    INVALID(mtmsg_reader_next(NULL, out, 1, &got));
    INVALID(mtmsg_reader_next(r, NULL, 1, &got));
    INVALID(mtmsg_reader_next(r, out, 1, NULL));
    INVALID(mtmsg_reader_clear(NULL));

    INVALID(mtmsg_sleep(NAN));

    /* the objects still work */
    CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
    CHECK_OK(take_message(b, r, 0, out, 2, &got));
    CHECK(got == 1 && mv_same(&out[0], &v));
    mtmsg_writer_release(w);
    mtmsg_reader_release(r);
    mtmsg_listener_release(l);
    mtmsg_buffer_release(b);
}

/* Lengths of zero and SIZE_MAX, infinite and tiny numbers: a status every
 * time, never a crash, and the objects keep working. */
static void zero_and_huge_lengths_and_infinite_numbers(void)
{
    NEW_READER(r);
    mtmsg_buffer *b = NULL, *found = NULL;
    mtmsg_value v = mv_int(7), out[2];
    size_t got = 9, count = 9;

    /* a NULL name is no name, whatever its length */
    CHECK_OK(mtmsg_buffer_new(NULL, SIZE_MAX, 16, 64, INFINITY, &b));
    const char *name = "x";
    size_t name_len = 9;
    CHECK_OK(mtmsg_buffer_name(b, &name, &name_len));
    CHECK(name == NULL && name_len == 0);
    for (int i = 0; i < 100; i++) CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1)); /* grows by an infinite factor */
    CHECK_OK(mtmsg_buffer_clear(b));
    mtmsg_buffer_release(b);
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 16, 16, -INFINITY, &b)); /* grows by what is needed */
    for (int i = 0; i < 100; i++) CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 100);
    CHECK_OK(mtmsg_buffer_clear(b));

    /* zero values: an empty message; NULL values for none is fine */
    CHECK_OK(mtmsg_buffer_addmsg(b, NULL, 0));
    CHECK_STATUS(mtmsg_buffer_addmsg(b, NULL, SIZE_MAX), MTMSG_INVALID_ARGUMENT);
    mtmsg_value huge_string = mv_str(NULL, SIZE_MAX);
    CHECK_STATUS(mtmsg_buffer_addmsg(b, &huge_string, 1), MTMSG_INVALID_ARGUMENT);
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 1);
    CHECK_OK(mtmsg_buffer_nextmsg(b, r, INFINITY));
    CHECK_OK(mtmsg_reader_next(r, NULL, 0, &got));
    CHECK(got == 0);
    CHECK_OK(mtmsg_reader_next(r, out, SIZE_MAX, &got)); /* max beyond the message: what is there */
    CHECK(got == 0);

    /* infinite and huge timeouts take a queued message at once */
    double timeouts[] = { INFINITY, -INFINITY, 1e300, -1e300, 1e-300, DBL_MIN };
    for (size_t i = 0; i < COUNT_OF(timeouts); i++) {
        CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
        CHECK_OK(take_message(b, r, timeouts[i], out, 2, &got));
        CHECK(got == 1 && mv_same(&out[0], &v));
        CHECK_OK(mtmsg_buffer_addmsg_wait(b, &v, 1, timeouts[i]));
        CHECK_OK(mtmsg_buffer_clear(b));
    }
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, r, 1e-300), MTMSG_TIMEOUT);
    CHECK_OK(mtmsg_sleep(-INFINITY));
    CHECK_OK(mtmsg_sleep(1e-300));

    /* thresholds at the ends of int64 */
    int64_t lowest = INT64_MIN, highest = INT64_MAX;
    CHECK_OK(mtmsg_buffer_notifier(b, b, MTMSG_NOTIFY_ADDED, &lowest));
    CHECK_OK(mtmsg_buffer_notifier(b, b, MTMSG_NOTIFY_REMOVED, &highest));
    CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1)); /* and the notification to itself */
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 2);
    CHECK_OK(mtmsg_buffer_notifier(b, NULL, MTMSG_NOTIFY_ADDED, NULL));
    CHECK_OK(mtmsg_buffer_notifier(b, NULL, MTMSG_NOTIFY_REMOVED, NULL));
    CHECK_OK(mtmsg_buffer_clear(b));

    /* ids no object has; the empty name; a zero-length name at NULL */
    CHECK_STATUS(mtmsg_buffer_find_id(0, &found), MTMSG_UNKNOWN_OBJECT);
    CHECK_STATUS(mtmsg_buffer_find_id(UINT64_MAX, &found), MTMSG_UNKNOWN_OBJECT);
    mtmsg_listener *lf = NULL;
    CHECK_STATUS(mtmsg_listener_find_id(UINT64_MAX, &lf), MTMSG_UNKNOWN_OBJECT);
    mtmsg_status s = mtmsg_buffer_find_name(NULL, 0, &found);
    CHECK(s == MTMSG_UNKNOWN_OBJECT || s == MTMSG_AMBIGUOUS_NAME || s == MTMSG_OK);
    if (s == MTMSG_OK) mtmsg_buffer_release(found);

    /* sizes of zero: a fixed buffer and a fixed reader that hold nothing */
    mtmsg_buffer *none = NULL;
    mtmsg_reader *zero_reader = NULL;
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 0, 0, 0.0, &none));
    CHECK_STATUS(mtmsg_buffer_addmsg(none, NULL, 0), MTMSG_MESSAGE_SIZE);
    CHECK_OK(mtmsg_reader_new(0, 0.0, &zero_reader));
    CHECK_OK(mtmsg_buffer_addmsg(b, &v, 1));
    CHECK_STATUS(mtmsg_buffer_nextmsg(b, zero_reader, 0), MTMSG_MESSAGE_SIZE);
    CHECK_OK(mtmsg_buffer_msgcnt(b, &count));
    CHECK(count == 1); /* the message stays */
    CHECK_OK(take_message(b, r, 0, out, 2, &got));
    CHECK(got == 1 && mv_same(&out[0], &v));
    mtmsg_reader_release(zero_reader);
    mtmsg_buffer_release(none);
    mtmsg_buffer_release(b);
    mtmsg_reader_release(r);
}

/* ---- last error per thread ---- */

/* Copies the text: it lives in the thread's own storage, freed when the
 * thread ends. */
static void *fresh_thread_last_error(void *arg)
{
    char *result = arg;
    const char *text = mtmsg_last_error();
    snprintf(result, 64, "%s", text ? text : "(NULL)");
    return NULL;
}

static void last_error_belongs_to_the_calling_thread(void)
{
    mtmsg_buffer *none = NULL;
    CHECK_STATUS(mtmsg_buffer_find_name("c.api.none", 10, &none), MTMSG_UNKNOWN_OBJECT);
    char seen[64] = "unset";
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, fresh_thread_last_error, seen) == 0);
    CHECK(pthread_join(thread, NULL) == 0);
    CHECK(seen[0] == '\0');
    CHECK(starts_with(mtmsg_last_error(), "mtmsg.error.unknown_object"));
}

int main(int argc, char **argv)
{
    RUN(version_is_major_minor_patch);
    RUN(status_names_are_the_error_names);
    RUN(unknown_status_values_have_a_name);
    RUN(time_is_seconds_since_the_epoch);
    RUN(sleep_suspends_for_the_given_seconds);
    RUN(a_negative_timeout_only_looks_and_forever_is_infinity);
    RUN(buffer_is_found_by_id_and_by_name);
    RUN(unnamed_buffer_has_no_name_and_unique_id);
    RUN(name_with_zero_bytes_is_found_only_whole);
    RUN(shared_name_is_ambiguous);
    RUN(every_value_type_round_trips);
    RUN(large_string_round_trips);
    RUN(empty_message_differs_from_timeout);
    RUN(nextmsg_times_out_after_the_timeout);
    RUN(messages_keep_fifo_order_and_setmsg_discards_older);
    RUN(fixed_size_buffer_refuses_large_and_full);
    RUN(addmsg_wait_waits_for_room);
    RUN(huge_sizes_never_crash);
    RUN(grow_at_most_one_grows_by_what_is_needed);
    RUN(listener_serves_the_seed_example_m1_m4_m3_m5);
    RUN(listener_round_robin_and_setmsg_keeps_place);
    RUN(listener_without_buffers_gives_no_buffers);
    RUN(released_listener_buffer_still_delivers);
    RUN(listener_is_found_and_lives_while_a_buffer_lives);
    RUN(closed_buffer_gives_object_closed_with_its_name);
    RUN(closed_listener_closes_its_buffers);
    RUN(aborted_buffer_refuses_until_unaborted_and_loses_nothing);
    RUN(aborted_listener_refuses_until_unaborted);
    RUN(global_abort_refuses_every_operation_and_creation);
    RUN(nonblock_belongs_to_the_handle);
    RUN(clear_and_msgcnt);
    RUN(notifier_added_and_removed_with_thresholds);
    RUN(notifications_to_a_collected_buffer_do_not_pile_up);
    RUN(writer_in_pieces_equals_addmsg);
    RUN(writer_setmsg_clear_and_full_buffer);
    RUN(reader_next_beyond_the_end_gives_what_is_left);
    RUN(invalid_values_are_refused_and_nothing_is_added);
    RUN(null_pointers_give_invalid_argument_everywhere);
    RUN(zero_and_huge_lengths_and_infinite_numbers);
    RUN(last_error_belongs_to_the_calling_thread);
    return check_summary();
}
