/* rollout: drain, restart or remove, wait until ready, undrain; then the next. */
#include "rollout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct item {
    char *name;
    bool remove;
};

struct rollout {
    struct supervisor *sup;
    struct nginx *ng;
    const struct rollout_hooks *h;
    void *ctx;
    struct item *items;
    int n, cap, at;
    int since; /* proc_attempts() of the one in hand when it was restarted */
    enum { IDLE, DRAINING, STARTING } phase;
};

struct rollout *rollout_new(struct supervisor *sup, struct nginx *ng,
                            const struct rollout_hooks *h, void *ctx)
{
    struct rollout *ro = calloc(1, sizeof(*ro));
    if (ro)
        *ro = (struct rollout){.sup = sup, .ng = ng, .h = h, .ctx = ctx};
    return ro;
}

int rollout_add(struct rollout *ro, const char *name, bool remove)
{
    for (int i = ro->at; i < ro->n; i++)
        if (!strcmp(ro->items[i].name, name))
            return ro->items[i].remove = remove, 0;
    if (ro->n == ro->cap) {
        int cap = ro->cap ? 2 * ro->cap : 8;
        struct item *more = realloc(ro->items, (size_t)cap * sizeof(*more));
        if (!more)
            return -ENOMEM;
        ro->items = more;
        ro->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    ro->items[ro->n++] = (struct item){copy, remove};
    return 0;
}

static void forget(struct rollout *ro)
{
    for (int i = 0; i < ro->n; i++)
        free(ro->items[i].name);
    ro->n = ro->at = 0;
    ro->phase = IDLE;
}

/* The end of what was queued: the hook hears of it and may free the rollout, so
 * this is the last thing any caller does. */
static void finish(struct rollout *ro, bool ok)
{
    int left = ok ? 0 : ro->n - ro->at - 1;
    forget(ro);
    ro->h->done(ro->ctx, ok, left);
}

static void next(struct rollout *ro);

static void done_with(struct rollout *ro, enum rollout_outcome o, const struct proc *p)
{
    const char *name = ro->items[ro->at].name;
    nginx_release(ro->ng, ro); /* a removed one is STOPPING: nginx leaves it out */
    ro->h->step(ro->ctx, name, o, p);
    if (o == ROLLOUT_FAILED)
        return finish(ro, false);
    ro->at++;
    next(ro);
}

/* A removal still wanted: the name is in no config any more (a later reload may
 * have brought it back). */
static bool still_gone(const struct rollout *ro, const char *name)
{
    const struct program_cfg *g;
    return !config_process(supervisor_config(ro->sup), name, &g);
}

static void on_drained(void *ctx, int err)
{
    struct rollout *ro = ctx;
    const struct item *it = &ro->items[ro->at];
    struct proc *p = supervisor_find(ro->sup, it->name);
    (void)err; /* a reload nginx refused still leaves it its own retries: go on */
    if (!p || proc_removing(p) || (it->remove && !still_gone(ro, it->name)))
        return done_with(ro, ROLLOUT_SKIPPED, p);
    if (it->remove) {
        supervisor_remove(ro->sup, p);
        return done_with(ro, ROLLOUT_REMOVED, NULL);
    }
    ro->phase = STARTING;
    ro->since = proc_attempts(p);
    supervisor_restart(ro->sup, p); /* its changes of state bring rollout_progress() */
}

static void next(struct rollout *ro)
{
    if (ro->at >= ro->n)
        return finish(ro, true);
    struct proc *p = supervisor_find(ro->sup, ro->items[ro->at].name);
    ro->phase = DRAINING;
    if (p && nginx_routes_to(ro->ng, p) &&
        nginx_drain(ro->ng, (const char *const *)&ro->items[ro->at].name, 1, on_drained, ro) == 0)
        return;
    on_drained(ro, 0);
}

void rollout_start(struct rollout *ro)
{
    if (ro && ro->phase == IDLE && ro->n > ro->at)
        next(ro);
}

void rollout_progress(struct rollout *ro)
{
    if (!ro || ro->phase != STARTING)
        return;
    struct proc *p = supervisor_find(ro->sup, ro->items[ro->at].name);
    enum proc_state st = p ? proc_state(p) : PROC_STOPPED;
    bool anew = p && proc_attempts(p) > ro->since;
    if (anew && st == PROC_RUNNING)
        return done_with(ro, ROLLOUT_RESTARTED, p);
    if (!p || proc_removing(p) || (!anew && proc_state_is_down(st) && !proc_wanted_up(p)))
        return done_with(ro, ROLLOUT_SKIPPED, p); /* removed or stopped on purpose meanwhile */
    if (anew && st != PROC_STARTING)
        return done_with(ro, ROLLOUT_FAILED, p);
}

void rollout_free(struct rollout *ro)
{
    if (!ro)
        return;
    nginx_release(ro->ng, ro);
    forget(ro);
    free(ro->items);
    free(ro);
}
