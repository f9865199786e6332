/* reload_request: tendctl reload: the change list, the warnings, and --wait. */
#include "reload_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_diff.h"
#include "proto.h"
#include "rollout.h"
#include "strbuf.h"

enum { NFATES = RELOAD_DROP_IN_TURN + 1 };

/* One program the reload changes, and what happens to its processes. */
struct change {
    char *program;
    enum config_change what;
    char keys[CONFIG_DIFF_KEYS];
    int fates[NFATES];
};

/* A process --wait follows: up (ready under the new config) or gone. */
struct awaited {
    char *name;
    int since; /* proc_attempts() when the reload was applied: a start must be a new one */
    bool gone;
    bool in_turn; /* its restart waits for the rollout */
};

struct plan {
    struct change *v;
    int n, cap, last; /* last: the change the previous fate went to */
    struct awaited *wait; /* --wait only */
    int nwait;
    uint64_t bound, bound_in_turn;
    const struct supervisor *sup;
};

struct reload_wait {
    struct commands *e;
    struct request *r;
    struct awaited *v;
    int n;
};

/* ---- what changes ---- */

static int plan_init(struct plan *pl, const struct config *was, const struct config *next)
{
    struct config_diff_item *d;
    int n = config_diff(was, next, &d);
    pl->cap = was->nprograms + next->nprograms + 1;
    pl->v = n >= 0 ? calloc((size_t)pl->cap, sizeof(*pl->v)) : NULL;
    for (int i = 0; pl->v && i < n; i++) {
        struct change *c = &pl->v[pl->n];
        *c = (struct change){.program = strdup(d[i].program), .what = d[i].what};
        memcpy(c->keys, d[i].keys, sizeof(c->keys));
        pl->n += c->program != NULL;
    }
    free(d);
    return pl->v ? 0 : -1;
}

static struct change *change_of(struct plan *pl, const char *program, enum reload_fate f)
{
    if (pl->last < pl->n && !strcmp(pl->v[pl->last].program, program))
        return &pl->v[pl->last];
    for (pl->last = 0; pl->last < pl->n; pl->last++)
        if (!strcmp(pl->v[pl->last].program, program))
            return &pl->v[pl->last];
    if (f == RELOAD_UNCHANGED || pl->n == pl->cap) /* none of its keys, and no process */
        return NULL;
    /* a change no key shows (a host problem of its processes): said all the same */
    struct change *c = &pl->v[pl->n];
    *c = (struct change){.program = strdup(program), .what = CONFIG_CHANGED};
    pl->n += c->program != NULL;
    return c->program ? c : NULL;
}

static void await(struct plan *pl, const char *name, enum reload_fate f)
{
    bool gone = f == RELOAD_REMOVED || f == RELOAD_DROP_IN_TURN;
    if (!pl->wait || f == RELOAD_UNCHANGED || f == RELOAD_NEXT_START)
        return;
    char *copy = strdup(name);
    if (copy)
        pl->wait[pl->nwait++] = (struct awaited){copy, 0, gone,
                                                 f == RELOAD_IN_TURN || f == RELOAD_DROP_IN_TURN};
}

/* The supervisor's decision for one process (sum's fate hook). */
static void on_fate(void *ctx, const char *program, const char *name, enum reload_fate f)
{
    struct plan *pl = ctx;
    struct change *c = change_of(pl, program, f);
    if (c)
        c->fates[f]++;
    await(pl, name, f);
}

static void plan_free(struct plan *pl)
{
    for (int i = 0; i < pl->n; i++)
        free(pl->v[i].program);
    free(pl->v);
    for (int i = 0; i < pl->nwait; i++)
        free(pl->wait[i].name);
    free(pl->wait);
}

/* ---- saying it ---- */

/* n processes, and what happens to them: one said as one, the rest as many. */
static void add_part(struct strbuf *t, bool *first, int n, const char *one, const char *many)
{
    if (n <= 0)
        return;
    strbuf_printf(t, "%s%d %s", *first ? ": " : ", ", n, n == 1 ? one : many);
    *first = false;
}

static void say_parts(struct strbuf *t, const struct change *c)
{
    const int *f = c->fates;
    bool first = true;
    add_part(t, &first, f[RELOAD_IN_TURN], "process restarts one at a time",
             "processes restart one at a time");
    add_part(t, &first, f[RELOAD_RESTART], "process restarts", "processes restart");
    add_part(t, &first, f[RELOAD_STARTED], "process starts afresh", "processes start afresh");
    add_part(t, &first, f[RELOAD_NEXT_START], "stopped process takes it when started",
             "stopped processes take it when started");
    add_part(t, &first, f[RELOAD_ADDED], "process added", "processes added");
    add_part(t, &first, f[RELOAD_REMOVED], "process removed", "processes removed");
    add_part(t, &first, f[RELOAD_DROP_IN_TURN], "process removed one at a time",
             "processes removed one at a time");
    if (first && c->what == CONFIG_CHANGED)
        strbuf_printf(t, ": no process restarts");
}

static void say_change(struct strbuf *t, const struct change *c)
{
    int n = c->fates[RELOAD_ADDED];
    switch (c->what) {
    case CONFIG_ADDED:
        strbuf_printf(t, "+ %s: added (%d %s)\n", c->program, n, n == 1 ? "process" : "processes");
        return;
    case CONFIG_REMOVED:
        strbuf_printf(t, "- %s: removed", c->program);
        if (c->fates[RELOAD_DROP_IN_TURN])
            say_parts(t, c);
        strbuf_printf(t, "\n");
        return;
    case CONFIG_CHANGED:
        strbuf_printf(t, *c->keys ? "~ %s: changed (%s)" : "~ %s: changed%s", c->program, c->keys);
        say_parts(t, c);
        strbuf_printf(t, "\n");
        return;
    }
}

/* The change list, then the warnings as `tend check` prints them. */
static void say_plan(struct request *r, const struct plan *pl, const struct diag_list *d)
{
    struct strbuf t = {0};
    for (int i = 0; i < pl->n; i++)
        say_change(&t, &pl->v[i]);
    if (t.len)
        reply_data(r, 'o', t.p, t.len);
    strbuf_free(&t);
    char *text = NULL;
    size_t len = 0;
    FILE *f = d->n ? open_memstream(&text, &len) : NULL;
    if (f) {
        diag_print(d, f);
        fclose(f);
        reply_data(r, 'e', text, len);
    }
    free(text);
}

/* ---- reload --wait ---- */

static void wait_free(struct reload_wait *w)
{
    if (w->e->reload_wait == w)
        w->e->reload_wait = NULL;
    w->r->pending.state = NULL;
    for (int i = 0; i < w->n; i++)
        free(w->v[i].name);
    free(w->v);
    free(w);
}

static void wait_end(struct reload_wait *w, int status)
{
    struct request *r = w->r;
    wait_free(w);
    reply_end(r, status);
}

static int still_old(const struct reload_wait *w)
{
    int n = 0;
    for (int i = 0; i < w->n; i++) {
        const struct proc *p = supervisor_find(w->e->sup, w->v[i].name);
        n += p && proc_config_old(p);
    }
    return n;
}

/* a->name is not RUNNING after its start under the new config: the rollout stops
 * there, and the processes it had not reached keep the old config. */
static void halted(struct reload_wait *w, const struct awaited *a, const struct proc *p)
{
    const char *err = proc_error(p);
    reply(w->r, 'e', "%s: not ready under the new config (%s%s%s)\n", a->name,
          proc_state_name(proc_state(p)), *err ? ": " : "", err);
    int old = still_old(w);
    if (a->in_turn && old)
        reply(w->r, 'e', "reload: rollout halted: %d %s keep the old config (see tendctl "
              "status)\n", old, old == 1 ? "process" : "processes");
    wait_end(w, PROTO_FAILED);
}

/* Where a is: 1 done (said), 0 on its way, -1 failed. */
static int look(struct reload_wait *w, const struct awaited *a)
{
    const struct proc *p = supervisor_find(w->e->sup, a->name);
    if (a->gone || !p) {
        if (!p)
            reply(w->r, 'o', "%s: %s\n", a->name, a->gone ? "removed" : "gone meanwhile");
        return !p;
    }
    enum proc_state st = proc_state(p);
    int tries = proc_attempts(p) - a->since;
    if (tries > 0 && st == PROC_RUNNING && !proc_config_old(p))
        return reply(w->r, 'o', "%s: ready under the new config\n", a->name), 1;
    if (tries > 0 && (st == PROC_FATAL || st == PROC_EXITED || st == PROC_BACKOFF ||
                      (st != PROC_RUNNING && proc_failed_starts(p))))
        return -1;
    if (proc_state_is_down(st) && !proc_wanted_up(p)) /* tendctl stop meanwhile */
        return reply(w->r, 'o', "%s: stopped meanwhile: left as it is\n", a->name), 1;
    return 0;
}

static void wait_progress(struct request *r)
{
    struct reload_wait *w = r->pending.state;
    for (int i = 0; i < w->n;) {
        int o = look(w, &w->v[i]);
        if (o < 0)
            return halted(w, &w->v[i], supervisor_find(w->e->sup, w->v[i].name));
        if (o == 0) {
            i++;
            continue;
        }
        free(w->v[i].name);
        w->v[i] = w->v[--w->n]; /* O(1): the order is the news's, not the list's */
    }
    if (w->n == 0) {
        reply(r, 'o', "reload: every changed process runs the new config\n");
        wait_end(w, PROTO_OK);
    }
}

static void wait_cancel(struct request *r)
{
    if (r->pending.state)
        wait_free(r->pending.state);
}

static void wait_expired(struct request *r)
{
    struct reload_wait *w = r->pending.state;
    for (int i = 0; i < w->n; i++) {
        const struct proc *p = supervisor_find(w->e->sup, w->v[i].name);
        reply(r, 'e', "%s: still %s%s: gave up waiting (it goes on)\n", w->v[i].name,
              p ? proc_state_name(proc_state(p)) : "leaving",
              p && proc_config_old(p) ? " under the old config" : "");
    }
}

void reload_request_supersede(struct commands *e)
{
    struct reload_wait *w = e->reload_wait;
    if (!w)
        return;
    reply(w->r, 'e', "reload: superseded by another reload: no longer waiting\n");
    wait_end(w, PROTO_FAILED);
}

/* Takes the plan's processes over and waits: the restarts in turn one after the
 * other, the rest at once. */
static void wait_for_plan(struct commands *e, struct request *r, struct plan *pl)
{
    struct reload_wait *w = calloc(1, sizeof(*w));
    if (!w)
        return reply(r, 'e', "tend: out of memory: not waiting\n"), reply_end(r, PROTO_FAILED);
    *w = (struct reload_wait){e, r, pl->wait, pl->nwait};
    pl->wait = NULL;
    pl->nwait = 0;
    e->reload_wait = w;
    request_wait(r, (struct pending){wait_progress, wait_cancel, wait_expired, w,
                                     pl->bound + pl->bound_in_turn});
    wait_progress(r); /* nothing to wait for: ends here */
}

/* The attempts so far of each process followed, and how long they may take. One
 * added but not started (autostart = false) is not waited for. */
static void measure(struct plan *pl)
{
    int kept = 0;
    for (int i = 0; i < pl->nwait; i++) {
        struct awaited a = pl->wait[i];
        const struct proc *p = supervisor_find(pl->sup, a.name);
        if (p && !a.gone && !proc_wanted_up(p)) {
            free(a.name);
            continue;
        }
        uint64_t b = p ? rollout_bound(p) : 0;
        a.since = p ? proc_attempts(p) : 0;
        if (a.in_turn)
            pl->bound_in_turn += b;
        else if (b > pl->bound)
            pl->bound = b;
        pl->wait[kept++] = a;
    }
    pl->nwait = kept;
}

/* ---- the command ---- */

/* Whether the reload would hand p to its rollout (run.c's hold, without taking it). */
static bool would_hold(void *ctx, struct proc *p, bool removing)
{
    (void)removing;
    return nginx_routes_to(ctx, p);
}

/* Applies next (taken over) and says what it did; with wait, follows it. */
static void reload_now(struct commands *e, struct request *r, struct config *next,
                       struct plan *pl, const struct diag_list *d, bool wait)
{
    struct reload_summary sum = {.fate = on_fate, .fate_ctx = pl};
    char msg[2048];
    size_t most = (size_t)supervisor_count(e->sup) + (size_t)next->nnames + 1;
    if (wait && !(pl->wait = calloc(most, sizeof(*pl->wait)))) {
        config_free(next);
        reply(r, 'e', "tend: reload: out of memory: the running config is kept\n");
        return reply_end(r, PROTO_FAILED);
    }
    if (e->hooks->apply(e->ctx, next, &sum, msg, sizeof(msg)) < 0) {
        reply(r, 'e', "tend: reload: %s: the running config is kept\n", msg);
        return reply_end(r, PROTO_FAILED);
    }
    reload_request_supersede(e); /* the one before, if it still waits */
    say_plan(r, pl, d);
    reply(r, 'o', "%s\n", msg);
    if (!wait)
        return reply_end(r, PROTO_OK);
    measure(pl);
    wait_for_plan(e, r, pl); /* may end r */
}

static void dry_run(struct commands *e, struct request *r, struct config *next, struct plan *pl,
                    const struct diag_list *d)
{
    struct reload_summary sum = {.fate = on_fate, .fate_ctx = pl};
    supervisor_reload_plan(e->sup, next, would_hold, e->nginx, &sum);
    say_plan(r, pl, d);
    reply(r, 'o', "dry run of %s: %d added, %d removed, %d restarted, %d unchanged; nothing "
          "applied\n", next->path, sum.added, sum.removed, sum.restarted, sum.unchanged);
    config_free(next);
    reply_end(r, PROTO_OK);
}

static int parse(struct request *r, bool *dry, bool *wait)
{
    for (int i = 1; i < r->argc; i++)
        if (!strcmp(r->argv[i], "--dry-run"))
            *dry = true;
        else if (!strcmp(r->argv[i], "--wait"))
            *wait = true;
        else
            return -1;
    return *dry && *wait ? -1 : 0;
}

void reload_request_run(struct commands *e, struct request *r)
{
    bool dry = false, wait = false;
    struct diag_list d = {0};
    struct config *next = NULL;
    struct plan pl = {.sup = e->sup};
    char msg[2048];
    if (parse(r, &dry, &wait) < 0)
        return reply(r, 'e', "usage: tendctl reload [--dry-run | --wait]\n"),
               reply_end(r, PROTO_USAGE);
    if (e->hooks->load(e->ctx, &next, &d, msg, sizeof(msg)) < 0) {
        reply(r, 'e', "%s\ntend: reload: the running config is kept\n", msg);
        diag_clear(&d);
        return reply_end(r, PROTO_FAILED);
    }
    if (plan_init(&pl, supervisor_config(e->sup), next) < 0) {
        config_free(next);
        reply(r, 'e', "tend: reload: out of memory: the running config is kept\n");
        reply_end(r, PROTO_FAILED);
    } else if (dry) {
        dry_run(e, r, next, &pl, &d);
    } else {
        reload_now(e, r, next, &pl, &d, wait);
    }
    plan_free(&pl);
    diag_clear(&d);
}
