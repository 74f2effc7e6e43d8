/* Running a function in a forked child with a wall-clock limit and memory shared with the parent. */
#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "basics.h"
#include "error.h"
#include "measure.h"

void *c1_shared_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void c1_shared_free(void *p, size_t bytes)
{
    if (p) munmap(p, bytes ? bytes : 1);
}


typedef struct fixed_deadline {
    double at;
} fixed_deadline;

static double fixed_deadline_of(void *arg) { return ((const fixed_deadline *)arg)->at; }

conv1d_status c1_sandbox_run(c1_child_fn fn, void *arg, void *shared, double timeout_s, c1_outcome *outcome,
                             char *detail, size_t detail_size)
{
    fixed_deadline at = {c1_now_s() + timeout_s};
    return c1_sandbox_run_watched(fn, arg, shared, fixed_deadline_of, &at, timeout_s, outcome, detail, detail_size);
}

conv1d_status c1_sandbox_run_watched(c1_child_fn fn, void *arg, void *shared, c1_deadline_fn deadline,
                                     void *deadline_arg, double timeout_s, c1_outcome *outcome, char *detail,
                                     size_t detail_size)
{
    detail[0] = '\0';
    fflush(NULL); /* nothing buffered may be written twice */
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return c1_fail(CONV1D_INTERNAL, "Could not fork a measurement child: %s.", strerror(errno));
    if (pid == 0) {
        /* The child: die with the parent, report through `shared` and the exit status only. A killed tool
         * must not leave children behind holding a GPU (or cores): the kernel sends SIGKILL when the thread
         * that forked exits; the getppid test closes the window where the parent died before the prctl. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(4);
        /* Default dispositions: a crash must kill the child visibly, whatever handlers the parent set. */
        const int sigs[] = {SIGINT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
        _exit(fn(arg, shared) == 0 ? 0 : 3);
    }
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return c1_fail(CONV1D_INTERNAL, "waitpid failed: %s.", strerror(errno));
        const double now = c1_now_s(), until = deadline(deadline_arg);
        if (now > until) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            *outcome = C1_OUTCOME_TIMEOUT;
            snprintf(detail, detail_size, "was killed after the %.1f s wall-clock limit", timeout_s);
            return CONV1D_OK;
        }
        /* Poll quickly at first (most children are short), then every 5 ms. */
        struct timespec nap = {0, now + timeout_s - until < 0.05 ? 200000 : 5000000};
        nanosleep(&nap, NULL);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        *outcome = C1_OUTCOME_OK;
    } else if (WIFSIGNALED(status)) {
        *outcome = C1_OUTCOME_CRASHED;
        snprintf(detail, detail_size, "was killed by signal %d (%s)%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
                 WTERMSIG(status) == SIGKILL ? ", possibly by the out-of-memory killer" : "");
    } else {
        *outcome = C1_OUTCOME_CRASHED;
        snprintf(detail, detail_size, "exited with status %d", WEXITSTATUS(status));
    }
    (void)shared;
    return CONV1D_OK;
}
