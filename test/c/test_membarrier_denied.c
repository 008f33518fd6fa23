/* membarrier(2) denied after start-up, as a sandbox does when it
 * installs its seccomp filter once the program runs: whatever membarrier
 * does, no message may be lost, duplicated or corrupted, and no call may
 * report MTMSG_PANIC.
 *
 * Each test runs in a child process, which the filter stays in: first one
 * thread takes the locks of a growing buffer, a fixed one and a listener
 * thousands of times in a row (a lock taken that often by one thread was
 * where membarrier came in), then the filter goes in, then producers and
 * consumers run checked traffic through the same objects while a thread
 * samples mtmsg_buffer_msgcnt. The parent waits for the child with a
 * timeout and reports what it counted (in memory the two share).
 *
 *   membarrier fails with EPERM    the library must go on as if nothing happened
 *   membarrier kills the process   the library must not call it at all
 *
 * Skipped where seccomp filters cannot be had: other systems and
 * architectures than Linux on x86_64 and aarch64, a kernel without the
 * filter's action, prctl refusing, valgrind (which has no seccomp(2)).
 * MTMSG_TEST_QUICK (valgrind): less traffic.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "check.h"

#if defined(__linux__) && (defined(__x86_64__) || defined(__aarch64__))
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#ifdef __NR_membarrier
#define SECCOMP_TESTS 1
#endif
#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#else
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#endif

/* The child's exit status when it could not install the filter. */
#define EXIT_NO_SECCOMP 77

/* More takes in a row by one thread than made the old lock its thread's. */
#define WARM_UP_TAKES 3000

/* What the child counted, in memory shared with the parent, which reads it
 * whatever became of the child. */
typedef struct {
    atomic_llong sent, taken, panics, corrupt, duplicates, disorder, lost, bad_counts;
    atomic_bool failed; /* failure has the first failure's text */
    char failure[400];
} child_report;

static child_report *report;

static void note_failure(const char *format, ...)
{
    if (atomic_exchange(&report->failed, true)) return;
    va_list args;
    va_start(args, format);
    vsnprintf(report->failure, sizeof report->failure, format, args);
    va_end(args);
}

/* ---- the traffic: three routes, each with a steady producer (it keeps
 * taking the lock of its end), an occasional one (which makes the lock
 * change hands now and then) and two consumers ---- */

enum { GROWING_BUFFER, FIXED_BUFFER, LISTENER, ROUTES };
static const char *const route_names[ROUTES] = { "growing buffer", "fixed buffer", "listener" };
#define PRODUCERS_PER_ROUTE 2
#define CONSUMERS_PER_ROUTE 2
#define PRODUCERS (ROUTES * PRODUCERS_PER_ROUTE)
#define MAX_PAYLOAD 40

typedef struct {
    /* where each producer of the route adds: one buffer for both, or on
     * the listener a buffer each */
    mtmsg_buffer *target[PRODUCERS_PER_ROUTE];
    mtmsg_listener *listener;
} route;

static route routes[ROUTES];
static int64_t steady_messages, occasional_messages;
static int64_t sent_by[PRODUCERS];
static atomic_uchar *taken_seq[PRODUCERS];
static atomic_bool producers_done;

static int route_of(int producer)
{
    return producer / PRODUCERS_PER_ROUTE;
}

static int64_t messages_of(int producer)
{
    return producer % PRODUCERS_PER_ROUTE == 0 ? steady_messages : occasional_messages;
}

/* The payload of (producer, seq) follows from them; the checksum covers all. */
static size_t make_payload(int64_t producer, int64_t seq, char *out)
{
    size_t len = (size_t)((seq * 7 + producer) % MAX_PAYLOAD);
    for (size_t i = 0; i < len; i++) out[i] = (char)('a' + (seq + producer * 3 + (int64_t)i) % 26);
    return len;
}

static int64_t checksum_of(int64_t producer, int64_t seq, const char *payload, size_t len)
{
    uint64_t hash = 1469598103934665603ULL ^ (uint64_t)producer * 0x9E3779B97F4A7C15ULL;
    hash = (hash ^ (uint64_t)seq) * 1099511628211ULL;
    for (size_t i = 0; i < len; i++) hash = (hash ^ (unsigned char)payload[i]) * 1099511628211ULL;
    return (int64_t)(hash >> 1);
}

/* A call that reports MTMSG_PANIC is counted and made again. */
static mtmsg_status counting_panics(mtmsg_status status)
{
    if (status == MTMSG_PANIC) atomic_fetch_add(&report->panics, 1);
    return status;
}

static void *produce(void *arg)
{
    int producer = (int)(intptr_t)arg;
    int r = route_of(producer);
    mtmsg_buffer *target = routes[r].target[producer % PRODUCERS_PER_ROUTE];
    bool occasional = producer % PRODUCERS_PER_ROUTE != 0;
    char payload[MAX_PAYLOAD];
    int64_t seq;
    for (seq = 0; seq < messages_of(producer); seq++) {
        size_t len = make_payload(producer, seq, payload);
        mtmsg_value v[4] = { mv_int(producer), mv_int(seq), mv_str(payload, len),
                             mv_int(checksum_of(producer, seq, payload, len)) };
        mtmsg_status status;
        do {
            status = counting_panics(r == FIXED_BUFFER ? mtmsg_buffer_addmsg_wait(target, v, 4, MTMSG_FOREVER)
                                                       : mtmsg_buffer_addmsg(target, v, 4));
        } while (status == MTMSG_PANIC);
        if (status != MTMSG_OK) {
            note_failure("producer %d: adding gave %s (%s)", producer, mtmsg_status_name(status), mtmsg_last_error());
            break;
        }
        atomic_fetch_add(&report->sent, 1);
        if (occasional) pause_micros(100);
    }
    sent_by[producer] = seq;
    return NULL;
}

/* Checks one message of the route; false for a corrupt one. */
static bool check_message_of(int r, const mtmsg_value *v, size_t got, int64_t last_seq[PRODUCERS])
{
    if (got != 4 || v[0].type != MTMSG_INTEGER || v[1].type != MTMSG_INTEGER || v[2].type != MTMSG_STRING ||
        v[3].type != MTMSG_INTEGER) {
        return false;
    }
    int64_t producer = v[0].as.integer, seq = v[1].as.integer;
    if (producer < 0 || producer >= PRODUCERS || route_of((int)producer) != r || seq < 0 ||
        seq >= messages_of((int)producer)) {
        return false;
    }
    char payload[MAX_PAYLOAD];
    size_t len = make_payload(producer, seq, payload);
    if (v[2].as.string.len != len || (len > 0 && memcmp(v[2].as.string.ptr, payload, len) != 0) ||
        v[3].as.integer != checksum_of(producer, seq, payload, len)) {
        return false;
    }
    if (atomic_exchange(&taken_seq[producer][seq], 1) != 0) atomic_fetch_add(&report->duplicates, 1);
    if (seq <= last_seq[producer]) atomic_fetch_add(&report->disorder, 1);
    last_seq[producer] = seq;
    return true;
}

/* Takes the route's messages until an empty one. */
static void *consume(void *arg)
{
    int r = (int)(intptr_t)arg;
    mtmsg_reader *reader = NULL;
    int64_t last_seq[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++) last_seq[p] = -1;
    if (mtmsg_reader_new(64, 2.0, &reader) != MTMSG_OK) {
        note_failure("consumer: no reader (%s)", mtmsg_last_error());
        return NULL;
    }
    for (;;) {
        mtmsg_status status = counting_panics(
            r == LISTENER ? mtmsg_listener_nextmsg(routes[r].listener, reader, MTMSG_FOREVER)
                          : mtmsg_buffer_nextmsg(routes[r].target[0], reader, MTMSG_FOREVER));
        if (status == MTMSG_PANIC) continue;
        if (status != MTMSG_OK) {
            note_failure("consumer of the %s: taking gave %s (%s)", route_names[r], mtmsg_status_name(status),
                         mtmsg_last_error());
            break;
        }
        mtmsg_value v[5];
        size_t got = 0;
        if (counting_panics(mtmsg_reader_next(reader, v, 5, &got)) != MTMSG_OK) {
            atomic_fetch_add(&report->corrupt, 1);
            continue;
        }
        if (got == 0) break; /* the empty message: stop */
        if (check_message_of(r, v, got, last_seq)) {
            atomic_fetch_add(&report->taken, 1);
        } else {
            atomic_fetch_add(&report->corrupt, 1);
        }
    }
    mtmsg_reader_release(reader);
    return NULL;
}

/* Every buffer's msgcnt, no more than was sent (plus one a producer has
 * added and not counted yet); when `settled`, none at all. */
static void check_counts(bool settled)
{
    long long sent = atomic_load(&report->sent);
    for (int r = 0; r < ROUTES; r++) {
        for (int p = 0; p < PRODUCERS_PER_ROUTE; p++) {
            if (p > 0 && routes[r].target[p] == routes[r].target[0]) continue;
            size_t count = 0;
            mtmsg_status status = counting_panics(mtmsg_buffer_msgcnt(routes[r].target[p], &count));
            if (status != MTMSG_OK) {
                note_failure("msgcnt of the %s gave %s", route_names[r], mtmsg_status_name(status));
            } else if (settled ? count != 0 : count > (size_t)(sent + PRODUCERS)) {
                atomic_fetch_add(&report->bad_counts, 1);
                note_failure("msgcnt of the %s gave %zu with %lld sent%s", route_names[r], count, sent,
                             settled ? " and all taken" : "");
            }
        }
    }
}

static void *sample_counts(void *arg)
{
    (void)arg;
    while (!atomic_load(&producers_done)) {
        check_counts(false);
        pause_micros(200);
    }
    return NULL;
}

static bool make_routes(void)
{
    mtmsg_buffer *growing = NULL, *fixed = NULL;
    if (mtmsg_buffer_new(NULL, 0, 64, 256, 2.0, &growing) != MTMSG_OK ||
        mtmsg_buffer_new(NULL, 0, 128, 2048, 0.0, &fixed) != MTMSG_OK ||
        mtmsg_listener_new(NULL, 0, &routes[LISTENER].listener) != MTMSG_OK) {
        return false;
    }
    for (int p = 0; p < PRODUCERS_PER_ROUTE; p++) {
        routes[GROWING_BUFFER].target[p] = growing;
        routes[FIXED_BUFFER].target[p] = fixed;
        if (mtmsg_listener_newbuffer(routes[LISTENER].listener, NULL, 0, 64, 256, 2.0, &routes[LISTENER].target[p]) !=
            MTMSG_OK) {
            return false;
        }
    }
    return true;
}

/* One thread adds and takes a message again and again through every
 * route: each lock of the routes is taken by it many times in a row. */
static bool take_every_lock_in_a_row(void)
{
    mtmsg_reader *reader = NULL;
    mtmsg_value one = mv_int(1);
    bool ok = mtmsg_reader_new(64, 2.0, &reader) == MTMSG_OK;
    for (int i = 0; ok && i < WARM_UP_TAKES; i++) {
        for (int r = 0; ok && r < ROUTES; r++) {
            for (int p = 0; ok && p < PRODUCERS_PER_ROUTE; p++) {
                ok = mtmsg_buffer_addmsg(routes[r].target[p], &one, 1) == MTMSG_OK &&
                     (r == LISTENER ? mtmsg_listener_nextmsg(routes[r].listener, reader, 0)
                                    : mtmsg_buffer_nextmsg(routes[r].target[p], reader, 0)) == MTMSG_OK;
            }
        }
    }
    mtmsg_reader_release(reader);
    return ok;
}

/* Waits until the consumers took every message sent; false when they make
 * no progress for `patience` seconds. */
static bool all_taken(double patience)
{
    long long last = -1;
    double since = now();
    for (;;) {
        long long done = atomic_load(&report->taken) + atomic_load(&report->corrupt);
        if (done >= atomic_load(&report->sent)) return true;
        if (done != last) {
            last = done;
            since = now();
        } else if (now() - since > patience) {
            return false;
        }
        pause_micros(1000);
    }
}

static int run_traffic(void)
{
    pthread_t producers[PRODUCERS], consumers[ROUTES * CONSUMERS_PER_ROUTE], sampler;
    for (int p = 0; p < PRODUCERS; p++) {
        taken_seq[p] = calloc((size_t)messages_of(p), sizeof(atomic_uchar));
        if (!taken_seq[p]) return 1;
    }
    for (int i = 0; i < ROUTES * CONSUMERS_PER_ROUTE; i++) {
        pthread_create(&consumers[i], NULL, consume, (void *)(intptr_t)(i / CONSUMERS_PER_ROUTE));
    }
    pthread_create(&sampler, NULL, sample_counts, NULL);
    for (int p = 0; p < PRODUCERS; p++) pthread_create(&producers[p], NULL, produce, (void *)(intptr_t)p);
    for (int p = 0; p < PRODUCERS; p++) pthread_join(producers[p], NULL);
    atomic_store(&producers_done, true);
    pthread_join(sampler, NULL);
    if (!all_taken(10.0)) {
        note_failure("the consumers stopped taking before they had every message");
        return 1; /* they may never return: the process ends without them */
    }
    mtmsg_value none = mv_nil();
    for (int r = 0; r < ROUTES; r++) {
        for (int i = 0; i < CONSUMERS_PER_ROUTE; i++) {
            while (counting_panics(mtmsg_buffer_addmsg_wait(routes[r].target[0], &none, 0, MTMSG_FOREVER)) ==
                   MTMSG_PANIC) {
            }
        }
    }
    for (int i = 0; i < ROUTES * CONSUMERS_PER_ROUTE; i++) pthread_join(consumers[i], NULL);
    for (int p = 0; p < PRODUCERS; p++) {
        for (int64_t seq = 0; seq < sent_by[p]; seq++) {
            if (!atomic_load(&taken_seq[p][seq])) atomic_fetch_add(&report->lost, 1);
        }
    }
    check_counts(true);
    bool clean = atomic_load(&report->panics) == 0 && atomic_load(&report->corrupt) == 0 &&
                 atomic_load(&report->duplicates) == 0 && atomic_load(&report->disorder) == 0 &&
                 atomic_load(&report->lost) == 0 && atomic_load(&report->bad_counts) == 0 &&
                 !atomic_load(&report->failed);
    return clean ? 0 : 1;
}

/* ---- the filter ---- */

#ifdef SECCOMP_TESTS
/* From here on, membarrier(2) of this architecture ends in `action` (a
 * SECCOMP_RET_* value) for this thread and the threads it starts; every
 * other system call goes through. */
static bool install_membarrier_filter(uint32_t action)
{
    struct sock_filter program[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        /* a call through another ABI has other numbers: 1 -> 5 */
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 0, 3),
        /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
        /* 4 */ BPF_STMT(BPF_RET | BPF_K, action),
        /* 5 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog filter = { (unsigned short)COUNT_OF(program), program };
    uint32_t kind = action & SECCOMP_RET_ACTION_FULL;
    if (syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &kind) != 0) return false; /* kernel too old */
    /* without privileges, a filter may only be had with no_new_privs */
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter) == 0;
}

/* The child: the locks taken in a row, then the filter, then the traffic.
 * The filter goes in while this is the child's only thread, so that every
 * thread of the traffic starts with it. */
static int child(uint32_t action)
{
    if (!make_routes() || !take_every_lock_in_a_row()) {
        note_failure("setting up: %s", mtmsg_last_error());
        return 1;
    }
    if (!install_membarrier_filter(action)) {
        note_failure("%s", strerror(errno));
        return EXIT_NO_SECCOMP;
    }
    return run_traffic();
}

/* Runs child(action) in a child process and reports what became of it. */
static void run_child(uint32_t action)
{
    report = mmap(NULL, sizeof *report, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(report != MAP_FAILED);
    memset(report, 0, sizeof *report);
    bool quick = getenv("MTMSG_TEST_QUICK") != NULL;
    steady_messages = quick ? 5000 : 200000;
    occasional_messages = quick ? 200 : 2000;
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(child(action));

    /* within check.h's watchdog, which would end this process */
    unsigned watchdog = check_watchdog_seconds();
    double limit = watchdog > 0 ? watchdog * 0.75 : 300.0, start = now();
    int status = 0;
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 && now() - start < limit) pause_micros(10000);
    char outcome[sizeof report->failure + 50];
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(outcome, sizeof outcome, "hangs: no end after %.0f s", limit);
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
        snprintf(outcome, sizeof outcome, "killed by SIGSYS: the library called membarrier(2)");
    } else if (WIFSIGNALED(status)) {
        snprintf(outcome, sizeof outcome, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (WEXITSTATUS(status) == EXIT_NO_SECCOMP) {
        char reason[sizeof report->failure + 50];
        snprintf(reason, sizeof reason, "no seccomp filter here (%s)", report->failure);
        check_skip(reason);
        munmap(report, sizeof *report);
        return;
    } else if (WEXITSTATUS(status) != 0) {
        snprintf(outcome, sizeof outcome, "%s", report->failed ? report->failure : "faults counted");
    } else {
        outcome[0] = '\0';
    }
    char counts[400];
    snprintf(counts, sizeof counts,
             "%lld sent, %lld taken, %lld panics, %lld corrupt, %lld duplicates, %lld out of order, %lld lost, "
             "%lld msgcnt out of bounds",
             (long long)report->sent, (long long)report->taken, (long long)report->panics,
             (long long)report->corrupt, (long long)report->duplicates, (long long)report->disorder,
             (long long)report->lost, (long long)report->bad_counts);
    printf("  # %s: %s; %.2f s\n", check_current, counts, now() - start);
    munmap(report, sizeof *report);
    if (outcome[0] != '\0') {
        char what[sizeof outcome + sizeof counts + 10];
        snprintf(what, sizeof what, "%s (%s)", outcome, counts);
        check_set_message(__FILE__, __LINE__, what);
    }
}
#endif

/* ---- the tests ---- */

static void messages_stay_intact_when_membarrier_fails(void)
{
#ifdef SECCOMP_TESTS
    run_child(SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
#else
    check_skip("seccomp filters are tested on Linux on x86_64 and aarch64 only");
#endif
}

static void the_library_never_calls_membarrier(void)
{
#if defined(SECCOMP_TESTS) && defined(SECCOMP_RET_KILL_PROCESS)
    run_child(SECCOMP_RET_KILL_PROCESS);
#else
    check_skip("no SECCOMP_RET_KILL_PROCESS here");
#endif
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(messages_stay_intact_when_membarrier_fails);
    RUN(the_library_never_calls_membarrier);
    return check_summary();
}
