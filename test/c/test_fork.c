/* A child process made by fork() while other threads use mtmsg: whatever
 * lock another thread held at that moment stays held in the child for
 * ever, so every mtmsg call there fails at once with
 * MTMSG_OPERATION_ABORTED instead of taking a lock (and releasing a handle
 * does nothing). The parent goes on as before. Without that, a child that
 * touched a buffer hung in about half the forks.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"

#define FORKS 40

static mtmsg_buffer *shared;
static atomic_bool stop;

/* Adds and takes as fast as it can: at any fork, likely inside a lock. */
static void *hammer(void *arg)
{
    (void)arg;
    mtmsg_reader *r = NULL;
    mtmsg_value v = mv_int(7);
    if (mtmsg_reader_new(64, 2, &r) != MTMSG_OK) return NULL;
    while (!atomic_load(&stop)) {
        mtmsg_buffer_addmsg(shared, &v, 1);
        mtmsg_buffer_nextmsg(shared, r, 0);
    }
    mtmsg_reader_release(r);
    return NULL;
}

/* In the child: every call refused at once, nothing hangs. Exit status 0
 * when all went as expected, else the number of the step that did not. */
static int use_mtmsg_in_child(void)
{
    mtmsg_value v = mv_int(1);
    mtmsg_buffer *b = NULL;
    mtmsg_reader *r = NULL;
    size_t count = 0;
    if (mtmsg_buffer_addmsg(shared, &v, 1) != MTMSG_OPERATION_ABORTED) return 1;
    if (mtmsg_buffer_msgcnt(shared, &count) != MTMSG_OPERATION_ABORTED) return 2;
    if (mtmsg_buffer_new(NULL, 0, 128, 1024, 2, &b) != MTMSG_OPERATION_ABORTED) return 3;
    if (mtmsg_buffer_find_id(1, &b) != MTMSG_OPERATION_ABORTED) return 4;
    if (mtmsg_reader_new(64, 2, &r) != MTMSG_OPERATION_ABORTED) return 5;
    if (strstr(mtmsg_last_error(), "child process after fork") == NULL) return 6;
    mtmsg_buffer_release(shared); /* does nothing, never hangs */
    return 0;
}

/* Waits up to 10 seconds for the child: its exit status, or -1 for a hang. */
static int wait_for(pid_t child)
{
    for (int i = 0; i < 1000; i++) {
        int status = 0;
        pid_t done = waitpid(child, &status, WNOHANG);
        if (done == child) return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return -1;
}

static void a_forked_child_is_refused_at_once_and_never_hangs(void)
{
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2, &shared));
    atomic_store(&stop, false);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&threads[i], NULL, hammer, NULL) == 0);
    int hangs = 0, wrong = 0, last_wrong = 0;
    for (int i = 0; i < FORKS; i++) {
        pid_t child = fork();
        if (child == 0) _exit(use_mtmsg_in_child());
        int result = wait_for(child);
        if (result < 0) hangs++;
        else if (result != 0) wrong++, last_wrong = result;
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    if (hangs || wrong) printf("  # %d of %d children hung, %d failed (last step %d)\n", hangs, FORKS, wrong, last_wrong);
    CHECK(hangs == 0);
    CHECK(wrong == 0);
    /* The parent is unaffected. */
    size_t count = 0;
    CHECK_OK(mtmsg_buffer_msgcnt(shared, &count));
    mtmsg_value v = mv_int(2);
    CHECK_OK(mtmsg_buffer_addmsg(shared, &v, 1));
    mtmsg_buffer_release(shared);
}

int main(int argc, char **argv)
{
    RUN(a_forked_child_is_refused_at_once_and_never_hangs);
    return check_summary();
}
