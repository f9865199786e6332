/* heal: one rollout per sick process, from the news, until that run has ended. */
#include "heal.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "rollout.h"

struct healing {
    struct heal *h;
    struct rollout *ro;
    char *name;
    bool done; /* freed on the next batch of news, outside the rollout's own call */
    struct healing *next;
};

struct heal {
    struct supervisor *sup;
    struct nginx *ng;
    struct healing *list;
};

static void on_step(void *ctx, const char *name, enum rollout_act act, enum rollout_outcome o,
                    const struct proc *p)
{
    (void)ctx, (void)act, (void)p;
    if (o == ROLLOUT_DONE)
        log_debug("%s: out of the upstream and stopped for its health", name);
}

static void on_drain_failed(void *ctx, int err)
{
    struct healing *g = ctx;
    (void)err;
    log_warn("%s: nginx could not go without it: stopping it anyway", g->name);
}

static void on_done(void *ctx, bool ok, int left)
{
    struct healing *g = ctx;
    (void)ok, (void)left;
    g->done = true;
}

static const struct rollout_hooks hooks = {on_step, on_drain_failed, on_done};

static bool healing(const struct heal *h, const char *name)
{
    for (const struct healing *g = h->list; g; g = g->next)
        if (!g->done && !strcmp(g->name, name))
            return true;
    return false;
}

static void healing_free(struct healing *g)
{
    rollout_free(g->ro);
    free(g->name);
    free(g);
}

static void begin(struct heal *h, struct proc *p)
{
    struct healing *g = calloc(1, sizeof(*g));
    if (g) {
        g->h = h;
        g->name = strdup(proc_name(p));
        g->ro = rollout_new(h->sup, h->ng, 1, &hooks, g);
    }
    if (!g || !g->name || !g->ro || rollout_add(g->ro, p, ROLLOUT_HEAL) < 0) {
        if (g)
            healing_free(g);
        log_error("%s: out of memory: stopping it without taking it out of nginx first",
                  proc_name(p));
        return supervisor_heal(h->sup, p);
    }
    g->next = h->list;
    h->list = g;
    rollout_start(g->ro); /* may be done at once: freed on the next batch */
}

/* Per batch: the rollouts look again, then those done go. Each item first: a
 * process fallen sick starts its own. */
static void on_change(void *ctx, struct proc *p, enum proc_state old)
{
    struct heal *h = ctx;
    (void)old;
    if (p) {
        if (proc_sick(p) && !healing(h, proc_name(p)))
            begin(h, p);
        return;
    }
    for (struct healing *g = h->list; g; g = g->next)
        if (!g->done)
            rollout_progress(g->ro);
    for (struct healing **at = &h->list; *at;) {
        struct healing *g = *at;
        if (!g->done) {
            at = &g->next;
            continue;
        }
        *at = g->next;
        healing_free(g);
    }
}

struct heal *heal_new(struct supervisor *sup, struct nginx *ng)
{
    struct heal *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->sup = sup;
    h->ng = ng;
    supervisor_observe(sup, on_change, h);
    return h;
}

void heal_free(struct heal *h)
{
    if (!h)
        return;
    supervisor_unobserve(h->sup, on_change, h);
    while (h->list) {
        struct healing *g = h->list;
        h->list = g->next;
        healing_free(g);
    }
    free(h);
}
