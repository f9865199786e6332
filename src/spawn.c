/* spawn: fork, set the child up step by step, exec; report a failing step. */
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

enum step { STEP_FDS, STEP_DIR, STEP_GROUPS, STEP_GID, STEP_UID, STEP_EXEC };

struct failure {
    int step, err;
};

/* In the child: tell the parent which step failed, then leave. Only
 * async-signal-safe calls from here on. */
_Noreturn static void fail(int fd, int step, int err)
{
    struct failure f = {step, err};
    ssize_t w = write(fd, &f, sizeof(f));
    (void)w;
    _exit(step == STEP_EXEC && err == ENOENT ? 127 : 126);
}

/* glibc refuses sigaction() on the signals it keeps for its threads (32 and 33), yet
 * an ignored one stays ignored across exec like any other (GNU make leaves both
 * ignored in its recipes): the kernel is asked directly. A zeroed kernel sigaction
 * is SIG_DFL, no flags, an empty mask, whatever the architecture's layout. */
static void default_reserved(int sig)
{
    unsigned long ksa[8] = {0};
    syscall(SYS_rt_sigaction, sig, ksa, NULL, (size_t)(NSIG - 1) / 8);
}

/* A supervised child gets every signal at its default; in init mode (o->ignored) the
 * child keeps what tend was started with, glibc's reserved signals included. */
static void reset_signals(const struct spawn_opts *o)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL}, ign = {.sa_handler = SIG_IGN};
    for (int sig = 1; sig < NSIG; sig++) {
        bool keep = o->ignored && sigismember(o->ignored, sig) == 1;
        if (sigaction(sig, keep ? &ign : &dfl, NULL) < 0 && !o->ignored)
            default_reserved(sig);
    }
}

/* Marks every descriptor above 2 close-on-exec; /proc when the kernel is older than 5.11. */
static void cloexec_above_2(void)
{
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));) {
        int fd = atoi(e->d_name);
        if (fd > 2 && fd != dirfd(d))
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (d)
        closedir(d);
}

/* Moves the caller's descriptors to 0-2 and marks everything above CLOEXEC (the
 * error pipe must live until exec, so nothing is closed outright), unless the
 * child is to inherit them (init mode: socket activation's LISTEN_FDS, as tini).
 * tend's own descriptors are CLOEXEC from their start either way. */
static int setup_fds(const struct spawn_opts *o)
{
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = o->fds[i] >= 0 ? fcntl(o->fds[i], F_DUPFD_CLOEXEC, 3)
                                : open("/dev/null", i ? O_WRONLY | O_CLOEXEC : O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0)
            return -1;
    }
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0)
            return -1;
    if (!o->inherit_fds)
        cloexec_above_2();
    return 0;
}

_Noreturn static void child(const struct spawn_opts *o, int errfd)
{
    reset_signals(o);
    setpgid(0, 0);
    if (o->foreground && isatty(STDIN_FILENO)) {
        signal(SIGTTOU, SIG_IGN); /* tcsetpgrp from a background group */
        tcsetpgrp(STDIN_FILENO, getpgrp());
        signal(SIGTTOU, o->ignored && sigismember(o->ignored, SIGTTOU) ? SIG_IGN : SIG_DFL);
    }
    if (setup_fds(o) < 0)
        fail(errfd, STEP_FDS, errno);
    if (o->nofile > 0) {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = (rlim_t)o->nofile < rl.rlim_max ? (rlim_t)o->nofile : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (o->umask >= 0)
        umask((mode_t)o->umask);
    if (o->user && o->uid != geteuid()) {
        if (initgroups(o->user, o->gid) < 0)
            fail(errfd, STEP_GROUPS, errno);
        if (setgid(o->gid) < 0)
            fail(errfd, STEP_GID, errno);
        if (setuid(o->uid) < 0)
            fail(errfd, STEP_UID, errno);
    }
    /* as the user, as supervisord does: root's right to enter it is not the program's */
    if (o->directory && chdir(o->directory) < 0)
        fail(errfd, STEP_DIR, errno);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, o->mask ? o->mask : &empty, NULL);
    environ = (char **)o->envp;
    execvp(o->argv[0], o->argv);
    fail(errfd, STEP_EXEC, errno);
}

static void describe(const struct spawn_opts *o, struct failure f, char *err, size_t len)
{
    switch (f.step) {
    case STEP_FDS:
        snprintf(err, len, "set up descriptors: %s", strerror(f.err));
        break;
    case STEP_DIR:
        snprintf(err, len, "chdir '%s': %s", o->directory, strerror(f.err));
        break;
    case STEP_GROUPS:
    case STEP_GID:
    case STEP_UID:
        snprintf(err, len, "switch to user '%s': %s", o->user, strerror(f.err));
        break;
    default:
        snprintf(err, len, "exec '%s': %s", o->argv[0], strerror(f.err));
    }
}

int spawn_start(const struct spawn_opts *o, pid_t *pid, int *status_fd, char *err, size_t errlen)
{
    int pipefd[2];
    sigset_t all, old;
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        int e = errno;
        snprintf(err, errlen, "pipe: %s", strerror(e));
        return -e;
    }
    /* No signal handler may run in the child before its dispositions are reset:
     * libuv's would write into the parent's signal pipe. */
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t p = fork();
    if (p == 0) {
        close(pipefd[0]);
        child(o, pipefd[1]);
    }
    int fork_err = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(pipefd[1]);
    if (p < 0) {
        close(pipefd[0]);
        snprintf(err, errlen, "fork: %s", strerror(fork_err));
        return -fork_err;
    }
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    *pid = p;
    *status_fd = pipefd[0];
    return 0;
}

int spawn_result(int status_fd, const struct spawn_opts *o, char *err, size_t errlen)
{
    struct failure f;
    ssize_t n;
    do
        n = read(status_fd, &f, sizeof(f));
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return -EAGAIN;
    close(status_fd);
    if (n != (ssize_t)sizeof(f))
        return 0; /* closed by exec (a short read cannot happen: f is written at once) */
    describe(o, f, err, errlen);
    return f.err ? -f.err : -EIO;
}

int spawn_process(const struct spawn_opts *o, pid_t *pid, char *err, size_t errlen)
{
    int fd, r = spawn_start(o, pid, &fd, err, errlen);
    if (r < 0)
        return r;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
        ;
    return spawn_result(fd, o, err, errlen);
}
