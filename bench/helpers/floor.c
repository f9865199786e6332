/* floor N BATCH CMD [ARGS...]: the least a supervisor of N processes must do, to
 * compare tend with (bench scenario 11). Run as PID 1 of a PID namespace.
 *
 * Start-up: forks N children, one after the other; each execs CMD with stdin on
 * /dev/null and stdout and stderr on pipes of their own, whose read ends the parent
 * watches in epoll and closes at end-of-file: what any supervisor that keeps its
 * children's output apart must hold, one descriptor per stream and child (each fork
 * copies them, each exec closes them). Every child gets a CLOEXEC pipe, as tend's spawn does: the
 * pipe's end-of-file tells the parent the exec happened (a failed exec writes its
 * errno instead). Once all N are forked the parent waits in epoll for every pipe's
 * end-of-file, then prints "started N MS" (MS: from main() to the last exec, by its
 * own CLOCK_MONOTONIC).
 * Then it supervises: SIGCHLD arrives through a signalfd; each child reaped with
 * waitpid(-1, WNOHANG) is forked and exec'd again at once, in the same way, and each
 * time the number of confirmed re-execs reaches a multiple of BATCH it prints
 * "respawned COUNT". No backoff, no logging per process, no line cutting, no state
 * but a pid -> slot table: what is left is fork, exec, pipe, epoll and wait. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char **cmd;
static int devnull, epfd;
static sigset_t chld;
static int *slot_of; /* pid -> slot + 1; 0: not ours */
static long pid_max;

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* epoll's data: an output pipe's read end has this bit set, an exec pipe's not */
#define OUTPUT (1ULL << 32)

static void watch(int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag | (uint32_t)fd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        die("epoll_ctl");
}

/* Forks slot's process; the parent watches the exec through the pipe's read end. */
static void spawn(int slot)
{
    int p[2], out[2], err[2];
    if (pipe2(p, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, &chld, NULL);
        dup2(devnull, 0), dup2(out[1], 1), dup2(err[1], 2);
        execvp(cmd[0], cmd);
        int err = errno;
        if (write(p[1], &err, sizeof(err)) < 0)
            _exit(126);
        _exit(127);
    }
    close(p[1]), close(out[1]), close(err[1]);
    if (pid < pid_max)
        slot_of[pid] = slot + 1;
    watch(p[0], 0);
    watch(out[0], OUTPUT);
    watch(err[0], OUTPUT);
}

/* An output pipe is readable: its child wrote, or is gone (end-of-file). */
static void output(int fd)
{
    char buf[4096];
    if (read(fd, buf, sizeof(buf)) > 0)
        return;
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
}

/* A child's pipe is readable: end-of-file when it exec'd. Returns 1 then. */
static int exec_confirmed(int fd)
{
    int err;
    ssize_t n = read(fd, &err, sizeof(err));
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (n > 0) {
        fprintf(stderr, "floor: exec '%s': %s\n", cmd[0], strerror(err));
        exit(1);
    }
    return 1;
}

/* Reaps every child that has exited and starts its slot again. */
static void reap(int sfd)
{
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == sizeof(si))
        ;
    pid_t pid;
    while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
        if (pid < pid_max && slot_of[pid]) {
            int slot = slot_of[pid] - 1;
            slot_of[pid] = 0;
            spawn(slot);
        }
}

static long read_pid_max(void)
{
    long v = 4194304;
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 4194304;
        fclose(f);
    }
    return v + 1;
}

int main(int argc, char **argv)
{
    long long t0 = mono_ns();
    if (argc < 4 || atol(argv[1]) < 1 || atol(argv[2]) < 1) {
        fprintf(stderr, "usage: floor N BATCH CMD [ARGS...]\n");
        return 2;
    }
    long n = atol(argv[1]), batch = atol(argv[2]), done = 0;
    cmd = argv + 3;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl); /* 2N output pipes, up to N exec pipes */
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    pid_max = read_pid_max();
    slot_of = calloc((size_t)pid_max, sizeof(*slot_of));
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (!slot_of || devnull < 0 || epfd < 0 || sfd < 0)
        die("setup");
    watch(sfd, 0);
    for (long i = 0; i < n; i++)
        spawn((int)i);
    struct epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(epfd, evs, 256, -1);
        if (k < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < k; i++) {
            int fd = (int)(uint32_t)evs[i].data.u64;
            if (evs[i].data.u64 & OUTPUT) {
                output(fd);
                continue;
            }
            if (fd == sfd) {
                reap(sfd);
                continue;
            }
            done += exec_confirmed(fd);
            if (done == n)
                printf("started %ld %.3f\n", n, (mono_ns() - t0) / 1e6);
            else if (done > n && (done - n) % batch == 0)
                printf("respawned %ld\n", done - n);
            fflush(stdout);
        }
    }
}
