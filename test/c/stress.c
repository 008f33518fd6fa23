/* Stress: P producers x C consumers (up to 8 each) on one buffer, on a
 * listener with many buffers, through writers and readers, and on a buffer
 * whose notifier announces each message in another buffer the consumers
 * wait on; on growing buffers and on fixed-size ones, whose producers
 * either wait for room (mtmsg_buffer_addmsg_wait) or retry while addmsg
 * finds the buffer full. Faults are injected while the traffic runs:
 * buffers closed (and replaced), buffers, listeners and everything aborted
 * and un-aborted, references released and found again (the last one of a
 * listener's buffer while it still holds messages), and threads that end
 * while others wait on what they created.
 *
 * Every message carries its producer, its sequence number, the buffer it
 * was sent to and a payload generated from them, with a checksum over it
 * all. Each message is checked on arrival and accounted for at the end:
 * delivered exactly once, never corrupted, each consumer sees the messages
 * of one producer through one buffer in the order they were sent; the only
 * messages allowed to be missing are those still queued in a buffer when
 * it was closed, and of those only the last ones of the buffer (what a
 * consumer took is a prefix of what was sent). A sampling thread reads
 * mtmsg_buffer_msgcnt while the traffic runs: never more than were sent
 * (nor than a fixed buffer has room for), never fewer than were sent and
 * not yet taken.
 *
 * Consumers and the producers waiting for room block without a timeout,
 * so a lost wake-up is a hang; a watchdog turns a case that makes no
 * progress for MTMSG_TEST_WATCHDOG seconds (default 60) into a failure that
 * names it and shows its counts.
 *
 *   build/c/stress [filter]          runs the cases whose name contains filter
 *   MTMSG_STRESS_MESSAGES=1000000    messages per case (default 20000; make
 *                                    stress sets 1000000)
 *   MTMSG_STRESS_BURNERS=3           threads that only spin beside every case
 *                                    (default 0; make stress and the burner
 *                                    suites of make test set them): with more
 *                                    threads than cores, producers and
 *                                    consumers are preempted anywhere, inside
 *                                    the library's locks too
 *
 * Prints one "# case: ..." line of figures per case and ends with
 * "N passed, N failed".
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "check.h"

#define MAX_PRODUCERS 8
#define MAX_CONSUMERS 8
/* A listener case gives each producer this many buffers of its own. */
#define LISTENER_SLOTS 8
#define MAX_SLOTS (MAX_PRODUCERS * LISTENER_SLOTS)
/* Buffer generations: each buffer a case makes (replacements included). */
#define MAX_GENS 200000
#define VALUES 7
#define MAX_PAYLOAD 120
/* Fixed-size buffers: room for one message of at most 2 + 175 bytes, and
 * for some twenty of them. */
#define FIXED_SIZE1 256
#define FIXED_SIZE2 4096
/* Producers and consumers drop their references and find the objects
 * again by id this often (FAULT_RELEASE), or every quarter of a
 * producer's messages when that is fewer (short runs under valgrind), so
 * that every run releases some. */
#define RELEASE_EVERY 97

/* ON_NOTIFIED: producers add to one buffer whose notifier adds an empty
 * message to another after each message; consumers wait on that one, then
 * take the message it announced. */
typedef enum { ON_BUFFER, ON_LISTENER, WRITER_READER, ON_NOTIFIED } route;

/* The buffers of a case and how producers add to them. Writers have no
 * waiting add: a writer case is GROWING or FIXED_RETRYING. */
typedef enum {
    GROWING,        /* buffers grow: adding always finds room */
    FIXED_WAITING,  /* fixed size: mtmsg_buffer_addmsg_wait without a timeout */
    FIXED_RETRYING, /* fixed size: addmsg again while it finds the buffer full */
} adding;

enum {
    FAULT_CLOSE = 1,          /* close a buffer, put a new one in its place */
    FAULT_ABORT = 2,          /* abort a buffer for a while */
    FAULT_LISTENER_ABORT = 4, /* abort the listener for a while */
    FAULT_GLOBAL_ABORT = 8,   /* mtmsg_abort(true) for a while */
    FAULT_RELEASE = 16,       /* references released and found again; a
                                 listener buffer's last one with messages */
};

typedef struct {
    const char *name;
    route route;
    int producers, consumers;
    adding adding;
    unsigned faults;
} stress_case;

/* One place producers send to: a buffer, replaced by a new generation when
 * a fault closes it. The table's handle is one reference of its own. */
typedef struct {
    pthread_mutex_t lock;
    mtmsg_buffer *handle;
    uint32_t gen;
} slot;

static struct {
    const stress_case *c;
    int64_t per_producer;
    int64_t release_every; /* see RELEASE_EVERY */
    int slots;
    slot slot[MAX_SLOTS];
    mtmsg_listener *listener;
    mtmsg_buffer *control; /* listener cases: where the stop messages go */
    mtmsg_buffer *notified; /* ON_NOTIFIED: the notifier's target */
    /* per producer and sequence number: the generation + 1 of the buffer
     * the producer added the message to (0: not added), and of the buffer
     * a consumer took it from */
    uint32_t *sent_gen[MAX_PRODUCERS];
    _Atomic uint32_t *taken_gen[MAX_PRODUCERS];
    atomic_bool closed_gen[MAX_GENS];
    atomic_uint next_gen;
    atomic_llong sent, taken, progress;
    atomic_llong corrupt, duplicates, disorder;
    atomic_llong closes, buffer_aborts, listener_aborts, global_aborts, releases, retries;
    atomic_llong count_samples;
    atomic_int fault_rounds;
    atomic_bool stop_faults, stop_sampling;
    const char *_Atomic phase; /* for the watchdog's message */
    pthread_mutex_t error_lock;
    char error[512];
} run;

static int64_t stress_messages;
/* The most messages a fixed buffer of the cases can hold (measured). */
static size_t fixed_buffer_capacity;

static void fail_run(const char *format, const char *what, long long a, long long b)
{
    pthread_mutex_lock(&run.error_lock);
    if (run.error[0] == '\0') {
        snprintf(run.error, sizeof run.error, format, what, a, b);
    }
    pthread_mutex_unlock(&run.error_lock);
}

static void fail_status(const char *what, mtmsg_status status)
{
    char text[400];
    snprintf(text, sizeof text, "%s gave %s (%s)", what, mtmsg_status_name(status), mtmsg_last_error());
    fail_run("%s", text, 0, 0);
}

static uint64_t next_random(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state >> 33;
}

/* ---- the messages ---- */

typedef struct {
    int64_t producer, seq, gen, slot;
    char payload[MAX_PAYLOAD];
    size_t payload_len;
    double number;
    int64_t checksum;
} message;

static uint64_t fnv(uint64_t hash, const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < len; i++) hash = (hash ^ p[i]) * 1099511628211ULL;
    return hash;
}

static int64_t checksum_of(const message *m)
{
    uint64_t h = 14695981039346656037ULL;
    h = fnv(h, &m->producer, sizeof m->producer);
    h = fnv(h, &m->seq, sizeof m->seq);
    h = fnv(h, &m->gen, sizeof m->gen);
    h = fnv(h, &m->slot, sizeof m->slot);
    h = fnv(h, m->payload, m->payload_len);
    h = fnv(h, &m->number, sizeof m->number);
    return (int64_t)h;
}

/* The payload of (producer, seq): its length and bytes follow from them. */
static void make_payload(int64_t producer, int64_t seq, char *out, size_t *len)
{
    uint64_t state = (uint64_t)producer * 0x9E3779B97F4A7C15ULL ^ (uint64_t)seq;
    *len = (size_t)((seq * 13 + producer * 7) % MAX_PAYLOAD);
    for (size_t i = 0; i < *len; i++) out[i] = (char)next_random(&state);
}

static void make_message(message *m, int64_t producer, int64_t seq, uint32_t gen, int slot_index)
{
    m->producer = producer;
    m->seq = seq;
    m->gen = gen;
    m->slot = slot_index;
    make_payload(producer, seq, m->payload, &m->payload_len);
    m->number = (double)seq * 0.25;
    m->checksum = checksum_of(m);
}

static void to_values(const message *m, mtmsg_value v[VALUES])
{
    v[0] = mv_int(m->producer);
    v[1] = mv_int(m->seq);
    v[2] = mv_int(m->gen);
    v[3] = mv_int(m->slot);
    v[4] = mv_str(m->payload, m->payload_len);
    v[5] = mv_num(m->number);
    v[6] = mv_int(m->checksum);
}

/* What a consumer knows of the messages it took, to check their order. */
typedef struct {
    int64_t last_seq[MAX_PRODUCERS][MAX_SLOTS];
    uint32_t last_gen[MAX_PRODUCERS][MAX_SLOTS];
} consumer_view;

/* Checks one taken message and records it; false for a corrupt one. */
static bool verify_message(const mtmsg_value *v, size_t got, consumer_view *view)
{
    if (got != VALUES) return false;
    for (int i = 0; i < VALUES; i++) {
        uint32_t want = i == 4 ? MTMSG_STRING : i == 5 ? MTMSG_NUMBER : MTMSG_INTEGER;
        if (v[i].type != want) return false;
    }
    message m;
    m.producer = v[0].as.integer;
    m.seq = v[1].as.integer;
    m.gen = v[2].as.integer;
    m.slot = v[3].as.integer;
    if (m.producer < 0 || m.producer >= run.c->producers || m.seq < 0 || m.seq >= run.per_producer ||
        m.gen < 0 || m.gen >= MAX_GENS || m.slot < 0 || m.slot >= run.slots) {
        return false;
    }
    make_payload(m.producer, m.seq, m.payload, &m.payload_len);
    m.number = v[5].as.number;
    if (v[4].as.string.len != m.payload_len ||
        (m.payload_len > 0 && memcmp(v[4].as.string.ptr, m.payload, m.payload_len) != 0) ||
        m.number != (double)m.seq * 0.25 || v[6].as.integer != checksum_of(&m)) {
        return false;
    }
    if (atomic_exchange(&run.taken_gen[m.producer][m.seq], (uint32_t)m.gen + 1) != 0) {
        atomic_fetch_add(&run.duplicates, 1);
    }
    /* the messages of one producer through one buffer come in order */
    int64_t *last = &view->last_seq[m.producer][m.slot];
    uint32_t *last_gen = &view->last_gen[m.producer][m.slot];
    if (*last_gen == (uint32_t)m.gen + 1 && m.seq <= *last) atomic_fetch_add(&run.disorder, 1);
    *last = m.seq;
    *last_gen = (uint32_t)m.gen + 1;
    atomic_fetch_add(&run.taken, 1);
    atomic_fetch_add(&run.progress, 1);
    return true;
}

/* ---- buffers and their generations ---- */

static bool fixed_size(void)
{
    return run.c->adding != GROWING;
}

static mtmsg_status new_slot_buffer(mtmsg_buffer **out)
{
    size_t size1 = fixed_size() ? FIXED_SIZE1 : 64;
    size_t size2 = fixed_size() ? FIXED_SIZE2 : 256;
    double grow = fixed_size() ? 0.0 : 2.0;
    if (run.c->route == ON_LISTENER) return mtmsg_listener_newbuffer(run.listener, NULL, 0, size1, size2, grow, out);
    mtmsg_status status = mtmsg_buffer_new(NULL, 0, size1, size2, grow, out);
    if (status == MTMSG_OK && run.c->route == ON_NOTIFIED) {
        status = mtmsg_buffer_notifier(*out, run.notified, MTMSG_NOTIFY_ADDED, NULL);
        if (status != MTMSG_OK) {
            mtmsg_buffer_release(*out);
            *out = NULL;
        }
    }
    return status;
}

/* A new buffer and its generation; retries while everything is aborted. */
static bool new_generation(mtmsg_buffer **out, uint32_t *gen)
{
    for (;;) {
        mtmsg_status status = new_slot_buffer(out);
        if (status == MTMSG_OK) break;
        if (status != MTMSG_OPERATION_ABORTED) {
            fail_status("creating a buffer", status);
            return false;
        }
        pause_micros(50);
    }
    *gen = atomic_fetch_add(&run.next_gen, 1);
    if (*gen >= MAX_GENS) {
        fail_run("%s: more than %lld buffer generations", "new_generation", MAX_GENS, 0);
        return false;
    }
    return true;
}

/* A thread's own reference to a slot's current buffer. */
typedef struct {
    mtmsg_buffer *handle;
    uint32_t gen;
} view_of_slot;

static bool refresh(view_of_slot *view, int index)
{
    slot *s = &run.slot[index];
    pthread_mutex_lock(&s->lock);
    mtmsg_buffer *fresh = NULL;
    mtmsg_status status = mtmsg_buffer_clone(s->handle, &fresh);
    uint32_t gen = s->gen;
    pthread_mutex_unlock(&s->lock);
    if (status != MTMSG_OK) {
        fail_status("mtmsg_buffer_clone", status);
        return false;
    }
    mtmsg_buffer_release(view->handle);
    view->handle = fresh;
    view->gen = gen;
    return true;
}

/* Drops the reference and finds the buffer again by id (FAULT_RELEASE). */
static bool find_again(mtmsg_buffer **handle)
{
    uint64_t id = 0;
    mtmsg_buffer *found = NULL;
    mtmsg_status status = mtmsg_buffer_id(*handle, &id);
    mtmsg_buffer_release(*handle);
    *handle = NULL;
    while (status == MTMSG_OK && (status = mtmsg_buffer_find_id(id, &found)) == MTMSG_OPERATION_ABORTED) {
        status = MTMSG_OK; /* found again once everything is un-aborted */
        pause_micros(50);
    }
    if (status != MTMSG_OK) {
        fail_status("finding a buffer again by id", status);
        return false;
    }
    *handle = found;
    atomic_fetch_add(&run.releases, 1);
    return true;
}

/* ---- producers ---- */

typedef struct {
    int index;
    pthread_t thread;
    mtmsg_writer *writer;
    view_of_slot view[LISTENER_SLOTS];
    /* FAULT_RELEASE on a listener: the producer makes its own buffers and
     * holds their only reference */
    bool owns_buffers;
} producer;

static mtmsg_status send_once(producer *me, mtmsg_buffer *handle, const message *m)
{
    mtmsg_value v[VALUES];
    to_values(m, v);
    if (run.c->route == WRITER_READER) {
        /* value by value; a writer keeps its values when addmsg fails */
        mtmsg_status status = MTMSG_OK;
        mtmsg_writer_clear(me->writer);
        for (int i = 0; i < VALUES && status == MTMSG_OK; i++) status = mtmsg_writer_add(me->writer, &v[i], 1);
        if (status != MTMSG_OK) return status;
        while ((status = mtmsg_writer_addmsg(me->writer, handle)) == MTMSG_WOULD_BLOCK) sched_yield();
        return status;
    }
    if (run.c->adding == FIXED_WAITING) return mtmsg_buffer_addmsg_wait(handle, v, VALUES, MTMSG_FOREVER);
    mtmsg_status status;
    /* the buffer is full until a consumer takes something */
    while ((status = mtmsg_buffer_addmsg(handle, v, VALUES)) == MTMSG_WOULD_BLOCK) sched_yield();
    return status;
}

/* Sends message seq of this producer until it is in a buffer. */
static bool send_message(producer *me, int64_t seq)
{
    int local = run.c->route == ON_LISTENER ? (int)(seq % LISTENER_SLOTS) : 0;
    int index = run.c->route == ON_LISTENER ? me->index * LISTENER_SLOTS + local : 0;
    view_of_slot *view = &me->view[local];
    message m;
    for (;;) {
        make_message(&m, me->index, seq, view->gen, index);
        mtmsg_status status = send_once(me, view->handle, &m);
        if (status == MTMSG_OK) break;
        if (status == MTMSG_OBJECT_CLOSED && (run.c->faults & FAULT_CLOSE)) {
            if (!refresh(view, index)) return false;
            continue;
        }
        if (status == MTMSG_OPERATION_ABORTED) {
            atomic_fetch_add(&run.retries, 1);
            pause_micros(50);
            continue;
        }
        fail_status("producer adding a message", status);
        return false;
    }
    run.sent_gen[me->index][seq] = view->gen + 1;
    atomic_fetch_add(&run.sent, 1);
    atomic_fetch_add(&run.progress, 1);
    if ((run.c->faults & FAULT_RELEASE) && seq % run.release_every == run.release_every - 1) {
        if (me->owns_buffers) {
            /* the last reference goes while the buffer still holds
             * messages: the listener delivers them all the same */
            mtmsg_buffer_release(view->handle);
            view->handle = NULL;
            atomic_fetch_add(&run.releases, 1);
            return new_generation(&view->handle, &view->gen);
        }
        return find_again(&view->handle);
    }
    return true;
}

static void *produce(void *arg)
{
    producer *me = arg;
    int64_t half = run.per_producer / 2;
    for (int64_t seq = 0; seq < run.per_producer; seq++) {
        /* faults happen while the traffic runs, however fast it is */
        if (seq == half && run.c->faults) {
            while (atomic_load(&run.fault_rounds) < 1) pause_micros(100);
        }
        if (!send_message(me, seq)) break;
    }
    return NULL;
}

/* ---- consumers ---- */

typedef struct {
    int index;
    pthread_t thread;
    mtmsg_reader *reader;
    mtmsg_listener *listener;
    view_of_slot view;
    consumer_view order;
    int64_t taken;
} consumer;

/* Reads the taken message out of the reader: all at once, or value by
 * value through a writer/reader case. */
static size_t read_message(consumer *me, mtmsg_value *v, size_t max)
{
    size_t got = 0, remaining = 0;
    if (mtmsg_reader_remaining(me->reader, &remaining) != MTMSG_OK) return SIZE_MAX;
    if (run.c->route != WRITER_READER) {
        return mtmsg_reader_next(me->reader, v, max, &got) == MTMSG_OK ? got : SIZE_MAX;
    }
    for (;;) {
        size_t one = 0;
        if (mtmsg_reader_next(me->reader, got < max ? &v[got] : &v[max - 1], 1, &one) != MTMSG_OK) return SIZE_MAX;
        if (one == 0) break;
        got++;
    }
    return got == remaining ? got : SIZE_MAX;
}

/* A notification, then the message it announced, which must be there:
 * each notification is added after its message, and each consumer takes
 * one message per notification. */
static mtmsg_status take_notified(consumer *me)
{
    mtmsg_status status = mtmsg_buffer_nextmsg(run.notified, me->reader, MTMSG_FOREVER);
    if (status != MTMSG_OK) return status;
    status = mtmsg_buffer_nextmsg(me->view.handle, me->reader, 0);
    if (status == MTMSG_TIMEOUT) fail_run("%s: notified of a message the buffer did not have", "consumer", 0, 0);
    return status;
}

static mtmsg_status take_next(consumer *me)
{
    switch (run.c->route) {
    case ON_LISTENER: return mtmsg_listener_nextmsg(me->listener, me->reader, MTMSG_FOREVER);
    case ON_NOTIFIED: return take_notified(me);
    default: return mtmsg_buffer_nextmsg(me->view.handle, me->reader, MTMSG_FOREVER);
    }
}

static void *consume(void *arg)
{
    consumer *me = arg;
    for (;;) {
        mtmsg_status status = take_next(me);
        if (status == MTMSG_OK) {
            mtmsg_value v[VALUES + 1];
            size_t got = read_message(me, v, VALUES + 1);
            if (got == 0) break; /* the empty message: stop */
            if (!verify_message(v, got, &me->order)) {
                atomic_fetch_add(&run.corrupt, 1);
                continue;
            }
            me->taken++;
            if ((run.c->faults & FAULT_RELEASE) && me->taken % run.release_every == 0) {
                if (run.c->route == ON_LISTENER) {
                    uint64_t id = 0;
                    mtmsg_listener *found = NULL;
                    status = mtmsg_listener_id(me->listener, &id);
                    while (status == MTMSG_OK &&
                           (status = mtmsg_listener_find_id(id, &found)) == MTMSG_OPERATION_ABORTED) {
                        status = MTMSG_OK;
                        pause_micros(50);
                    }
                    if (status != MTMSG_OK) {
                        fail_status("finding the listener again by id", status);
                        break;
                    }
                    mtmsg_listener_release(me->listener);
                    me->listener = found;
                    atomic_fetch_add(&run.releases, 1);
                } else if (!find_again(&me->view.handle)) {
                    break;
                }
            }
            continue;
        }
        if (status == MTMSG_OBJECT_CLOSED && run.c->route != ON_LISTENER && (run.c->faults & FAULT_CLOSE)) {
            if (!refresh(&me->view, 0)) break;
            continue;
        }
        if (status == MTMSG_OPERATION_ABORTED) {
            atomic_fetch_add(&run.retries, 1);
            pause_micros(50);
            continue;
        }
        fail_status("consumer taking a message", status);
        break;
    }
    return NULL;
}

/* ---- faults ---- */

static void close_and_replace(uint64_t *random)
{
    slot *s = &run.slot[next_random(random) % (uint64_t)run.slots];
    mtmsg_buffer *fresh = NULL;
    uint32_t gen = 0;
    if (!new_generation(&fresh, &gen)) return;
    pthread_mutex_lock(&s->lock);
    atomic_store(&run.closed_gen[s->gen], true);
    mtmsg_status status = mtmsg_buffer_close(s->handle);
    mtmsg_buffer_release(s->handle);
    s->handle = fresh;
    s->gen = gen;
    pthread_mutex_unlock(&s->lock);
    if (status != MTMSG_OK) fail_status("mtmsg_buffer_close", status);
    atomic_fetch_add(&run.closes, 1);
}

static void abort_for_a_while(uint64_t *random)
{
    slot *s = &run.slot[next_random(random) % (uint64_t)run.slots];
    pthread_mutex_lock(&s->lock);
    mtmsg_buffer_abort(s->handle, true);
    pause_micros(200);
    mtmsg_buffer_abort(s->handle, false);
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&run.buffer_aborts, 1);
}

static void *inject_faults(void *arg)
{
    (void)arg;
    uint64_t random = 12345;
    unsigned faults = run.c->faults;
    while (!atomic_load(&run.stop_faults)) {
        if (faults & FAULT_CLOSE) close_and_replace(&random);
        if ((faults & FAULT_ABORT) && !(faults & FAULT_RELEASE && run.c->route == ON_LISTENER)) {
            abort_for_a_while(&random);
        }
        if (faults & FAULT_LISTENER_ABORT) {
            mtmsg_listener_abort(run.listener, true);
            pause_micros(200);
            mtmsg_listener_abort(run.listener, false);
            atomic_fetch_add(&run.listener_aborts, 1);
        }
        if (faults & FAULT_GLOBAL_ABORT) {
            mtmsg_abort(true);
            pause_micros(200);
            mtmsg_abort(false);
            atomic_fetch_add(&run.global_aborts, 1);
        }
        atomic_fetch_add(&run.fault_rounds, 1);
        pause_micros(500 + (long)(next_random(&random) % 1500));
    }
    return NULL;
}

/* ---- msgcnt while the traffic runs ---- */

/* One msgcnt of a buffer against what the counters allow: at most what was
 * sent, plus one for each producer that added a message and has not
 * counted it yet (and no more than a fixed buffer holds); with `exact`
 * (every message goes to this buffer and stays there until taken), at
 * least what was sent and not taken, less one for each consumer that took
 * a message and has not counted it yet. */
static void check_count(const char *which, mtmsg_buffer *buffer, bool exact, bool fixed)
{
    long long sent_before = atomic_load(&run.sent);
    size_t count = 0;
    mtmsg_status status = mtmsg_buffer_msgcnt(buffer, &count);
    long long sent_after = atomic_load(&run.sent);
    long long removed_after = atomic_load(&run.taken) + atomic_load(&run.corrupt);
    if (status == MTMSG_OBJECT_CLOSED || status == MTMSG_OPERATION_ABORTED) return; /* a fault's */
    if (status != MTMSG_OK) {
        fail_status("mtmsg_buffer_msgcnt", status);
        return;
    }
    long long most = sent_after + run.c->producers;
    if (fixed && (long long)fixed_buffer_capacity < most) most = (long long)fixed_buffer_capacity;
    long long least = exact ? sent_before - removed_after - run.c->consumers : 0;
    if (least < 0) least = 0;
    if (count > (size_t)most || count < (size_t)least) {
        char text[300];
        snprintf(text, sizeof text, "mtmsg_buffer_msgcnt of %s gave %zu, not within [%lld, %lld] (%lld sent, %lld taken)",
                 which, count, least, most, sent_after, removed_after);
        fail_run("%s", text, 0, 0);
    }
}

static void *sample_counts(void *arg)
{
    (void)arg;
    bool exact = run.slots == 1 && !(run.c->faults & FAULT_CLOSE);
    do {
        for (int i = 0; i < run.slots; i++) {
            slot *s = &run.slot[i];
            /* held, so that a fault does not release the handle meanwhile */
            pthread_mutex_lock(&s->lock);
            if (s->handle) check_count("a buffer the producers add to", s->handle, exact, fixed_size());
            pthread_mutex_unlock(&s->lock);
        }
        if (run.notified) check_count("the notified buffer", run.notified, exact, false);
        atomic_fetch_add(&run.count_samples, 1);
        pause_micros(100);
    } while (!atomic_load(&run.stop_sampling));
    return NULL;
}

/* As many of the smallest message of the cases (every number 0, no
 * payload) as an empty fixed buffer takes: no fixed buffer of a case
 * ever holds more. */
static size_t measure_fixed_buffer_capacity(void)
{
    message smallest;
    mtmsg_value v[VALUES];
    mtmsg_buffer *buffer = NULL;
    size_t count = 0;
    memset(&smallest, 0, sizeof smallest);
    to_values(&smallest, v);
    if (mtmsg_buffer_new(NULL, 0, FIXED_SIZE1, FIXED_SIZE2, 0.0, &buffer) != MTMSG_OK) return SIZE_MAX;
    while (mtmsg_buffer_addmsg(buffer, v, VALUES) == MTMSG_OK) count++;
    mtmsg_buffer_release(buffer);
    return count;
}

/* ---- burners ---- */

/* Threads that only spin, beside every case (MTMSG_STRESS_BURNERS): with
 * more runnable threads than cores, the scheduler preempts producers and
 * consumers at arbitrary points, inside the library's locks too. */
#define MAX_BURNERS 64
static atomic_bool burners_stop;

static void *burn(void *arg)
{
    (void)arg;
    volatile uint64_t spins = 0;
    while (!atomic_load_explicit(&burners_stop, memory_order_relaxed)) spins++;
    return NULL;
}

/* ---- the watchdog ---- */

static atomic_bool watchdog_stop;
static char case_title[128];

static void *watchdog(void *arg)
{
    double limit = *(double *)arg;
    long long last = -1;
    double since = now();
    while (!atomic_load(&watchdog_stop)) {
        pause_micros(20000);
        long long progress = atomic_load(&run.progress);
        if (progress != last) {
            last = progress;
            since = now();
        } else if (limit > 0 && now() - since > limit) {
            printf("FAIL %s: hangs (watchdog: no progress for %.0f s; %lld sent, %lld taken of %lld, %s)\n",
                   case_title, limit, (long long)atomic_load(&run.sent), (long long)atomic_load(&run.taken),
                   (long long)(run.per_producer * run.c->producers),
                   atomic_load(&run.phase));
            printf("%d passed, %d failed\n", check_passed, check_failed + 1);
            fflush(stdout);
            _exit(1);
        }
    }
    return NULL;
}

/* ---- one case ---- */

static bool all_queues_empty(void)
{
    for (int i = 0; i < run.slots; i++) {
        size_t count = 0;
        pthread_mutex_lock(&run.slot[i].lock);
        mtmsg_status status = mtmsg_buffer_msgcnt(run.slot[i].handle, &count);
        pthread_mutex_unlock(&run.slot[i].lock);
        if (status != MTMSG_OK || count > 0) return false;
    }
    return true;
}

/* Waits until every message that can still be taken was taken. */
static void drain(void)
{
    atomic_store(&run.phase, "waiting until the consumers took every message");
    if (run.c->faults & FAULT_CLOSE) {
        while (!all_queues_empty()) pause_micros(500);
    } else {
        while (atomic_load(&run.taken) + atomic_load(&run.corrupt) < atomic_load(&run.sent) && run.error[0] == '\0') {
            pause_micros(500);
        }
    }
}

/* After the run: every message added was taken exactly once, except the
 * last ones of a closed buffer. */
static void account(long long *lost_to_close, long long *lost, long long *phantom)
{
    uint8_t *gap = calloc(MAX_GENS, 1);
    for (int p = 0; p < run.c->producers && gap; p++) {
        memset(gap, 0, MAX_GENS);
        for (int64_t s = 0; s < run.per_producer; s++) {
            uint32_t sent = run.sent_gen[p][s];
            uint32_t taken = atomic_load(&run.taken_gen[p][s]);
            if (taken != 0 && taken != sent) {
                (*phantom)++;
            } else if (sent == 0) {
                continue;
            } else if (taken == 0) {
                if (atomic_load(&run.closed_gen[sent - 1])) {
                    (*lost_to_close)++;
                    gap[sent - 1] = 1;
                } else {
                    (*lost)++;
                }
            } else if (gap[sent - 1]) {
                (*lost)++; /* taken after one before it of the same buffer was lost */
            }
        }
    }
    free(gap);
}

static void stress(const stress_case *c)
{
    producer producers[MAX_PRODUCERS];
    consumer consumers[MAX_CONSUMERS];
    pthread_t fault_thread, watchdog_thread, sampling_thread;
    static double stall;
    int p, i;

    memset(&run, 0, sizeof run);
    memset(producers, 0, sizeof producers);
    memset(consumers, 0, sizeof consumers);
    pthread_mutex_init(&run.error_lock, NULL);
    atomic_store(&run.phase, "starting the threads");
    run.c = c;
    run.per_producer = stress_messages / c->producers;
    if (run.per_producer < 2) run.per_producer = 2;
    run.release_every = run.per_producer / 4 < RELEASE_EVERY ? run.per_producer / 4 + 1 : RELEASE_EVERY;
    run.slots = c->route == ON_LISTENER ? c->producers * LISTENER_SLOTS : 1;
    for (p = 0; p < c->producers; p++) {
        run.sent_gen[p] = calloc((size_t)run.per_producer, sizeof(uint32_t));
        run.taken_gen[p] = calloc((size_t)run.per_producer, sizeof(_Atomic uint32_t));
        CHECK(run.sent_gen[p] && run.taken_gen[p]);
    }
    if (c->route == ON_LISTENER) {
        CHECK_OK(mtmsg_listener_new("stress", 6, &run.listener));
        CHECK_OK(mtmsg_listener_newbuffer(run.listener, "control", 7, 16, 64, 2.0, &run.control));
    }
    if (c->route == ON_NOTIFIED) CHECK_OK(mtmsg_buffer_new("notified", 8, 64, 256, 2.0, &run.notified));
    bool own = c->route == ON_LISTENER && (c->faults & FAULT_RELEASE);
    for (i = 0; i < run.slots; i++) {
        pthread_mutex_init(&run.slot[i].lock, NULL);
        if (!own) CHECK(new_generation(&run.slot[i].handle, &run.slot[i].gen));
    }

    stall = (double)check_watchdog_seconds();
    atomic_store(&watchdog_stop, false);
    CHECK(pthread_create(&watchdog_thread, NULL, watchdog, &stall) == 0);
    double start = now();
    for (i = 0; i < c->consumers; i++) {
        consumer *me = &consumers[i];
        me->index = i;
        CHECK_OK(mtmsg_reader_new(32, 2.0, &me->reader));
        if (c->route == ON_LISTENER) CHECK_OK(mtmsg_listener_clone(run.listener, &me->listener));
        else CHECK(refresh(&me->view, 0));
        CHECK(pthread_create(&me->thread, NULL, consume, me) == 0);
    }
    for (p = 0; p < c->producers; p++) {
        producer *me = &producers[p];
        me->index = p;
        me->owns_buffers = own;
        if (c->route == WRITER_READER) CHECK_OK(mtmsg_writer_new(32, 2.0, &me->writer));
        int views = c->route == ON_LISTENER ? LISTENER_SLOTS : 1;
        for (int v = 0; v < views; v++) {
            if (own) CHECK(new_generation(&me->view[v].handle, &me->view[v].gen));
            else CHECK(refresh(&me->view[v], c->route == ON_LISTENER ? p * LISTENER_SLOTS + v : 0));
        }
    }
    atomic_store(&run.phase, "producers running");
    if (c->faults) CHECK(pthread_create(&fault_thread, NULL, inject_faults, NULL) == 0);
    CHECK(pthread_create(&sampling_thread, NULL, sample_counts, NULL) == 0);
    for (p = 0; p < c->producers; p++) CHECK(pthread_create(&producers[p].thread, NULL, produce, &producers[p]) == 0);
    for (p = 0; p < c->producers; p++) pthread_join(producers[p].thread, NULL);
    atomic_store(&run.stop_sampling, true);
    pthread_join(sampling_thread, NULL);
    if (c->faults) {
        atomic_store(&run.stop_faults, true);
        pthread_join(fault_thread, NULL);
        mtmsg_abort(false);
    }
    drain();
    /* stop: one empty message per consumer behind everything else */
    atomic_store(&run.phase, "waiting for the consumers to stop");
    mtmsg_value none = mv_nil();
    for (i = 0; i < c->consumers; i++) {
        mtmsg_buffer *target = c->route == ON_LISTENER ? run.control : run.slot[0].handle;
        CHECK_OK(c->adding != GROWING && c->route != ON_LISTENER ? mtmsg_buffer_addmsg_wait(target, &none, 0, MTMSG_FOREVER)
                                                                 : mtmsg_buffer_addmsg(target, &none, 0));
    }
    for (i = 0; i < c->consumers; i++) pthread_join(consumers[i].thread, NULL);
    double took = now() - start;
    atomic_store(&watchdog_stop, true);
    pthread_join(watchdog_thread, NULL);

    long long lost_to_close = 0, lost = 0, phantom = 0;
    account(&lost_to_close, &lost, &phantom);
    long long sent = atomic_load(&run.sent), taken = atomic_load(&run.taken);
    if (run.corrupt || run.duplicates || run.disorder || phantom || lost) {
        printf("  # %s: %lld corrupt, %lld duplicates, %lld out of order, %lld taken but not sent there, "
               "%lld lost\n", case_title, (long long)run.corrupt, (long long)run.duplicates,
               (long long)run.disorder, phantom, lost);
    }
    printf("  # %s: P=%d C=%d: %lld messages checked (%lld sent, %lld lost to close), %.2f s, %.0f ns each; "
           "faults: %lld closes, %lld buffer aborts, %lld listener aborts, %lld global aborts, %lld releases, "
           "%lld retries; %lld msgcnt samples\n",
           case_title, c->producers, c->consumers, taken, sent, lost_to_close, took, took * 1e9 / (double)(sent ? sent : 1),
           (long long)run.closes, (long long)run.buffer_aborts, (long long)run.listener_aborts,
           (long long)run.global_aborts, (long long)run.releases, (long long)run.retries,
           (long long)run.count_samples);

    for (p = 0; p < c->producers; p++) {
        mtmsg_writer_release(producers[p].writer);
        for (int v = 0; v < LISTENER_SLOTS; v++) mtmsg_buffer_release(producers[p].view[v].handle);
    }
    for (i = 0; i < c->consumers; i++) {
        mtmsg_reader_release(consumers[i].reader);
        mtmsg_listener_release(consumers[i].listener);
        mtmsg_buffer_release(consumers[i].view.handle);
    }
    for (i = 0; i < run.slots; i++) {
        mtmsg_buffer_release(run.slot[i].handle);
        pthread_mutex_destroy(&run.slot[i].lock);
    }
    mtmsg_buffer_release(run.control);
    mtmsg_buffer_release(run.notified);
    mtmsg_listener_release(run.listener);
    for (p = 0; p < c->producers; p++) {
        free(run.sent_gen[p]);
        free(run.taken_gen[p]);
    }
    pthread_mutex_destroy(&run.error_lock);

    if (run.error[0] != '\0') {
        check_set_message(__FILE__, __LINE__, run.error);
        return;
    }
    CHECK(sent == run.per_producer * c->producers);
    CHECK(run.corrupt == 0);
    CHECK(run.duplicates == 0);
    CHECK(run.disorder == 0);
    CHECK(phantom == 0);
    CHECK(lost == 0);
    CHECK(taken + lost_to_close == sent);
    CHECK(lost_to_close == 0 || (c->faults & FAULT_CLOSE));
    if (c->faults & FAULT_CLOSE) CHECK(run.closes > 0);
    if (c->faults & FAULT_ABORT) CHECK(run.buffer_aborts > 0 || (c->faults & FAULT_RELEASE));
    if (c->faults & FAULT_GLOBAL_ABORT) CHECK(run.global_aborts > 0);
    if (c->faults & FAULT_RELEASE) CHECK(run.releases > 0);
}

/* ---- threads that end while others wait on what they created ---- */

typedef struct {
    uint64_t buffer_id, listener_id;
    mtmsg_buffer *waiter_buffer;     /* handles for the waiting threads */
    mtmsg_listener *waiter_listener;
    mtmsg_status status;
} creation;

/* Creates a buffer and a listener with one buffer holding a message, hands
 * references to the waiters, and ends, dropping its own. */
static void *create_and_end(void *arg)
{
    creation *c = arg;
    mtmsg_buffer *buffer = NULL, *listener_buffer = NULL;
    mtmsg_listener *listener = NULL;
    mtmsg_value last = mv_cstr("left behind");
    c->status = mtmsg_buffer_new(NULL, 0, 64, 256, 2.0, &buffer);
    if (c->status == MTMSG_OK) c->status = mtmsg_listener_new(NULL, 0, &listener);
    if (c->status == MTMSG_OK) c->status = mtmsg_listener_newbuffer(listener, NULL, 0, 64, 256, 2.0, &listener_buffer);
    if (c->status == MTMSG_OK) c->status = mtmsg_buffer_clone(buffer, &c->waiter_buffer);
    if (c->status == MTMSG_OK) c->status = mtmsg_listener_clone(listener, &c->waiter_listener);
    if (c->status == MTMSG_OK) c->status = mtmsg_buffer_id(buffer, &c->buffer_id);
    if (c->status == MTMSG_OK) c->status = mtmsg_listener_id(listener, &c->listener_id);
    if (c->status == MTMSG_OK) c->status = mtmsg_buffer_addmsg(listener_buffer, &last, 1);
    mtmsg_buffer_release(listener_buffer);
    mtmsg_listener_release(listener);
    mtmsg_buffer_release(buffer);
    return NULL;
}

typedef struct {
    creation *made;
    bool on_listener;
    atomic_int *waiting;
    mtmsg_status first, second;
    size_t first_values;
} waiter;

static void *wait_on_creation(void *arg)
{
    waiter *w = arg;
    mtmsg_reader *r = NULL;
    mtmsg_value v[2];
    size_t got = 0;
    w->first = mtmsg_reader_new(64, 2.0, &r);
    atomic_fetch_add(w->waiting, 1);
    if (w->first != MTMSG_OK) return NULL;
    if (w->on_listener) {
        /* the message its creator left, then no_buffers: the buffer went
         * with its creator */
        w->first = mtmsg_listener_nextmsg(w->made->waiter_listener, r, MTMSG_FOREVER);
        if (w->first == MTMSG_OK) mtmsg_reader_next(r, v, 2, &got);
        w->second = mtmsg_listener_nextmsg(w->made->waiter_listener, r, MTMSG_FOREVER);
    } else {
        w->first = mtmsg_buffer_nextmsg(w->made->waiter_buffer, r, MTMSG_FOREVER);
        if (w->first == MTMSG_OK) mtmsg_reader_next(r, v, 2, &got);
        w->second = MTMSG_OK;
    }
    w->first_values = got;
    mtmsg_reader_release(r);
    return NULL;
}

static void waiters_outlive_the_threads_that_created_their_buffers(void)
{
    int rounds = (int)(stress_messages / 100);
    if (rounds < 20) rounds = 20;
    if (rounds > 2000) rounds = 2000;
    double start = now();
    for (int round = 0; round < rounds; round++) {
        creation made = { 0 };
        pthread_t creator;
        CHECK(pthread_create(&creator, NULL, create_and_end, &made) == 0);
        CHECK(pthread_join(creator, NULL) == 0);
        CHECK_OK(made.status);
        atomic_int waiting = 0;
        waiter on_buffer = { &made, false, &waiting, 0, 0, 0 };
        waiter on_listener = { &made, true, &waiting, 0, 0, 0 };
        pthread_t threads[2];
        CHECK(pthread_create(&threads[0], NULL, wait_on_creation, &on_buffer) == 0);
        CHECK(pthread_create(&threads[1], NULL, wait_on_creation, &on_listener) == 0);
        while (atomic_load(&waiting) < 2) sched_yield();
        if (round % 2) pause_micros(200); /* now and then, surely asleep */
        /* the buffer outlived its creator: found by id, it wakes its waiter */
        mtmsg_buffer *found = NULL;
        CHECK_OK(mtmsg_buffer_find_id(made.buffer_id, &found));
        mtmsg_value hello = mv_cstr("hello");
        CHECK_OK(mtmsg_buffer_addmsg(found, &hello, 1));
        pthread_join(threads[0], NULL);
        pthread_join(threads[1], NULL);
        mtmsg_buffer_release(found);
        mtmsg_buffer_release(made.waiter_buffer);
        mtmsg_listener_release(made.waiter_listener);
        CHECK_OK(on_buffer.first);
        CHECK(on_buffer.first_values == 1);
        CHECK_OK(on_listener.first);
        CHECK(on_listener.first_values == 1);
        CHECK_STATUS(on_listener.second, MTMSG_NO_BUFFERS);
        mtmsg_listener *gone = NULL;
        CHECK_STATUS(mtmsg_listener_find_id(made.listener_id, &gone), MTMSG_UNKNOWN_OBJECT);
    }
    printf("  # %d rounds: a creating thread ended, two threads waited on what it made (%d threads), %.2f s\n",
           rounds, rounds * 3, now() - start);
}

/* ---- the cases ---- */

static const stress_case cases[] = {
    { "one_buffer", ON_BUFFER, 1, 1, GROWING, 0 },
    { "one_buffer", ON_BUFFER, 1, 8, GROWING, 0 },
    { "one_buffer", ON_BUFFER, 8, 1, GROWING, 0 },
    { "one_buffer", ON_BUFFER, 8, 8, GROWING, 0 },
    { "one_buffer", ON_BUFFER, 3, 5, GROWING, 0 },
    { "one_fixed_buffer", ON_BUFFER, 1, 1, FIXED_WAITING, 0 },
    { "one_fixed_buffer", ON_BUFFER, 8, 8, FIXED_WAITING, 0 },
    { "one_fixed_buffer", ON_BUFFER, 2, 6, FIXED_WAITING, 0 },
    { "one_fixed_buffer_retrying", ON_BUFFER, 1, 1, FIXED_RETRYING, 0 },
    { "one_fixed_buffer_retrying", ON_BUFFER, 8, 8, FIXED_RETRYING, 0 },
    { "one_fixed_buffer_retrying", ON_BUFFER, 6, 2, FIXED_RETRYING, 0 },
    { "listener", ON_LISTENER, 1, 1, GROWING, 0 },
    { "listener", ON_LISTENER, 8, 8, GROWING, 0 },
    { "listener", ON_LISTENER, 2, 8, GROWING, 0 },
    { "listener", ON_LISTENER, 8, 2, GROWING, 0 },
    { "listener_fixed", ON_LISTENER, 8, 8, FIXED_WAITING, 0 },
    { "listener_fixed_retrying", ON_LISTENER, 4, 4, FIXED_RETRYING, 0 },
    { "writer_reader", WRITER_READER, 1, 1, GROWING, 0 },
    { "writer_reader", WRITER_READER, 8, 8, GROWING, 0 },
    { "writer_reader_fixed", WRITER_READER, 4, 4, FIXED_RETRYING, 0 },
    { "notifier", ON_NOTIFIED, 1, 1, GROWING, 0 },
    { "notifier", ON_NOTIFIED, 4, 4, GROWING, 0 },
    { "notifier_fixed", ON_NOTIFIED, 4, 4, FIXED_WAITING, 0 },
    { "notifier_fixed_retrying", ON_NOTIFIED, 8, 8, FIXED_RETRYING, 0 },
    { "faults_one_buffer_closed", ON_BUFFER, 8, 8, GROWING, FAULT_CLOSE },
    { "faults_one_fixed_buffer_closed", ON_BUFFER, 4, 4, FIXED_WAITING, FAULT_CLOSE },
    { "faults_one_fixed_buffer_retrying_closed_and_aborted", ON_BUFFER, 4, 4, FIXED_RETRYING,
      FAULT_CLOSE | FAULT_ABORT | FAULT_GLOBAL_ABORT },
    { "faults_listener_buffers_closed", ON_LISTENER, 8, 8, GROWING, FAULT_CLOSE },
    { "faults_one_buffer_aborted", ON_BUFFER, 8, 8, FIXED_WAITING, FAULT_ABORT | FAULT_GLOBAL_ABORT },
    { "faults_listener_aborted", ON_LISTENER, 8, 8, GROWING, FAULT_ABORT | FAULT_LISTENER_ABORT | FAULT_GLOBAL_ABORT },
    { "faults_writer_reader_all", WRITER_READER, 4, 4, GROWING, FAULT_CLOSE | FAULT_ABORT | FAULT_GLOBAL_ABORT },
    { "faults_one_buffer_references", ON_BUFFER, 8, 8, GROWING, FAULT_RELEASE | FAULT_GLOBAL_ABORT },
    { "faults_listener_buffers_collected", ON_LISTENER, 8, 8, GROWING,
      FAULT_RELEASE | FAULT_LISTENER_ABORT | FAULT_GLOBAL_ABORT },
};

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    const char *count = getenv("MTMSG_STRESS_MESSAGES");
    stress_messages = count ? atoll(count) : 20000;
    if (stress_messages < 16) stress_messages = 16;
    const char *burner_count = getenv("MTMSG_STRESS_BURNERS");
    int burners = burner_count ? atoi(burner_count) : 0;
    if (burners < 0) burners = 0;
    if (burners > MAX_BURNERS) burners = MAX_BURNERS;
    fixed_buffer_capacity = measure_fixed_buffer_capacity();
    printf("  # %lld messages per case, %d burners beside them; a fixed buffer holds %zu messages at most\n",
           (long long)stress_messages, burners, fixed_buffer_capacity);
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t burner_threads[MAX_BURNERS];
    for (int b = 0; b < burners; b++) {
        if (pthread_create(&burner_threads[b], NULL, burn, NULL) != 0) {
            printf("FAIL burners: cannot start burner %d\n0 passed, 1 failed\n", b);
            return 1;
        }
    }
    for (size_t i = 0; i < COUNT_OF(cases); i++) {
        const stress_case *c = &cases[i];
        snprintf(case_title, sizeof case_title, "%s_P%d_C%d", c->name, c->producers, c->consumers);
        if (filter && !strstr(case_title, filter)) continue;
        /* the watchdog thread watches progress; the alarm of check_run is
         * only a backstop for a case that never ends */
        check_current = case_title;
        check_message[0] = '\0';
        stress(c);
        if (mtmsg_isabort()) mtmsg_abort(false);
        if (check_message[0] == '\0') {
            check_passed++;
            printf("ok %s\n", case_title);
        } else {
            check_failed++;
            printf("FAIL %s: %s\n", case_title, check_message);
        }
    }
    RUN(waiters_outlive_the_threads_that_created_their_buffers);
    atomic_store(&burners_stop, true);
    for (int b = 0; b < burners; b++) pthread_join(burner_threads[b], NULL);
    return check_summary();
}
