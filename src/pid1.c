/* pid1: init duties: origin, subreaper, and the sweep of leftover processes. */
#include "pid1.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"

static struct pid1_origin origin;

void pid1_setup(void)
{
    sigset_t none;
    sigemptyset(&none);
    /* the child gets the mask tend was given; tend itself must hear every signal */
    sigprocmask(SIG_SETMASK, &none, &origin.mask);
    sigemptyset(&origin.ignored);
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
            sigaddset(&origin.ignored, sig);
    }
    signal(SIGPIPE, SIG_IGN); /* a write to a closed stream is an error, not death */
    getrlimit(RLIMIT_NOFILE, &origin.nofile);
    struct rlimit mine = {origin.nofile.rlim_max, origin.nofile.rlim_max};
    setrlimit(RLIMIT_NOFILE, &mine); /* three descriptors per child add up */
    if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
        log_warn("cannot become a child subreaper: %s: orphans will not be reaped by tend",
                 strerror(errno));
}

int pid1_watch_parent(int sig)
{
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, sig) < 0)
        return -errno;
    if (getppid() != parent) /* it died before the kernel watched it: no signal would come */
        raise(sig);
    return 0;
}

bool pid1_is_init(void)
{
    return getpid() == 1;
}

const struct pid1_origin *pid1_origin(void)
{
    return &origin;
}

/* Signals pid's children, then theirs: /proc/PID/task/TID/children for each thread. */
static int signal_tree(pid_t pid, int sig, int depth)
{
    char path[320];
    int n = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d && depth < 64 && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%s/children", (int)pid, e->d_name);
        FILE *f = fopen(path, "re");
        for (int child; f && fscanf(f, "%d", &child) == 1;) {
            n += signal_tree(child, sig, depth + 1);
            n += kill(child, sig) == 0;
        }
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

int pid1_signal_all(int sig)
{
    if (pid1_is_init()) /* kill(-1) spares the caller: everything else in the namespace */
        return kill(-1, sig) == 0 ? 1 : 0;
    return signal_tree(getpid(), sig, 0);
}

pid_t pid1_parent_of(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *close = strrchr(buf, ')'); /* the command name may hold spaces and parens */
    int ppid;
    return close && sscanf(close + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : -1;
}
