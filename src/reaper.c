/* reaper: waitpid(-1, WNOHANG) until it says nothing more has exited. */
#include "reaper.h"

#include <errno.h>
#include <sys/wait.h>

int reaper_reap(reaper_cb *cb, void *ctx)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0)
            cb(ctx, pid, status);
        else if (pid < 0 && errno == EINTR)
            continue;
        else
            return pid < 0 && errno == ECHILD ? -ECHILD : 0;
    }
}

int reaper_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return status;
}
