/* The C API across threads: a million messages from one thread to another
 * with nothing lost, duplicated or reordered, and blocked threads woken by
 * messages, room, close and abort.
 *
 * MTMSG_TEST_QUICK=1 passes a fiftieth of the messages (for valgrind). */
#include <pthread.h>
#include <stdatomic.h>

#include "check.h"

/* A thread that should wake waits without a timeout (or, in mtmsg_sleep,
 * long enough to tell): one not woken hangs its test, and the watchdog of
 * check.h names it. How fast it wakes is printed, and measured in make
 * bench, not checked here: under valgrind or a loaded machine any bound is
 * a guess. */

/* ---- a stream of numbered messages ---- */

typedef struct {
    mtmsg_buffer *buffer; /* the thread's own handle */
    int64_t count;
    bool bounded;         /* producer: wait for room instead of growing */
    mtmsg_status status;  /* MTMSG_OK, or the first failing status */
    int64_t received;
    int64_t wrong;        /* messages not the expected (i, i / 2.0) */
    uint64_t sum;
} stream;

static void *produce(void *arg)
{
    stream *s = arg;
    s->status = MTMSG_OK;
    for (int64_t i = 0; i < s->count; i++) {
        mtmsg_value v[2] = { mv_int(i), mv_num((double)i / 2.0) };
        mtmsg_status status = s->bounded ? mtmsg_buffer_addmsg_wait(s->buffer, v, 2, 10.0)
                                         : mtmsg_buffer_addmsg(s->buffer, v, 2);
        if (status != MTMSG_OK) {
            s->status = status;
            break;
        }
    }
    return NULL;
}

static void *consume(void *arg)
{
    stream *s = arg;
    mtmsg_reader *r = NULL;
    s->status = mtmsg_reader_new(64, 2.0, &r);
    for (int64_t i = 0; s->status == MTMSG_OK && i < s->count; i++) {
        mtmsg_value out[3];
        size_t got = 0;
        mtmsg_status status = take_message(s->buffer, r, 10.0, out, 3, &got);
        if (status != MTMSG_OK) {
            s->status = status;
            break;
        }
        if (got != 2 || out[0].type != MTMSG_INTEGER || out[0].as.integer != i ||
            out[1].type != MTMSG_NUMBER || out[1].as.number != (double)i / 2.0) {
            s->wrong++;
        }
        if (got >= 1 && out[0].type == MTMSG_INTEGER) s->sum += (uint64_t)out[0].as.integer;
        s->received++;
    }
    mtmsg_reader_release(r);
    return NULL;
}

static void pass_messages(int64_t count, mtmsg_buffer *buffer, bool bounded)
{
    stream producer = { .count = count, .bounded = bounded };
    stream consumer = { .count = count };
    pthread_t threads[2];
    CHECK_OK(mtmsg_buffer_clone(buffer, &producer.buffer));
    CHECK_OK(mtmsg_buffer_clone(buffer, &consumer.buffer));
    double start = mtmsg_time();
    CHECK(pthread_create(&threads[0], NULL, consume, &consumer) == 0);
    CHECK(pthread_create(&threads[1], NULL, produce, &producer) == 0);
    pthread_join(threads[1], NULL);
    pthread_join(threads[0], NULL);
    double took = mtmsg_time() - start;
    printf("  # %lld messages in %.3f s (%.0f ns each)\n", (long long)count, took, took * 1e9 / (double)count);
    mtmsg_buffer_release(producer.buffer);
    mtmsg_buffer_release(consumer.buffer);
    CHECK_OK(producer.status);
    CHECK_OK(consumer.status);
    CHECK(consumer.received == count);
    CHECK(consumer.wrong == 0);
    CHECK(consumer.sum == (uint64_t)count * (uint64_t)(count - 1) / 2);
    size_t left = 99;
    CHECK_OK(mtmsg_buffer_msgcnt(buffer, &left));
    CHECK(left == 0);
}

/* MTMSG_TEST_QUICK=1 (for valgrind runs): a fiftieth of the messages. */
static int64_t scaled(int64_t count)
{
    const char *quick = getenv("MTMSG_TEST_QUICK");
    return quick && quick[0] != '\0' && strcmp(quick, "0") != 0 ? count / 50 : count;
}

static void two_threads_pass_a_million_messages_in_order(void)
{
    mtmsg_buffer *b = NULL;
    CHECK_OK(mtmsg_buffer_new(NULL, 0, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2, MTMSG_DEFAULT_GROW, &b));
    pass_messages(scaled(1000000), b, false);
    mtmsg_buffer_release(b);
}

static void bounded_producer_waits_for_room_and_loses_nothing(void)
{
    mtmsg_buffer *b = NULL;
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 64, 4096, 0.0, &b));
    pass_messages(scaled(200000), b, true);
    mtmsg_buffer_release(b);
}

/* ---- blocked threads and what wakes them ---- */

typedef enum { IN_BUFFER_NEXTMSG, IN_LISTENER_NEXTMSG, IN_SLEEP, IN_WAIT_FOR_ROOM } block_kind;
typedef enum { BY_ADD, BY_CLOSE, BY_ABORT, BY_GLOBAL_ABORT } wake_kind;

typedef struct {
    block_kind kind;
    mtmsg_buffer *buffer;     /* the thread's own handles */
    mtmsg_listener *listener;
    atomic_int ready;
    mtmsg_status status;
    double woke;
} blocked;

static void *block(void *arg)
{
    blocked *b = arg;
    mtmsg_reader *r = NULL;
    mtmsg_value v = mv_cstr("fill it up");
    b->status = mtmsg_reader_new(64, 2.0, &r);
    if (b->status != MTMSG_OK) return NULL;
    atomic_store(&b->ready, 1);
    switch (b->kind) {
    case IN_BUFFER_NEXTMSG: b->status = mtmsg_buffer_nextmsg(b->buffer, r, MTMSG_FOREVER); break;
    case IN_LISTENER_NEXTMSG: b->status = mtmsg_listener_nextmsg(b->listener, r, MTMSG_FOREVER); break;
    case IN_SLEEP: b->status = mtmsg_sleep(10.0); break;
    case IN_WAIT_FOR_ROOM: b->status = mtmsg_buffer_addmsg_wait(b->buffer, &v, 1, MTMSG_FOREVER); break;
    }
    b->woke = mtmsg_time();
    mtmsg_reader_release(r);
    return NULL;
}

static mtmsg_status add_text(mtmsg_buffer *buffer, const char *text)
{
    mtmsg_value v = mv_cstr(text);
    return mtmsg_buffer_addmsg(buffer, &v, 1);
}

/* After an abort is lifted the objects work as before. */
static void works_again(block_kind kind, mtmsg_buffer *buffer, mtmsg_listener *listener)
{
    mtmsg_reader *r = NULL;
    CHECK_OK(mtmsg_reader_new(64, 2.0, &r));
    if (kind == IN_SLEEP) {
        CHECK_OK(mtmsg_sleep(0.01));
    } else if (kind == IN_WAIT_FOR_ROOM) {
        CHECK_OK(mtmsg_buffer_nextmsg(buffer, r, 0));
        CHECK_OK(add_text(buffer, "fill it up"));
    } else if (kind == IN_LISTENER_NEXTMSG) {
        CHECK_OK(add_text(buffer, "again"));
        CHECK_OK(mtmsg_listener_nextmsg(listener, r, 0));
    } else {
        CHECK_OK(add_text(buffer, "again"));
        CHECK_OK(mtmsg_buffer_nextmsg(buffer, r, 0));
    }
    mtmsg_reader_release(r);
}

static void wake_case(block_kind kind, wake_kind wake)
{
    mtmsg_buffer *buffer = NULL;
    mtmsg_listener *listener = NULL;
    blocked b = { .kind = kind };
    if (kind == IN_LISTENER_NEXTMSG) {
        CHECK_OK(mtmsg_listener_new("blocked", 7, &listener));
        CHECK_OK(mtmsg_listener_newbuffer(listener, NULL, 0, 128, 1024, 2.0, &buffer));
        CHECK_OK(mtmsg_listener_clone(listener, &b.listener));
    } else {
        bool fixed = kind == IN_WAIT_FOR_ROOM;
        CHECK_OK(mtmsg_buffer_new("blocked", 7, 64, 64, fixed ? 0.0 : 2.0, &buffer));
        if (fixed) {
            int added = 0;
            while (added < 1000 && add_text(buffer, "fill it up") == MTMSG_OK) added++;
            CHECK(added < 1000);
        }
    }
    CHECK_OK(mtmsg_buffer_clone(buffer, &b.buffer));
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, block, &b) == 0);
    while (!atomic_load(&b.ready)) mtmsg_sleep(0.001);
    mtmsg_sleep(0.1); /* let it block */
    double start = mtmsg_time();
    mtmsg_status want = MTMSG_OPERATION_ABORTED;
    switch (wake) {
    case BY_ADD:
        want = MTMSG_OK;
        if (kind == IN_WAIT_FOR_ROOM) {
            mtmsg_reader *r = NULL;
            if (mtmsg_reader_new(64, 2.0, &r) == MTMSG_OK) mtmsg_buffer_nextmsg(buffer, r, 0);
            mtmsg_reader_release(r);
        } else {
            add_text(buffer, "wake up");
        }
        break;
    case BY_CLOSE:
        want = MTMSG_OBJECT_CLOSED;
        if (listener) mtmsg_listener_close(listener);
        else mtmsg_buffer_close(buffer);
        break;
    case BY_ABORT:
        if (listener) mtmsg_listener_abort(listener, true);
        else mtmsg_buffer_abort(buffer, true);
        break;
    case BY_GLOBAL_ABORT:
        mtmsg_abort(true);
        break;
    }
    pthread_join(thread, NULL);
    if (wake == BY_GLOBAL_ABORT) mtmsg_abort(false);
    if (wake == BY_ABORT) {
        if (listener) mtmsg_listener_abort(listener, false);
        else mtmsg_buffer_abort(buffer, false);
    }
    double latency = b.woke - start;
    printf("  # woken after %.4f s\n", latency);
    mtmsg_buffer_release(b.buffer);
    mtmsg_listener_release(b.listener);
    CHECK_STATUS(b.status, want);
    if (wake == BY_ABORT || wake == BY_GLOBAL_ABORT) works_again(kind, buffer, listener);
    mtmsg_buffer_release(buffer);
    mtmsg_listener_release(listener);
}

static void buffer_nextmsg_wakes_when_another_thread_adds(void) { wake_case(IN_BUFFER_NEXTMSG, BY_ADD); }
static void buffer_nextmsg_wakes_on_close(void) { wake_case(IN_BUFFER_NEXTMSG, BY_CLOSE); }
static void buffer_nextmsg_wakes_on_buffer_abort(void) { wake_case(IN_BUFFER_NEXTMSG, BY_ABORT); }
static void buffer_nextmsg_wakes_on_global_abort(void) { wake_case(IN_BUFFER_NEXTMSG, BY_GLOBAL_ABORT); }
static void listener_nextmsg_wakes_when_a_buffer_gets_a_message(void) { wake_case(IN_LISTENER_NEXTMSG, BY_ADD); }
static void listener_nextmsg_wakes_on_close(void) { wake_case(IN_LISTENER_NEXTMSG, BY_CLOSE); }
static void listener_nextmsg_wakes_on_listener_abort(void) { wake_case(IN_LISTENER_NEXTMSG, BY_ABORT); }
static void listener_nextmsg_wakes_on_global_abort(void) { wake_case(IN_LISTENER_NEXTMSG, BY_GLOBAL_ABORT); }
static void sleep_wakes_on_global_abort(void) { wake_case(IN_SLEEP, BY_GLOBAL_ABORT); }
static void wait_for_room_proceeds_when_room_is_made(void) { wake_case(IN_WAIT_FOR_ROOM, BY_ADD); }
static void wait_for_room_wakes_on_close(void) { wake_case(IN_WAIT_FOR_ROOM, BY_CLOSE); }
static void wait_for_room_wakes_on_buffer_abort(void) { wake_case(IN_WAIT_FOR_ROOM, BY_ABORT); }
static void wait_for_room_wakes_on_global_abort(void) { wake_case(IN_WAIT_FOR_ROOM, BY_GLOBAL_ABORT); }

/* ---- a taker that cannot take the message passes the wake-up on ---- */

typedef struct {
    mtmsg_buffer *buffer;     /* the thread's own handles; one of them set */
    mtmsg_listener *listener;
    size_t reader_size;
    double reader_grow;
    double timeout;
    atomic_int ready;
    mtmsg_status status;
    double woke;
} taker;

static void *take_once(void *arg)
{
    taker *t = arg;
    mtmsg_reader *r = NULL;
    t->status = mtmsg_reader_new(t->reader_size, t->reader_grow, &r);
    atomic_store(&t->ready, 1);
    if (t->status != MTMSG_OK) return NULL;
    t->status = t->listener ? mtmsg_listener_nextmsg(t->listener, r, t->timeout)
                            : mtmsg_buffer_nextmsg(t->buffer, r, t->timeout);
    t->woke = mtmsg_time();
    mtmsg_reader_release(r);
    return NULL;
}

/* Two takers sleep: first one whose fixed-size reader is too small for the
 * message to come (it gets message_size and the message stays), then one
 * that can take it. Adding the message wakes one taker; if that is the
 * first, the message must not be left in the buffer while the second
 * sleeps on until its timeout. */
static void refused_message_wakes_another_taker(bool on_listener)
{
    mtmsg_listener *listener = NULL;
    mtmsg_buffer *buffer = NULL;
    taker small = { .reader_size = 8, .reader_grow = 0.0, .timeout = MTMSG_FOREVER };
    taker big = { .reader_size = 64, .reader_grow = 2.0, .timeout = MTMSG_FOREVER };
    if (on_listener) {
        CHECK_OK(mtmsg_listener_new(NULL, 0, &listener));
        CHECK_OK(mtmsg_listener_newbuffer(listener, NULL, 0, 128, 1024, 2.0, &buffer));
        CHECK_OK(mtmsg_listener_clone(listener, &small.listener));
        CHECK_OK(mtmsg_listener_clone(listener, &big.listener));
    } else {
        CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &buffer));
        CHECK_OK(mtmsg_buffer_clone(buffer, &small.buffer));
        CHECK_OK(mtmsg_buffer_clone(buffer, &big.buffer));
    }
    pthread_t threads[2];
    CHECK(pthread_create(&threads[0], NULL, take_once, &small) == 0);
    while (!atomic_load(&small.ready)) mtmsg_sleep(0.001);
    mtmsg_sleep(0.1); /* asleep first */
    CHECK(pthread_create(&threads[1], NULL, take_once, &big) == 0);
    while (!atomic_load(&big.ready)) mtmsg_sleep(0.001);
    mtmsg_sleep(0.1);
    char text[100];
    memset(text, 'x', sizeof text);
    mtmsg_value v = mv_str(text, sizeof text);
    double start = mtmsg_time();
    CHECK_OK(mtmsg_buffer_addmsg(buffer, &v, 1));
    pthread_join(threads[1], NULL);
    /* the small one may still sleep (the big one was woken first): close wakes it */
    if (on_listener) mtmsg_listener_close(listener);
    else mtmsg_buffer_close(buffer);
    pthread_join(threads[0], NULL);
    printf("  # the taker that can take it woke after %.4f s\n", big.woke - start);
    mtmsg_buffer_release(small.buffer);
    mtmsg_buffer_release(big.buffer);
    mtmsg_listener_release(small.listener);
    mtmsg_listener_release(big.listener);
    mtmsg_buffer_release(buffer);
    mtmsg_listener_release(listener);
    CHECK_OK(big.status);
    CHECK(small.status == MTMSG_MESSAGE_SIZE || small.status == MTMSG_OBJECT_CLOSED);
}

static void buffer_message_refused_by_one_taker_wakes_another(void) { refused_message_wakes_another_taker(false); }
static void listener_message_refused_by_one_taker_wakes_another(void) { refused_message_wakes_another_taker(true); }

/* ---- closing and releasing while other threads work ---- */

typedef struct {
    mtmsg_buffer *buffer;
    atomic_int ready;
    long added;
    mtmsg_status status;
} adder;

static void *add_until_refused(void *arg)
{
    adder *a = arg;
    mtmsg_value v[2] = { mv_int(0), mv_cstr("some payload") };
    atomic_store(&a->ready, 1);
    for (;;) {
        v[0].as.integer = a->added;
        a->status = mtmsg_buffer_addmsg(a->buffer, v, 2);
        if (a->status != MTMSG_OK) break;
        if (++a->added % 1000 == 0) mtmsg_buffer_clear(a->buffer);
    }
    return NULL;
}

static void closing_while_another_thread_adds_is_safe(void)
{
    mtmsg_buffer *b = NULL;
    adder a = { 0 };
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &b));
    CHECK_OK(mtmsg_buffer_clone(b, &a.buffer));
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, add_until_refused, &a) == 0);
    while (!atomic_load(&a.ready)) mtmsg_sleep(0.001);
    mtmsg_sleep(0.05);
    CHECK_OK(mtmsg_buffer_close(b));
    pthread_join(thread, NULL);
    mtmsg_buffer_release(a.buffer);
    mtmsg_buffer_release(b);
    CHECK_STATUS(a.status, MTMSG_OBJECT_CLOSED);
    CHECK(a.added > 0);
}

static void *close_and_release(void *arg)
{
    mtmsg_buffer *own = arg;
    mtmsg_buffer_close(own);
    mtmsg_buffer_release(own);
    return NULL;
}

static void closing_while_the_last_other_reference_goes_is_safe(void)
{
    for (int i = 0; i < 200; i++) {
        mtmsg_buffer *b = NULL, *other = NULL;
        CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &b));
        CHECK_OK(add_text(b, "queued"));
        CHECK_OK(mtmsg_buffer_clone(b, &other));
        pthread_t thread;
        CHECK(pthread_create(&thread, NULL, close_and_release, other) == 0);
        mtmsg_buffer_release(b);
        pthread_join(thread, NULL);
    }
}

static void *wait_on_own_handle(void *arg)
{
    blocked *b = arg;
    mtmsg_reader *r = NULL;
    b->status = mtmsg_reader_new(64, 2.0, &r);
    atomic_store(&b->ready, 1);
    if (b->status == MTMSG_OK) b->status = mtmsg_buffer_nextmsg(b->buffer, r, 10.0);
    mtmsg_reader_release(r);
    return NULL;
}

static void buffer_lives_while_a_waiting_thread_holds_a_handle(void)
{
    mtmsg_buffer *b = NULL, *found = NULL;
    blocked waiter = { .kind = IN_BUFFER_NEXTMSG };
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2.0, &b));
    CHECK_OK(mtmsg_buffer_clone(b, &waiter.buffer));
    uint64_t id = 0;
    CHECK_OK(mtmsg_buffer_id(b, &id));
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, wait_on_own_handle, &waiter) == 0);
    while (!atomic_load(&waiter.ready)) mtmsg_sleep(0.001);
    mtmsg_buffer_release(b);
    mtmsg_status found_status = mtmsg_buffer_find_id(id, &found);
    if (found_status == MTMSG_OK) add_text(found, "still here");
    pthread_join(thread, NULL);
    mtmsg_buffer_release(found);
    mtmsg_buffer_release(waiter.buffer);
    CHECK_OK(found_status);
    CHECK_OK(waiter.status);
}

int main(int argc, char **argv)
{
    RUN(two_threads_pass_a_million_messages_in_order);
    RUN(bounded_producer_waits_for_room_and_loses_nothing);
    RUN(buffer_nextmsg_wakes_when_another_thread_adds);
    RUN(buffer_nextmsg_wakes_on_close);
    RUN(buffer_nextmsg_wakes_on_buffer_abort);
    RUN(buffer_nextmsg_wakes_on_global_abort);
    RUN(listener_nextmsg_wakes_when_a_buffer_gets_a_message);
    RUN(listener_nextmsg_wakes_on_close);
    RUN(listener_nextmsg_wakes_on_listener_abort);
    RUN(listener_nextmsg_wakes_on_global_abort);
    RUN(sleep_wakes_on_global_abort);
    RUN(wait_for_room_proceeds_when_room_is_made);
    RUN(wait_for_room_wakes_on_close);
    RUN(wait_for_room_wakes_on_buffer_abort);
    RUN(wait_for_room_wakes_on_global_abort);
    RUN(buffer_message_refused_by_one_taker_wakes_another);
    RUN(listener_message_refused_by_one_taker_wakes_another);
    RUN(closing_while_another_thread_adds_is_safe);
    RUN(closing_while_the_last_other_reference_goes_is_safe);
    RUN(buffer_lives_while_a_waiting_thread_holds_a_handle);
    return check_summary();
}
