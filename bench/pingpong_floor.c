/*
 * The pingpong floor: two threads pass a counter back and forth through one
 * atomic variable, spinning. Prints the round-trip time in nanoseconds of
 * each run (bench/run.sh takes the median and the spread):
 *
 *   SAMPLES pingpong.floor <ns per round trip>...
 *
 * Usage: pingpong_floor [round trips [repeats]]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Odd values go from A to B, even values back: A writes 2i-1, B answers 2i. */
static _Alignas(64) atomic_int_fast64_t ball;
static int64_t trips;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *player_b(void *arg)
{
    int64_t i;
    (void)arg;
    for (i = 1; i <= trips; i++) {
        int64_t seen;
        while ((seen = atomic_load_explicit(&ball, memory_order_acquire)) == 2 * i - 2) {
            cpu_relax();
        }
        if (seen != 2 * i - 1) {
            fprintf(stderr, "pingpong_floor: B expected %lld, got %lld\n", (long long)(2 * i - 1), (long long)seen);
            exit(1);
        }
        atomic_store_explicit(&ball, 2 * i, memory_order_release);
    }
    return NULL;
}

static void *player_a(void *arg)
{
    int64_t i;
    (void)arg;
    for (i = 1; i <= trips; i++) {
        int64_t seen;
        atomic_store_explicit(&ball, 2 * i - 1, memory_order_release);
        while ((seen = atomic_load_explicit(&ball, memory_order_acquire)) == 2 * i - 1) {
            cpu_relax();
        }
        if (seen != 2 * i) {
            fprintf(stderr, "pingpong_floor: A expected %lld, got %lld\n", (long long)(2 * i), (long long)seen);
            exit(1);
        }
    }
    return NULL;
}

/* One run of all the round trips; returns the seconds it took. */
static double play(void)
{
    pthread_t a, b;
    double start, elapsed;
    atomic_store(&ball, 0);
    start = now();
    if (pthread_create(&b, NULL, player_b, NULL) != 0 || pthread_create(&a, NULL, player_a, NULL) != 0) {
        fprintf(stderr, "pingpong_floor: cannot start threads\n");
        exit(1);
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    elapsed = now() - start;
    if (atomic_load(&ball) != 2 * trips) {
        fprintf(stderr, "pingpong_floor: ended at %lld, not %lld\n", (long long)atomic_load(&ball), (long long)(2 * trips));
        exit(1);
    }
    return elapsed;
}

int main(int argc, char **argv)
{
    int repeats, r;
    trips = argc > 1 ? atoll(argv[1]) : 5000000;
    repeats = argc > 2 ? atoi(argv[2]) : 1;
    if (trips <= 0 || repeats <= 0) {
        fprintf(stderr, "usage: pingpong_floor [round trips [repeats]]\n");
        return 2;
    }
    printf("SAMPLES pingpong.floor");
    for (r = 0; r < repeats; r++) {
        printf(" %.1f", play() * 1e9 / (double)trips);
    }
    printf("\n");
    return 0;
}
