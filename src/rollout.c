/* rollout: batches of processes: drain, act, wait for each outcome, undrain. */
#include "rollout.h"

#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "index.h"

struct item {
    char *name;
    enum rollout_act act;
    int since;    /* proc_attempts() when acted on: a start must be a new one */
    bool settled; /* its outcome was told */
};

struct rollout {
    struct supervisor *sup;
    struct nginx *ng;
    const struct rollout_hooks *h;
    void *ctx;
    int width;
    struct item *items;
    int n, cap;
    int at, end; /* the batch in hand: items[at..end) */
    struct index queued; /* items[end..n) by name: value i + 1 (items moves) */
    bool failed; /* a start failed: no further batch */
    enum { IDLE, DRAINING, WAITING } phase;
};

struct rollout *rollout_new(struct supervisor *sup, struct nginx *ng, int width,
                            const struct rollout_hooks *h, void *ctx)
{
    struct rollout *ro = calloc(1, sizeof(*ro));
    if (ro)
        *ro = (struct rollout){.sup = sup, .ng = ng, .h = h, .ctx = ctx,
                               .width = width > 0 ? width : 1};
    return ro;
}

struct lookup {
    const struct rollout *ro;
    const char *name;
};

static bool is_item(const void *value, const void *key)
{
    const struct lookup *k = key;
    return !strcmp(k->ro->items[(uintptr_t)value - 1].name, k->name);
}

/* Queued again before its turn: the last act asked for is the one done. */
int rollout_add(struct rollout *ro, const struct proc *p, enum rollout_act act)
{
    const char *name = proc_name(p);
    uint64_t hash = index_hash_str(name);
    uintptr_t found = (uintptr_t)index_find(&ro->queued, hash, is_item,
                                            &(struct lookup){ro, name});
    if (found)
        return ro->items[found - 1].act = act, 0;
    if (ro->n == ro->cap) {
        int cap = ro->cap ? 2 * ro->cap : 8;
        struct item *more = realloc(ro->items, (size_t)cap * sizeof(*more));
        if (!more)
            return -ENOMEM;
        ro->items = more;
        ro->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy || index_put(&ro->queued, hash, (void *)(uintptr_t)(ro->n + 1)) < 0) {
        free(copy);
        return -ENOMEM;
    }
    ro->items[ro->n++] = (struct item){.name = copy, .act = act};
    return 0;
}

static void forget(struct rollout *ro)
{
    for (int i = 0; i < ro->n; i++)
        free(ro->items[i].name);
    ro->n = ro->at = ro->end = 0;
    index_free(&ro->queued);
    ro->failed = false;
    ro->phase = IDLE;
}

/* The end of what was queued: the hook hears of it and may free the rollout, so
 * this is the last thing any caller does. */
static void finish(struct rollout *ro)
{
    bool ok = !ro->failed;
    int left = ro->n - ro->end;
    forget(ro);
    ro->h->done(ro->ctx, ok, left);
}

static bool up_act(enum rollout_act a)
{
    return a == ROLLOUT_START || a == ROLLOUT_AWAIT || a == ROLLOUT_RESTART || a == ROLLOUT_RENEW;
}

/* A reload's restart: done once p runs the loaded config and is ready, however it
 * got there (a later reload may have restarted it again, or given it back the config
 * it ran); failed when a start under it failed. */
static int renew_outcome(const struct item *it, const struct proc *p)
{
    enum proc_state st = p ? proc_state(p) : PROC_STOPPED;
    int tries = p ? proc_attempts(p) - it->since : 0;
    if (st == PROC_RUNNING && !proc_config_old(p))
        return ROLLOUT_DONE;
    if (tries > 0 && st != PROC_RUNNING &&
        (st == PROC_FATAL || st == PROC_EXITED || st == PROC_BACKOFF || proc_failed_starts(p)))
        return ROLLOUT_FAILED;
    if (!p || proc_removing(p) || (proc_state_is_down(st) && !proc_wanted_up(p)))
        return ROLLOUT_SKIPPED;
    return -1;
}

/* Where p is against what was asked of it: an outcome, or -1 while on its way. */
static int outcome(const struct item *it, const struct proc *p)
{
    enum proc_state st = p ? proc_state(p) : PROC_STOPPED;
    if (it->act == ROLLOUT_RENEW)
        return renew_outcome(it, p);
    if (it->act == ROLLOUT_HEAL)
        return !p ? ROLLOUT_SKIPPED : proc_sick(p) ? -1 : ROLLOUT_DONE;
    if (it->act == ROLLOUT_STOP) /* a later command that wants it up wins */
        return p && proc_wanted_up(p) ? ROLLOUT_OVERRULED
               : !p || proc_state_is_down(st) ? ROLLOUT_DONE : -1;
    if (!up_act(it->act))
        return p && proc_wanted_up(p) && !proc_removing(p) ? ROLLOUT_OVERRULED
               : !p ? ROLLOUT_DONE : -1;
    int tries = p ? proc_attempts(p) - it->since : 0;
    if (tries > 0 && st == PROC_RUNNING)
        return ROLLOUT_DONE;
    /* the start asked for failed: it gave up, waits to retry, or already retried */
    if (tries > 1 || (tries > 0 && (st == PROC_FATAL || st == PROC_EXITED || st == PROC_BACKOFF)))
        return ROLLOUT_FAILED;
    if (!p || proc_removing(p) || (proc_state_is_down(st) && !proc_wanted_up(p)))
        return ROLLOUT_SKIPPED;
    return -1;
}

static void tell(struct rollout *ro, struct item *it, enum rollout_outcome o, const struct proc *p)
{
    it->settled = true;
    ro->failed |= o == ROLLOUT_FAILED;
    ro->h->step(ro->ctx, it->name, it->act, o, p);
}

static void next_batch(struct rollout *ro);

/* Tells each outcome reached in the batch in hand; once all are, nginx has them
 * again and the next batch begins. */
static void check(struct rollout *ro)
{
    int open = 0;
    for (int i = ro->at; i < ro->end; i++) {
        struct item *it = &ro->items[i];
        const struct proc *p = it->settled ? NULL : supervisor_find(ro->sup, it->name);
        int o = it->settled ? -1 : outcome(it, p);
        if (o >= 0)
            tell(ro, it, (enum rollout_outcome)o, p);
        open += !it->settled;
    }
    if (open)
        return;
    nginx_release(ro->ng, ro); /* a removed one is gone: nginx leaves it out */
    ro->at = ro->end;
    next_batch(ro);
}

/* A removal still wanted: the name is in no config any more (a later reload may
 * have brought it back). */
static bool still_gone(const struct rollout *ro, const char *name)
{
    const struct program_cfg *g;
    return !config_process(supervisor_config(ro->sup), name, &g);
}

static void act(struct rollout *ro, struct item *it)
{
    struct proc *p = supervisor_find(ro->sup, it->name);
    if (!p || (proc_removing(p) && up_act(it->act)))
        return; /* gone or going meanwhile: outcome() says what that means for it */
    if (it->act == ROLLOUT_DROP && !still_gone(ro, it->name))
        return tell(ro, it, ROLLOUT_SKIPPED, p);
    it->since = it->act == ROLLOUT_AWAIT ? 0 : proc_attempts(p);
    switch (it->act) {
    case ROLLOUT_START:
        if (proc_state(p) == PROC_RUNNING) /* nothing to do: say so, succeed */
            return tell(ro, it, ROLLOUT_ALREADY, p);
        if (proc_state(p) == PROC_STARTING) /* the start under way is the one */
            it->since--;
        return supervisor_want_up(ro->sup, p);
    case ROLLOUT_AWAIT:
        return;
    case ROLLOUT_STOP:
        return supervisor_want_down(ro->sup, p);
    case ROLLOUT_RENEW:
        if (!proc_config_old(p)) /* nothing left to renew */
            return tell(ro, it, ROLLOUT_ALREADY, p);
        return supervisor_restart(ro->sup, p);
    case ROLLOUT_RESTART:
        return supervisor_restart(ro->sup, p);
    case ROLLOUT_HEAL:
        if (!proc_sick(p)) /* restarted or stopped by someone else meanwhile */
            return tell(ro, it, ROLLOUT_ALREADY, p);
        return supervisor_heal(ro->sup, p);
    case ROLLOUT_REMOVE:
    case ROLLOUT_DROP:
        return supervisor_remove(ro->sup, p);
    }
}

static void on_drained(void *ctx, int err)
{
    struct rollout *ro = ctx;
    if (err < 0 && err != -ECANCELED && ro->h->drain_failed)
        ro->h->drain_failed(ro->ctx, err); /* nginx keeps its own retries: go on */
    ro->phase = WAITING;
    for (int i = ro->at; i < ro->end; i++)
        act(ro, &ro->items[i]);
    check(ro);
}

/* Workers nginx routes to, unless nginx itself is in the batch (it is going down). */
static int drainable(struct rollout *ro, const char **names)
{
    const struct config *c = supervisor_config(ro->sup);
    int count = 0;
    for (int i = ro->at; i < ro->end; i++) {
        const struct proc *p = supervisor_find(ro->sup, ro->items[i].name);
        enum rollout_act a = ro->items[i].act;
        if (!p || a == ROLLOUT_START || a == ROLLOUT_AWAIT ||
            (a == ROLLOUT_RENEW && !proc_config_old(p)))
            continue;
        if (c->nginx && !strcmp(proc_program(p)->name, c->nginx->program))
            return 0;
        if (nginx_routes_to(ro->ng, p))
            names[count++] = ro->items[i].name;
    }
    return count;
}

static void next_batch(struct rollout *ro)
{
    if (ro->failed || ro->at >= ro->n)
        return finish(ro);
    ro->end = ro->n - ro->at > ro->width ? ro->at + ro->width : ro->n;
    for (int i = ro->at; i < ro->end; i++) /* in hand: a new add queues it again */
        index_del(&ro->queued, index_hash_str(ro->items[i].name), (void *)(uintptr_t)(i + 1));
    ro->phase = DRAINING;
    const char **names = calloc((size_t)(ro->end - ro->at) + 1, sizeof(*names));
    int nd = names ? drainable(ro, names) : 0; /* out of memory: no drain, still correct */
    bool live = ro->items[ro->at].act == ROLLOUT_HEAL; /* heal's rollouts hold one */
    int r = nd > 0 ? nginx_drain(ro->ng, names, nd, live, on_drained, ro) : -1;
    free(names);
    if (r < 0)
        on_drained(ro, 0);
}

void rollout_start(struct rollout *ro)
{
    if (ro && ro->phase == IDLE && ro->n > ro->at)
        next_batch(ro);
}

void rollout_progress(struct rollout *ro)
{
    if (ro && ro->phase == WAITING)
        check(ro);
}

void rollout_each_open(const struct rollout *ro, void (*fn)(void *ctx, const char *name),
                       void *ctx)
{
    for (int i = ro->at; ro->phase != IDLE && i < ro->end; i++)
        if (!ro->items[i].settled)
            fn(ctx, ro->items[i].name);
}

uint64_t rollout_bound(const struct proc *p)
{
    enum { DRAIN_MS = 35000, KILL_MS = 5000, PROBE_MS = 60000 };
    const struct program_cfg *g = proc_program(p);
    uint64_t start = g->ready == READY_STARTSECS ? g->startsecs_ms
                     : g->ready_timeout_ms      ? g->ready_timeout_ms
                                                : PROBE_MS;
    return DRAIN_MS + g->stopwait_ms + KILL_MS + start;
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
