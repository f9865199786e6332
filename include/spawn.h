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

/* Returns 0 and *pid once the child has exec'd, or -errno and a message such as
 * "exec 'node': No such file or directory" in err. After a failure the child
 * exits by itself with 126/127; the reaper collects it like any other. */
int spawn_process(const struct spawn_opts *o, pid_t *pid, char *err, size_t errlen);

#endif
