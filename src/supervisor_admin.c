/* supervisor_admin: what tendctl asks of the process table: starts and stops,
 * scaling, and reloads that apply only the difference between two snapshots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "childio.h"
#include "log.h"
#include "supervisor.h"
#include "supervisor_int.h"

/* ---- snapshots ---- */

/* Older snapshots no process uses any more. */
static void free_unused(struct supervisor *s)
{
    for (struct snapshot **p = &s->snaps->next; *p;) {
        struct snapshot *snap = *p;
        if (snap->refs > 0) {
            p = &snap->next;
            continue;
        }
        *p = snap->next;
        snapshot_free(s, snap);
    }
}

/* ---- commands ---- */

/* These write what is wanted, nothing else (STYLE rule 14): reconcile acts on it
 * on the next turn of the loop, so that no caller is inside a transition. */
void supervisor_want_up(struct supervisor *s, struct proc *p)
{
    (void)s;
    p->wanted_up = true;
    p->put_down = false;
    p->kick = true;
    supervisor_set_removing(p, false);
    p->failed_starts = 0;
    backoff_reset(&p->backoff);
    supervisor_mark(p);
}

/* A command's stop or restart of a process that failed its health checks takes the
 * place of the health restart: its exit is then a planned one. */
static void not_sick(struct proc *p)
{
    if (!p->sick)
        return;
    p->sick = p->heal = false;
    p->kill_cause = CAUSE_NONE;
}

void supervisor_want_down(struct supervisor *s, struct proc *p)
{
    (void)s;
    p->wanted_up = p->kick = p->cycle = false;
    p->put_down = true;
    not_sick(p);
    supervisor_mark(p);
}

void supervisor_restart(struct supervisor *s, struct proc *p)
{
    bool running = p->state == PROC_RUNNING || p->state == PROC_STARTING;
    supervisor_want_up(s, p);
    supervisor_set_removing(p, p->removing && running);
    not_sick(p);
    p->cycle = true;
}

void supervisor_heal(struct supervisor *s, struct proc *p)
{
    (void)s;
    p->heal = true;
    supervisor_mark(p);
}

void supervisor_remove(struct supervisor *s, struct proc *p)
{
    supervisor_want_down(s, p);
    supervisor_leave(p);
}

/* ---- scaling ---- */


int supervisor_numprocs(const struct supervisor *s, const char *program)
{
    int n = 0;
    for (int i = 0; i < s->nprocs; i++)
        n += !strcmp(s->procs[i]->prog->name, program) && !s->procs[i]->removing;
    return n;
}

/* The new ports must not be another program's. */
static int check_ports(const struct supervisor *s, const struct program_cfg *g, int n, char *err,
                       size_t len)
{
    if (!g->port)
        return 0;
    if (g->port + n - 1 > 65535)
        return snprintf(err, len, "scale: %d processes from port %d run past 65535", n, g->port),
               -ERANGE;
    for (int i = 0; i < s->nprocs; i++) {
        const struct proc *q = s->procs[i];
        if (strcmp(q->prog->name, g->name) && q->cfg->port >= g->port && q->cfg->port < g->port + n)
            return snprintf(err, len, "scale: port %d belongs to %s", q->cfg->port, q->cfg->name),
                   -EADDRINUSE;
    }
    return 0;
}

/* The overlay that holds the processes scale adds past the current snapshot's
 * numprocs: made on first need, put after the current snapshot. */
static struct snapshot *overlay(struct supervisor *s, struct snapshot **over)
{
    if (*over)
        return *over;
    struct snapshot *o = calloc(1, sizeof(*o));
    if (!o || !(o->extra = arena_new())) {
        free(o);
        return NULL;
    }
    o->cfg = s->snaps->cfg;
    o->gen = s->snaps->gen;
    o->base = s->snaps;
    o->base->refs++;
    o->next = s->snaps->next;
    s->snaps->next = o;
    return *over = o;
}

/* Process index of g, in the snapshot's config, or expanded into an overlay. */
static const struct proc_cfg *proc_config_for(struct supervisor *s, const struct program_cfg *g,
                                              int index, struct snapshot **snap,
                                              struct snapshot **over, char *err, size_t len)
{
    const char *why = NULL;
    *snap = s->snaps;
    if (index < g->nprocs)
        return &g->procs[index];
    if (!(*snap = overlay(s, over)))
        return snprintf(err, len, "scale: out of memory"), NULL;
    const struct proc_cfg *c = config_expand_process(s->cfg, g, index, (*over)->extra, &why);
    if (!c)
        snprintf(err, len, "scale: %s", why);
    return c;
}

/* g's processes numbered below its start + n, by number: one pass over the table. */
static struct proc **by_num(const struct supervisor *s, const struct program_cfg *g, int n)
{
    struct proc **have = calloc((size_t)n + 1, sizeof(*have));
    for (int i = 0; have && i < s->nprocs; i++) {
        struct proc *q = s->procs[i];
        int k = q->cfg->num - g->numprocs_start;
        if (k >= 0 && k < n && !strcmp(q->prog->name, g->name))
            have[k] = q;
    }
    return have;
}

static int add_procs(struct supervisor *s, const struct program_cfg *g, int n, struct proc **have,
                     struct snapshot **over, char *err, size_t len)
{
    for (int i = 0; i < n; i++) {
        struct proc *p = have[i];
        if (p) { /* kept, or called back from leaving */
            if (p->removing)
                supervisor_want_up(s, p);
            continue;
        }
        struct snapshot *snap;
        const struct proc_cfg *c = proc_config_for(s, g, i, &snap, over, err, len);
        if (!c)
            return -EINVAL;
        if (supervisor_find(s, c->name)) /* a name without %(process_num) repeats */
            return snprintf(err, len, "scale: [program:%s] would have two processes named '%s': "
                            "put %%(process_num) in its process_name", g->name, c->name), -EEXIST;
        if (!(p = supervisor_add(s, snap, g, c)))
            return snprintf(err, len, "scale: out of memory"), -ENOMEM;
        p->wanted_up = true;
    }
    return 0;
}

int supervisor_scale_up(struct supervisor *s, const char *program, int n, char *err, size_t len)
{
    const struct program_cfg *g = config_program(s->cfg, program);
    int r = check_ports(s, g, n, err, len);
    if (r < 0)
        return r;
    struct proc **have = by_num(s, g, n);
    if (!have)
        return snprintf(err, len, "scale: out of memory"), -ENOMEM;
    struct snapshot *over = NULL;
    r = add_procs(s, g, n, have, &over, err, len);
    free(have);
    if (over && over->refs == 0) { /* nothing came of it; it sits after the current one */
        s->snaps->next = over->next;
        snapshot_free(s, over);
    }
    supervisor_sort(s);
    return r;
}

int supervisor_scale_victims(const struct supervisor *s, const char *program, int n,
                             struct proc **out, int max)
{
    int count = 0;
    for (int i = 0; i < s->nprocs && count < max; i++) {
        struct proc *p = s->procs[i];
        if (!strcmp(p->prog->name, program) && !p->removing &&
            p->cfg->num >= p->prog->numprocs_start + n)
            out[count++] = p;
    }
    return count;
}

/* ---- reloads ---- */

static void retarget(struct proc *p, struct snapshot *snap, const struct program_cfg *g,
                     const struct proc_cfg *c)
{
    if (p->pending.snap)
        snapshot_release(p->sup, p->pending.snap);
    p->pending.snap = snap;
    p->pending.prog = g;
    p->pending.cfg = c;
    snap->refs++;
}

struct hold {
    supervisor_hold_cb *cb;
    void *ctx;
};

/* Whether the reload's caller takes this restart or removal over. */
static bool held(const struct hold *h, struct proc *p, bool removing)
{
    return h->cb && p->state == PROC_RUNNING && h->cb(h->ctx, p, removing);
}

/* What the reload does to p, which is c in the new config (NULL: gone from it).
 * Asks hold, nothing else: the one place the reload and its plan decide. */
static enum reload_fate fate_of(struct proc *p, const struct program_cfg *g,
                                const struct proc_cfg *c, const struct hold *h)
{
    if (!c)
        return held(h, p, true) ? RELOAD_DROP_IN_TURN : RELOAD_REMOVED;
    if (!config_process_changed(p->prog, p->cfg, g, c))
        return RELOAD_UNCHANGED;
    if (p->state == PROC_BACKOFF || (proc_state_is_down(p->state) && g->autostart))
        return RELOAD_STARTED; /* a changed program starts afresh, as when added */
    if (proc_state_is_down(p->state))
        return RELOAD_NEXT_START;
    return held(h, p, false) ? RELOAD_IN_TURN : RELOAD_RESTART;
}

static void count(struct reload_summary *sum, const char *program, const char *name,
                  enum reload_fate f)
{
    sum->unchanged += f == RELOAD_UNCHANGED;
    sum->added += f == RELOAD_ADDED;
    sum->removed += f == RELOAD_REMOVED || f == RELOAD_DROP_IN_TURN;
    sum->restarted += f == RELOAD_RESTART || f == RELOAD_IN_TURN || f == RELOAD_STARTED ||
                      f == RELOAD_NEXT_START;
    sum->held += f == RELOAD_IN_TURN || f == RELOAD_DROP_IN_TURN;
    if (sum->fate)
        sum->fate(sum->fate_ctx, program, name, f);
}

/* Same process under the new config: in place when nothing that shapes the
 * running process changed, else a restart (or, if it is down, just the swap). */
static void update(struct supervisor *s, struct proc *p, enum reload_fate f)
{
    const char *name = p->pending.cfg->name;
    bool back = p->removing && p->pending.prog->autostart;
    supervisor_set_removing(p, false);
    if (back) /* scale or an earlier reload was taking it out: the config keeps it */
        supervisor_want_up(s, p);
    switch (f) {
    case RELOAD_UNCHANGED:
        return supervisor_swap_pending(p, true); /* same logs: the ring goes on */
    case RELOAD_STARTED:
    case RELOAD_NEXT_START: {
        bool backoff = p->state == PROC_BACKOFF;
        supervisor_swap_pending(p, false);
        p->wanted_up = p->prog->autostart;
        p->failed_starts = 0;
        if (backoff || p->wanted_up)
            supervisor_want_up(s, p);
        return;
    }
    case RELOAD_IN_TURN:
        return log_info("%s: config changed: restarting in turn", name);
    default:
        log_info("%s: config changed: restarting", name);
        supervisor_restart(s, p); /* swapped to the new config when it is down */
    }
}

static void drop(struct supervisor *s, struct proc *p, enum reload_fate f)
{
    if (f == RELOAD_DROP_IN_TURN)
        return log_info("%s: gone from the config: stopping in turn", p->cfg->name);
    log_info("%s: gone from the config: stopping", p->cfg->name);
    supervisor_remove(s, p);
}

/* A process new in the config. Out of memory here the reload goes on: the next
 * reload adds what is missing. */
static void add(struct supervisor *s, struct snapshot *snap, const struct program_cfg *g,
                const struct proc_cfg *c, struct reload_summary *sum)
{
    if (supervisor_add(s, snap, g, c))
        count(sum, g->name, c->name, RELOAD_ADDED);
    else
        log_error("%s: out of memory: not added; the next reload tries again", c->name);
}

/* Each process of the table against next: plan only tells, else it acts too. */
static void walk(struct supervisor *s, const struct config *next, struct snapshot *snap,
                 const struct hold *h, struct reload_summary *sum)
{
    int old = s->nprocs;
    for (int i = 0; i < old; i++) {
        struct proc *p = s->procs[i];
        const struct program_cfg *g;
        const struct proc_cfg *c = config_process(next, p->cfg->name, &g);
        if (!c && p->removing)
            continue; /* already leaving */
        const char *program = p->prog->name;
        enum reload_fate f = fate_of(p, g, c, h);
        count(sum, program, p->cfg->name, f);
        if (!snap)
            continue;
        if (c) {
            retarget(p, snap, g, c);
            update(s, p, f);
        } else {
            drop(s, p, f);
        }
    }
}

void supervisor_reload_plan(struct supervisor *s, const struct config *next,
                            supervisor_hold_cb *hold, void *ctx, struct reload_summary *sum)
{
    const struct hold h = {hold, ctx};
    sum->added = sum->removed = sum->restarted = sum->unchanged = sum->held = 0;
    walk(s, next, NULL, &h, sum);
    for (int i = 0; i < next->nprograms; i++)
        for (int j = 0; j < next->programs[i].nprocs; j++)
            if (!supervisor_find(s, next->programs[i].procs[j].name))
                count(sum, next->programs[i].name, next->programs[i].procs[j].name,
                      RELOAD_ADDED);
}

int supervisor_reload(struct supervisor *s, struct config *next, supervisor_hold_cb *hold,
                      void *ctx, struct reload_summary *sum)
{
    const struct hold h = {hold, ctx};
    struct snapshot *snap = calloc(1, sizeof(*snap));
    sum->added = sum->removed = sum->restarted = sum->unchanged = sum->held = 0;
    if (!snap)
        return -ENOMEM;
    /* The config replaced stays readable until the reload is done, whoever moves
     * off it last: hold reads it (nginx's routes, until run.c gives nginx next). */
    struct snapshot *was = s->snaps;
    was->refs++;
    snap->cfg = next;
    snap->gen = was->gen + 1; /* processes on an older one show as such in status */
    snap->next = s->snaps;
    snap->refs = 1; /* held by the reload until it is done */
    s->snaps = snap;
    s->cfg = next;
    walk(s, next, snap, &h, sum);
    for (int i = 0; i < next->nprograms; i++)
        for (int j = 0; j < next->programs[i].nprocs; j++)
            if (!supervisor_find(s, next->programs[i].procs[j].name))
                add(s, snap, &next->programs[i], &next->programs[i].procs[j], sum);
    supervisor_sort(s);
    snap->refs--; /* the reload's own hold; the current snapshot is never freed */
    snapshot_release(s, was);
    free_unused(s);
    return 0;
}
