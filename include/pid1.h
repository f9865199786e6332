/* pid1: the duties of an init, in one place. Records how tend was started (signal
 * mask, ignored signals, descriptor limit) so children can be given the same,
 * makes tend a child subreaper when it is not PID 1, and signals leftovers. */
#ifndef TEND_PID1_H
#define TEND_PID1_H

#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>

struct pid1_origin {
    sigset_t mask;    /* the signal mask tend was started with */
    sigset_t ignored; /* the signals that were ignored when tend started */
    struct rlimit nofile;
};

/* Call first thing in main(): records the origin, ignores SIGPIPE, raises tend's
 * own descriptor limit, and becomes a subreaper unless PID 1. */
void pid1_setup(void);
/* Has the kernel send sig to tend when its parent dies (PR_SET_PDEATHSIG, tini's -p).
 * Returns 0 or -errno. */
int pid1_watch_parent(int sig);
bool pid1_is_init(void);
const struct pid1_origin *pid1_origin(void);
/* Sends sig to every process left below tend (as PID 1: every process in the
 * namespace). Returns how many were signalled. */
int pid1_signal_all(int sig);
/* The parent of pid (from /proc), or -1 when it is gone. */
pid_t pid1_parent_of(pid_t pid);

#endif
