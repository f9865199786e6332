/* child: a program for tests where there is no shell and no libc to load (built
 * statically, it runs in an empty root).
 *   child serve        prints "ready", waits for SIGTERM, prints "bye" and exits 0
 *   child orphans N    leaves N orphans that exit after 0.3 s, prints "left N
 *                      orphans", then serves as above */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* Each child forks a grandchild and exits at once: the grandchild is an orphan of
 * whoever reaps for this namespace. */
static void orphans(int n)
{
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (fork() == 0) {
                struct timespec ts = {0, 300 * 1000 * 1000};
                nanosleep(&ts, NULL);
                _exit(0);
            }
            _exit(0);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    printf("left %d orphans\n", n);
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigset_t term, none;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigemptyset(&none);
    sigprocmask(SIG_BLOCK, &term, NULL); /* delivered only inside sigsuspend: none is lost */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && !strcmp(argv[1], "orphans"))
        orphans(atoi(argv[2]));
    else if (argc != 2 || strcmp(argv[1], "serve") != 0) {
        fputs("usage: child serve | child orphans N\n", stderr);
        return 2;
    }
    printf("ready, pid %d\n", (int)getpid());
    while (!stop)
        sigsuspend(&none);
    printf("bye\n");
    return 0;
}
