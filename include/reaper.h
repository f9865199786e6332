/* reaper: the one place that calls waitpid. Every child and every orphan is
 * reaped here; SIGCHLDs coalesce, so each call loops until none is left. */
#ifndef TEND_REAPER_H
#define TEND_REAPER_H

#include <sys/types.h>

typedef void reaper_cb(void *ctx, pid_t pid, int status);

/* Reaps every exited child, calling cb for each. Returns -ECHILD when no child
 * is left at all afterwards (the namespace is empty, for PID 1), else 0. */
int reaper_reap(reaper_cb *cb, void *ctx);

/* Waits for one child to exit, for a command-line mode with no loop; returns its
 * status, or -errno. */
int reaper_wait(pid_t pid);

#endif
