/*
 * Many more threads than cores, through the C API: what waiting costs when
 * most of the threads a message could wake are not running.
 *
 *   c_oversub fanout listener|standalone CONSUMERS PER SERIES
 *       CONSUMERS threads, each waiting in mtmsg_buffer_nextmsg on a buffer
 *       of its own: the buffers of one listener, or standalone buffers. The
 *       main thread sends PER messages to each, one to each in turn.
 *   c_oversub pingpong PAIRS ROUNDS SERIES
 *       PAIRS pairs of threads, each pair passing a message back and forth
 *       through two buffers of its own, ROUNDS round trips.
 *
 * Every wait is a blocking one (MTMSG_FOREVER). Every message is (thread,
 * sequence number), checked on arrival: a wrong one ends the program with
 * status 1. Prints the messages per second of the run and the CPU time the
 * whole process used (getrusage: user and system) per message, which
 * shows threads that spin or wake for nothing:
 *
 *   SAMPLES SERIES <messages/s>
 *   SAMPLES SERIES.cpu <microseconds of CPU per message>
 *
 * One run per process: bench/run.sh repeats it, alternating with the run it
 * is compared with (e.g. the same pairs with MTMSG_SPIN_US=0).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mtmsg.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec * 1e-6 + (double)usage.ru_stime.tv_sec +
           (double)usage.ru_stime.tv_usec * 1e-6;
}

static void check(mtmsg_status status, const char *what)
{
    if (status != MTMSG_OK) {
        fprintf(stderr, "c_oversub: %s: %s (%s)\n", what, mtmsg_status_name(status), mtmsg_last_error());
        exit(1);
    }
}

static void send_message(mtmsg_buffer *buffer, int64_t thread, int64_t sequence)
{
    mtmsg_value values[2];
    values[0].type = MTMSG_INTEGER;
    values[0].as.integer = thread;
    values[1].type = MTMSG_INTEGER;
    values[1].as.integer = sequence;
    check(mtmsg_buffer_addmsg(buffer, values, 2), "mtmsg_buffer_addmsg");
}

/* Waits for the next message of `buffer` and checks that it is (thread, sequence). */
static void receive_message(mtmsg_buffer *buffer, mtmsg_reader *reader, int64_t thread, int64_t sequence)
{
    mtmsg_value values[3];
    size_t got = 0;
    check(mtmsg_buffer_nextmsg(buffer, reader, MTMSG_FOREVER), "mtmsg_buffer_nextmsg");
    check(mtmsg_reader_next(reader, values, 3, &got), "mtmsg_reader_next");
    if (got != 2 || values[0].type != MTMSG_INTEGER || values[1].type != MTMSG_INTEGER ||
        values[0].as.integer != thread || values[1].as.integer != sequence) {
        if (got == 2 && values[0].type == MTMSG_INTEGER && values[1].type == MTMSG_INTEGER) {
            fprintf(stderr, "c_oversub: thread %lld expected message %lld, got (%lld, %lld)\n", (long long)thread,
                    (long long)sequence, (long long)values[0].as.integer, (long long)values[1].as.integer);
        } else {
            fprintf(stderr, "c_oversub: thread %lld expected message %lld, got one of %zu values\n",
                    (long long)thread, (long long)sequence, got);
        }
        exit(1);
    }
}

static mtmsg_reader *new_reader(void)
{
    mtmsg_reader *reader;
    check(mtmsg_reader_new(MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_GROW, &reader), "mtmsg_reader_new");
    return reader;
}

static mtmsg_buffer *new_buffer(mtmsg_listener *listener)
{
    mtmsg_buffer *buffer;
    if (listener != NULL) {
        check(mtmsg_listener_newbuffer(listener, NULL, 0, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2,
                                       MTMSG_DEFAULT_GROW, &buffer),
              "mtmsg_listener_newbuffer");
    } else {
        check(mtmsg_buffer_new(NULL, 0, MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2, MTMSG_DEFAULT_GROW, &buffer),
              "mtmsg_buffer_new");
    }
    return buffer;
}

static void start(pthread_t *thread, void *(*body)(void *), void *arg)
{
    if (pthread_create(thread, NULL, body, arg) != 0) {
        fprintf(stderr, "c_oversub: cannot start a thread\n");
        exit(1);
    }
}

/* ---- fanout ---- */

typedef struct consumer {
    mtmsg_buffer *buffer;
    int64_t number, messages;
    pthread_t thread;
} consumer;

static void *consume(void *arg)
{
    consumer *self = (consumer *)arg;
    mtmsg_reader *reader = new_reader();
    int64_t i;
    for (i = 0; i < self->messages; i++) {
        receive_message(self->buffer, reader, self->number, i);
    }
    mtmsg_reader_release(reader);
    return NULL;
}

/* Returns the number of messages sent. */
static int64_t fanout(int through_listener, int64_t consumers, int64_t per_consumer)
{
    mtmsg_listener *listener = NULL;
    consumer *all = (consumer *)calloc((size_t)consumers, sizeof(consumer));
    int64_t c, i;
    if (all == NULL) {
        fprintf(stderr, "c_oversub: out of memory\n");
        exit(1);
    }
    if (through_listener) {
        check(mtmsg_listener_new(NULL, 0, &listener), "mtmsg_listener_new");
    }
    for (c = 0; c < consumers; c++) {
        all[c].buffer = new_buffer(listener);
        all[c].number = c;
        all[c].messages = per_consumer;
        start(&all[c].thread, consume, &all[c]);
    }
    for (i = 0; i < per_consumer; i++) {
        for (c = 0; c < consumers; c++) {
            send_message(all[c].buffer, c, i);
        }
    }
    for (c = 0; c < consumers; c++) {
        pthread_join(all[c].thread, NULL);
        mtmsg_buffer_release(all[c].buffer);
    }
    mtmsg_listener_release(listener);
    free(all);
    return consumers * per_consumer;
}

/* ---- pingpong ---- */

typedef struct player {
    mtmsg_buffer *in, *out;
    int64_t pair, rounds;
    int serves; /* sends first; the other answers */
    pthread_t thread;
} player;

/* The server sends 2i - 1 and waits for 2i; the other waits for 2i - 1 and answers 2i. */
static void *play(void *arg)
{
    player *self = (player *)arg;
    mtmsg_reader *reader = new_reader();
    int64_t i;
    for (i = 1; i <= self->rounds; i++) {
        if (self->serves) {
            send_message(self->out, self->pair, 2 * i - 1);
            receive_message(self->in, reader, self->pair, 2 * i);
        } else {
            receive_message(self->in, reader, self->pair, 2 * i - 1);
            send_message(self->out, self->pair, 2 * i);
        }
    }
    mtmsg_reader_release(reader);
    return NULL;
}

/* Returns the number of messages passed. */
static int64_t pingpong(int64_t pairs, int64_t rounds)
{
    player *players = (player *)calloc((size_t)(2 * pairs), sizeof(player));
    int64_t p;
    if (players == NULL) {
        fprintf(stderr, "c_oversub: out of memory\n");
        exit(1);
    }
    for (p = 0; p < pairs; p++) {
        player *server = &players[2 * p], *answerer = &players[2 * p + 1];
        server->out = answerer->in = new_buffer(NULL);
        server->in = answerer->out = new_buffer(NULL);
        server->pair = answerer->pair = p;
        server->rounds = answerer->rounds = rounds;
        server->serves = 1;
        answerer->serves = 0;
    }
    for (p = 0; p < 2 * pairs; p++) {
        start(&players[p].thread, play, &players[p]);
    }
    for (p = 0; p < 2 * pairs; p++) {
        pthread_join(players[p].thread, NULL);
    }
    for (p = 0; p < pairs; p++) {
        mtmsg_buffer_release(players[2 * p].in);
        mtmsg_buffer_release(players[2 * p].out);
    }
    free(players);
    return 2 * pairs * rounds;
}

static int usage(void)
{
    fprintf(stderr, "usage: c_oversub fanout listener|standalone CONSUMERS PER SERIES\n"
                    "       c_oversub pingpong PAIRS ROUNDS SERIES\n");
    return 2;
}

int main(int argc, char **argv)
{
    double wall, cpu;
    int64_t messages, threads, count;
    const char *series;
    if (argc == 6 && strcmp(argv[1], "fanout") == 0) {
        int through_listener = strcmp(argv[2], "listener") == 0;
        if (!through_listener && strcmp(argv[2], "standalone") != 0) {
            return usage();
        }
        threads = atoll(argv[3]);
        count = atoll(argv[4]);
        series = argv[5];
        if (threads <= 0 || count <= 0) {
            return usage();
        }
        wall = now();
        cpu = cpu_seconds();
        messages = fanout(through_listener, threads, count);
    } else if (argc == 5 && strcmp(argv[1], "pingpong") == 0) {
        threads = atoll(argv[2]);
        count = atoll(argv[3]);
        series = argv[4];
        if (threads <= 0 || count <= 0) {
            return usage();
        }
        wall = now();
        cpu = cpu_seconds();
        messages = pingpong(threads, count);
    } else {
        return usage();
    }
    wall = now() - wall;
    cpu = cpu_seconds() - cpu;
    printf("SAMPLES %s %.0f\n", series, (double)messages / wall);
    printf("SAMPLES %s.cpu %.3f\n", series, cpu / (double)messages * 1e6);
    return 0;
}
