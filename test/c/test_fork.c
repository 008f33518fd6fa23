/* A child process made by fork() while other threads use mtmsg: whatever
 * lock another thread held at that moment stays held in the child for
 * ever, so every mtmsg call there fails at once with
 * MTMSG_OPERATION_ABORTED instead of taking a lock (and releasing a handle
 * does nothing). The parent goes on as before. Without that, a child that
 * touched a buffer hung in about half the forks.
 */
#define _POSIX_C_SOURCE 200809L

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* Forks per run; MTMSG_TEST_QUICK=1 (valgrind, where each child starts
 * slowly beside the hammering threads): a tenth. */
static int forks(void)
{
    return getenv("MTMSG_TEST_QUICK") ? 4 : 40;
}

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

/* In the child: every call refused at once, nothing hangs. 0 when all
 * went as expected, else the number of the step that did not. */
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

/* The child's verdict goes through a pipe, after which it kills itself:
 * an exit would run the exit-time checks of a tool the test runs under
 * (valgrind's leak check), which in a child of a multithreaded process see
 * the memory of the parent's other threads as lost. */
static void report_and_die(int to_parent, int verdict)
{
    unsigned char byte = (unsigned char)verdict;
    if (write(to_parent, &byte, 1) != 1) _exit(90);
    raise(SIGKILL);
    _exit(91);
}

/* Waits up to 10 seconds for the child's verdict: the step that failed
 * (0: none), or -1 for a hang. The child is reaped either way. */
static int wait_for(pid_t child, int from_child)
{
    struct pollfd pfd = { .fd = from_child, .events = POLLIN };
    unsigned char byte = 0;
    int verdict = -1;
    if (poll(&pfd, 1, 10 * 1000) == 1 && read(from_child, &byte, 1) == 1) verdict = byte;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(from_child);
    return verdict;
}

static void a_forked_child_is_refused_at_once_and_never_hangs(void)
{
    CHECK_OK(mtmsg_buffer_new(NULL, 0, 128, 1024, 2, &shared));
    atomic_store(&stop, false);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&threads[i], NULL, hammer, NULL) == 0);
    int hangs = 0, wrong = 0, last_wrong = 0;
    for (int i = 0; i < forks(); i++) {
        int pipe_fds[2];
        CHECK(pipe(pipe_fds) == 0);
        pid_t child = fork();
        if (child == 0) report_and_die(pipe_fds[1], use_mtmsg_in_child());
        close(pipe_fds[1]);
        int result = wait_for(child, pipe_fds[0]);
        if (result < 0) hangs++;
        else if (result != 0) wrong++, last_wrong = result;
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
    if (hangs || wrong) printf("  # %d of %d children hung, %d failed (last step %d)\n", hangs, forks(), wrong, last_wrong);
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
