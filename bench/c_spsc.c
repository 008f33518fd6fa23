/*
 * The spsc case through the C API alone, against a textbook C queue (one
 * mutex, one condition variable, one malloc per message) in the same
 * program. Both move the integers 1..N, one per message, from a producer
 * thread to a consumer thread that checks each one. Prints messages/s:
 *
 *   RESULT c-spsc <mtmsg msgs/s> <textbook msgs/s>
 *
 * Usage: c_spsc [messages [repeats]]; with repeats the two alternate and
 * the best run of each counts (this machine is shared and noisy).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtmsg.h"

static int64_t messages;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char *what, int64_t i)
{
    fprintf(stderr, "c_spsc: %s at message %lld\n", what, (long long)i);
    exit(1);
}

static void check_mtmsg(mtmsg_status status, const char *what, int64_t i)
{
    if (status != MTMSG_OK) {
        fprintf(stderr, "c_spsc: %s at message %lld: %s (%s)\n", what, (long long)i, mtmsg_status_name(status),
                mtmsg_last_error());
        exit(1);
    }
}

/* ---- the textbook queue ---- */

typedef struct node {
    int64_t value;
    struct node *next;
} node;

typedef struct textbook_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    node *head, *tail;
} textbook_queue;

static textbook_queue textbook = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL};

static void textbook_push(textbook_queue *q, int64_t value)
{
    node *n = (node *)malloc(sizeof(node));
    if (n == NULL) {
        fail("out of memory", value);
    }
    n->value = value;
    n->next = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->tail != NULL) {
        q->tail->next = n;
    } else {
        q->head = n;
    }
    q->tail = n;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

static int64_t textbook_pop(textbook_queue *q)
{
    node *n;
    int64_t value;
    pthread_mutex_lock(&q->lock);
    while (q->head == NULL) {
        pthread_cond_wait(&q->nonempty, &q->lock);
    }
    n = q->head;
    q->head = n->next;
    if (q->head == NULL) {
        q->tail = NULL;
    }
    pthread_mutex_unlock(&q->lock);
    value = n->value;
    free(n);
    return value;
}

static void *textbook_producer(void *arg)
{
    int64_t i;
    (void)arg;
    for (i = 1; i <= messages; i++) {
        textbook_push(&textbook, i);
    }
    return NULL;
}

static void *textbook_consumer(void *arg)
{
    int64_t i;
    (void)arg;
    for (i = 1; i <= messages; i++) {
        if (textbook_pop(&textbook) != i) {
            fail("textbook queue: wrong value", i);
        }
    }
    return NULL;
}

/* ---- mtmsg through the C API ---- */

static void *mtmsg_producer(void *arg)
{
    mtmsg_buffer *buffer = (mtmsg_buffer *)arg;
    int64_t i;
    for (i = 1; i <= messages; i++) {
        mtmsg_value value;
        value.type = MTMSG_INTEGER;
        value.as.integer = i;
        check_mtmsg(mtmsg_buffer_addmsg(buffer, &value, 1), "mtmsg_buffer_addmsg", i);
    }
    return NULL;
}

static void *mtmsg_consumer(void *arg)
{
    mtmsg_buffer *buffer = (mtmsg_buffer *)arg;
    mtmsg_reader *reader;
    int64_t i;
    check_mtmsg(mtmsg_reader_new(MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW, &reader), "mtmsg_reader_new", 0);
    for (i = 1; i <= messages; i++) {
        mtmsg_value value;
        size_t got = 0;
        check_mtmsg(mtmsg_buffer_nextmsg(buffer, reader, MTMSG_FOREVER), "mtmsg_buffer_nextmsg", i);
        check_mtmsg(mtmsg_reader_next(reader, &value, 1, &got), "mtmsg_reader_next", i);
        if (got != 1 || value.type != MTMSG_INTEGER || value.as.integer != i) {
            fail("mtmsg: wrong value", i);
        }
    }
    mtmsg_reader_release(reader);
    return NULL;
}

/* Starts producer and consumer, joins them, returns messages per second. */
static double run(void *(*producer)(void *), void *producer_arg, void *(*consumer)(void *), void *consumer_arg)
{
    pthread_t p, c;
    double start = now();
    if (pthread_create(&c, NULL, consumer, consumer_arg) != 0 || pthread_create(&p, NULL, producer, producer_arg) != 0) {
        fail("cannot start threads", 0);
    }
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    return (double)messages / (now() - start);
}

static void print_samples(const char *series, const double *rates, int count)
{
    int r;
    printf("SAMPLES %s", series);
    for (r = 0; r < count; r++) {
        printf(" %.0f", rates[r]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    mtmsg_buffer *in, *out;
    size_t left = 1;
    double *textbook_rates, *mtmsg_rates;
    const char *floor_setting = getenv("BENCH_FLOOR");
    int with_textbook = floor_setting == NULL || strcmp(floor_setting, "0") != 0;
    int repeats, r;
    messages = argc > 1 ? atoll(argv[1]) : 5000000;
    repeats = argc > 2 ? atoi(argv[2]) : 1;
    if (messages <= 0 || repeats <= 0) {
        fprintf(stderr, "usage: c_spsc [messages [repeats]]\n");
        return 2;
    }
    textbook_rates = (double *)calloc((size_t)repeats, sizeof(double));
    mtmsg_rates = (double *)calloc((size_t)repeats, sizeof(double));
    if (textbook_rates == NULL || mtmsg_rates == NULL) {
        fail("out of memory", 0);
    }
    check_mtmsg(mtmsg_buffer_new(NULL, 0, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2, MTMSG_DEFAULT_GROW, &in),
                "mtmsg_buffer_new", 0);
    check_mtmsg(mtmsg_buffer_clone(in, &out), "mtmsg_buffer_clone", 0);

    for (r = 0; r < repeats; r++) {
        if (with_textbook) {
            textbook_rates[r] = run(textbook_producer, NULL, textbook_consumer, NULL);
            if (textbook.head != NULL) {
                fail("textbook queue not empty at the end", messages);
            }
        }
        mtmsg_rates[r] = run(mtmsg_producer, in, mtmsg_consumer, out);
        check_mtmsg(mtmsg_buffer_msgcnt(out, &left), "mtmsg_buffer_msgcnt", messages);
        if (left != 0) {
            fail("mtmsg buffer not empty at the end", messages);
        }
    }
    mtmsg_buffer_release(in);
    mtmsg_buffer_release(out);
    print_samples("c-spsc", mtmsg_rates, repeats);
    if (with_textbook) {
        print_samples("c-spsc.textbook", textbook_rates, repeats);
    }
    free(textbook_rates);
    free(mtmsg_rates);
    return 0;
}
