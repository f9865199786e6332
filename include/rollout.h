/* rollout: changes to the workers nginx routes to, one process at a time: take
 * it out of nginx (a drain), restart it (under the config a reload gave it) or
 * remove it, wait until the new one is ready, let nginx have it again. All but
 * one keep serving throughout. `tendctl restart --rolling` and reloads go this
 * way; a restart that does not get ready stops the rollout, so that a bad
 * config takes one worker down, not all of them. */
#ifndef TEND_ROLLOUT_H
#define TEND_ROLLOUT_H

#include <stdbool.h>

#include "nginx.h"
#include "supervisor.h"

enum rollout_outcome {
    ROLLOUT_RESTARTED, /* running again, ready */
    ROLLOUT_REMOVED,
    ROLLOUT_SKIPPED, /* gone, stopped or re-added meanwhile: nothing left to do */
    ROLLOUT_FAILED,  /* not ready after its restart (p says why): the rollout stops */
};

struct rollout_hooks {
    void (*step)(void *ctx, const char *name, enum rollout_outcome o, const struct proc *p);
    /* Nothing left to do; left: the processes a failure left as they were. The
     * rollout may be freed from here. */
    void (*done)(void *ctx, bool ok, int left);
};

struct rollout;

struct rollout *rollout_new(struct supervisor *sup, struct nginx *ng,
                            const struct rollout_hooks *h, void *ctx);
/* Queues a process by name (once: queued again, the latest wish counts). */
int rollout_add(struct rollout *ro, const char *name, bool remove);
/* Begins on what is queued, unless already at work. */
void rollout_start(struct rollout *ro);
/* A process changed state. */
void rollout_progress(struct rollout *ro);
/* Forgets the rest; the process in hand goes back to nginx once ready. */
void rollout_free(struct rollout *ro);

#endif
