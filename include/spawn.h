/* spawn: fork and exec one child the way an init should: its own process group,
 * default signal dispositions, a chosen signal mask, only descriptors 0-2,
 * then umask, user and (as the user) directory applied. Exec errors come back through a
 * CLOEXEC pipe with the step that failed. tend's own fork/exec, not uv_spawn:
 * libuv reaps its children itself, which would race the one reaper. */
#ifndef TEND_SPAWN_H
#define TEND_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct spawn_opts {
    char *const *argv;
    char *const *envp;     /* the whole environment */
    const char *directory; /* NULL: tend's */
    int umask;             /* -1: tend's */
    const char *user;      /* NULL: tend's user */
    uid_t uid;
    gid_t gid;
    int fds[3];              /* become 0, 1, 2; -1 means /dev/null */
    const sigset_t *mask;    /* NULL: empty */
    const sigset_t *ignored; /* signals to leave ignored; NULL: none */
    bool foreground;         /* take the terminal's foreground (init mode) */
    bool inherit_fds;        /* pass on what tend inherited above 2 (init mode) */
    long nofile;             /* RLIMIT_NOFILE soft limit for the child; 0: leave */
};

/* Forks the child, which sets itself up and execs, and returns at once: 0 with
 * *pid and *status_fd, a non-blocking descriptor that becomes readable when the
 * child exec'd or failed a step (a loop event: a child stuck before its exec, in a
 * hung chdir or a slow user lookup, holds nobody up). -errno (pipe, fork) with a
 * message in err. */
int spawn_start(const struct spawn_opts *o, pid_t *pid, int *status_fd, char *err,
                size_t errlen);
/* What status_fd says: -EAGAIN not yet; else it is closed and the result is 0, the
 * child exec'd, or -errno with the failing step in err, such as "exec 'node': No
 * such file or directory" (o: the same options, for the names in the message).
 * After a failure the child exits by itself with 126/127, reaped like any other. */
int spawn_result(int status_fd, const struct spawn_opts *o, char *err, size_t errlen);
/* spawn_start, then waits for the result: for one-off children (init mode, tend
 * check), never in the supervisor's loop. */
int spawn_process(const struct spawn_opts *o, pid_t *pid, char *err, size_t errlen);

#endif
