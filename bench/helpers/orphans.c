/* orphans N DELAY_MS READYFILE HOLD_S
 *
 * Makes N orphans that all exit at one moment. The deadline is DELAY_MS after this
 * helper starts (CLOCK_MONOTONIC, so the bench can compare it with its own
 * time.monotonic_ns()). Forks N children; each forks a grandchild and exits at once,
 * so the grandchildren are re-parented to the namespace's init (PID 1). Every
 * grandchild sleeps until the deadline and then exits. Once all are forked and the
 * children reaped, writes "ok MADE DEADLINE_NS" to READYFILE, atomically by rename
 * ("late ..." when the deadline passed before the forking was done), then stays alive
 * HOLD_S seconds so that the init under test keeps running while it reaps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: orphans N DELAY_MS READYFILE HOLD_S\n");
        return 2;
    }
    int n = atoi(argv[1]), made = 0;
    long long deadline = mono_ns() + atoll(argv[2]) * 1000000LL;
    struct timespec at = {(time_t)(deadline / 1000000000LL), (long)(deadline % 1000000000LL)};
    for (int i = 0; i < n; i++) {
        pid_t c = fork();
        if (c < 0) {
            perror("fork");
            break;
        }
        if (c == 0) {
            if (fork() == 0) { /* the grandchild: the orphan-to-be */
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
                    ;
                _exit(0);
            }
            _exit(0);
        }
        made++;
    }
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    char msg[96];
    int len = snprintf(msg, sizeof(msg), "%s %d %lld\n", mono_ns() < deadline ? "ok" : "late",
                       made, deadline);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", argv[3]);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, msg, (size_t)len) != len || close(fd) < 0 || rename(tmp, argv[3]) < 0)
        perror(argv[3]); /* the bench times out waiting and says so */
    sleep((unsigned)atoi(argv[4]));
    return 0;
}
