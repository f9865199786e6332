/* rollout: the one drain engine. Every command that takes processes down or
 * brings them up (start, stop, restart, restart --rolling, scale) and every reload
 * that restarts or removes workers goes through it: it takes the processes in
 * batches of `width` (ROLLOUT_ALL: one batch; 1: one at a time), takes each
 * batch's workers out of nginx (a drain), acts on the batch (wants it up, down, or
 * gone), waits until each is where it was asked to be, lets nginx have them again,
 * then the next batch. One at a time, all but one worker keep serving; a process
 * that does not get ready stops the batches still queued, so that a bad config
 * takes one worker down, not all of them. It acts only on news (rollout_progress)
 * and on nginx's drain callback, never inside the supervisor or nginx. */
#ifndef TEND_ROLLOUT_H
#define TEND_ROLLOUT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "nginx.h"
#include "supervisor.h"

enum { ROLLOUT_ALL = INT_MAX };

enum rollout_act {
    ROLLOUT_START,   /* wanted up; it counts once RUNNING (a start under way counts) */
    ROLLOUT_AWAIT,   /* already wanted up (just added by scale): wait until RUNNING */
    ROLLOUT_STOP,    /* wanted down */
    ROLLOUT_RESTART, /* stopped and started again (under a reload's config), RUNNING anew */
    ROLLOUT_RENEW,   /* a reload's RESTART: none (ALREADY) once it runs the loaded config
                      * (a later reload gave it back the config it runs) */
    ROLLOUT_REMOVE,  /* stopped and out of the table (scale) */
    ROLLOUT_DROP,    /* gone from the config: as REMOVE, unless a later reload brought it back */
    ROLLOUT_HEAL,    /* sick (proc_sick): out of nginx until nginx's new workers no longer
                      * route to it (not waiting for the old ones: it may be frozen),
                      * then stopped; done once that run has ended (heal.h) */
};

enum rollout_outcome {
    ROLLOUT_DONE,      /* the act is done: RUNNING (anew), down, or gone */
    ROLLOUT_ALREADY,   /* START: it was RUNNING already */
    ROLLOUT_SKIPPED,   /* gone, stopped or removed by someone else meanwhile */
    ROLLOUT_OVERRULED, /* STOP, REMOVE: wanted up again by a later command */
    ROLLOUT_FAILED,    /* not RUNNING after its start (p says why): no further batch */
};

struct rollout_hooks {
    /* One process reached an outcome; p is NULL when it is gone. */
    void (*step)(void *ctx, const char *name, enum rollout_act act, enum rollout_outcome o,
                 const struct proc *p);
    /* nginx could not go without a batch's workers (err < 0); the rollout goes on. May
     * be NULL. */
    void (*drain_failed)(void *ctx, int err);
    /* Nothing left to do; left: the processes a failure left untouched. The rollout
     * may be freed from here. */
    void (*done)(void *ctx, bool ok, int left);
};

struct rollout;

struct rollout *rollout_new(struct supervisor *sup, struct nginx *ng, int width,
                            const struct rollout_hooks *h, void *ctx);
/* Queues p (by name: once queued again before its batch begins, the latest wish
 * counts). */
int rollout_add(struct rollout *ro, const struct proc *p, enum rollout_act act);
/* Begins on what is queued, unless already at work. May call done: the last thing
 * a caller does. */
void rollout_start(struct rollout *ro);
/* Something changed (a batch of the supervisor's news): done yet? May call done. */
void rollout_progress(struct rollout *ro);
/* The processes of the batch in hand that have not reached an outcome. */
void rollout_each_open(const struct rollout *ro, void (*fn)(void *ctx, const char *name),
                       void *ctx);
/* How long a request may wait on p, all told: its drain out of nginx, its stop
 * (stopwaitsecs, then SIGKILL), and its start (startsecs, or ready_timeout, or a
 * minute for a probe without one). Past it, a request ends and says why. */
uint64_t rollout_bound(const struct proc *p);
/* Forgets the rest; nginx routes to the batch in hand again. */
void rollout_free(struct rollout *ro);

#endif
