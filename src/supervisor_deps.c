/* supervisor_deps: whether a program's dependencies are met (depends_on =
 * NAME:CONDITION), and what a process that waits for them waits for. A condition
 * reads a summary of the dependency's processes, one walk of the table made once
 * and kept until one of them changes: a thousand processes held back for one
 * dependency cost one walk per change, not a thousand. */
#include "supervisor_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "strconv.h"

enum verdict { MET, PENDING, FAILED };

/* For each condition, the first process of the program that keeps it from being
 * met (pending) or that means it never will be (failed); NULL: none. */
struct dep_summary {
    const struct proc *unsettled; /* ready: wanted up, not RUNNING nor failed a start */
    const struct proc *unhealthy; /* healthy: not RUNNING with a passed check */
    const struct proc *unstarted; /* started: never spawned */
    const struct proc *running;   /* completed, succeeded: not exited yet */
    const struct proc *fatal;     /* completed, healthy: gave up starting */
    const struct proc *bad_exit;  /* succeeded: exited otherwise, or FATAL */
};

struct dep_memo {
    unsigned epoch; /* s->deps_epoch when summed; 0: to be summed again */
    struct dep_summary sum;
};

bool proc_exit_expected(const struct proc *p)
{
    int st = p->last_status;
    const uint8_t *codes = p->prog->exitcodes;
    return st >= 0 && WIFEXITED(st) && (codes[WEXITSTATUS(st) / 8] & (1 << (WEXITSTATUS(st) % 8)));
}

static void first(const struct proc **slot, const struct proc *p, bool when)
{
    if (when && !*slot)
        *slot = p;
}

/* What one process of the dependency says; its news must have been told (observers,
 * nginx first, know of it) before it counts as there. */
static void add(struct dep_summary *m, const struct proc *p)
{
    enum proc_state st = p->state;
    bool told = !p->queued, up = st == PROC_RUNNING && told;
    first(&m->unsettled, p, p->wanted_up && !(told && (st == PROC_RUNNING ||
                                                      st == PROC_BACKOFF || st == PROC_FATAL)));
    first(&m->unhealthy, p, !(up && !p->sick && p->health_passed) &&
                                (p->wanted_up || st == PROC_FATAL));
    first(&m->unstarted, p, !told || (p->attempts == 0 && st == PROC_STOPPED));
    first(&m->running, p, !told || st != PROC_EXITED);
    first(&m->fatal, p, st == PROC_FATAL);
    first(&m->bad_exit, p, st == PROC_FATAL || (st == PROC_EXITED && !proc_exit_expected(p)));
}

static bool of_program(const struct proc *p, const struct program_cfg *g)
{
    return !p->removing && (p->prog == g || !strcmp(p->prog->name, g->name));
}

static struct dep_summary summarize(const struct supervisor *s, const struct program_cfg *g)
{
    struct dep_summary m = {0};
    for (int i = 0; i < s->nprocs; i++)
        if (of_program(s->procs[i], g))
            add(&m, s->procs[i]);
    return m;
}

/* The memo follows the current config: a reload makes a new one. Out of memory,
 * there is none, and every question walks the table. */
static struct dep_memo *memo_of(struct supervisor *s, const struct program_cfg *g)
{
    if (s->deps_cfg != s->cfg) {
        free(s->deps_memo);
        s->deps_memo = calloc((size_t)s->cfg->nprograms + 1, sizeof(*s->deps_memo));
        s->deps_cfg = s->cfg;
    }
    if (!s->deps_memo || g < s->cfg->programs || g >= s->cfg->programs + s->cfg->nprograms)
        return NULL;
    return &s->deps_memo[g - s->cfg->programs];
}

static struct dep_summary summary(struct supervisor *s, const struct program_cfg *g)
{
    struct dep_memo *m = memo_of(s, g);
    if (!m)
        return summarize(s, g);
    if (m->epoch != s->deps_epoch || !m->epoch) {
        m->sum = summarize(s, g);
        m->epoch = s->deps_epoch;
    }
    return m->sum;
}

/* The verdict of d, with the process it is about (NULL when met). */
static enum verdict judge(const struct dep_summary *m, const struct program_cfg *g,
                          enum dep_cond cond, const struct proc **who)
{
    const struct proc *failed = NULL, *pending = NULL;
    if (cond == DEP_HEALTHY && g->health.kind == HEALTH_NONE)
        cond = DEP_READY; /* nothing to pass: ready is all it can be */
    switch (cond) {
    case DEP_READY:
        pending = m->unsettled;
        break;
    case DEP_STARTED:
        pending = m->unstarted;
        break;
    case DEP_HEALTHY:
        failed = m->fatal, pending = m->unhealthy;
        break;
    case DEP_COMPLETED:
        failed = m->fatal, pending = m->running;
        break;
    case DEP_SUCCEEDED:
        failed = m->bad_exit, pending = m->running;
        break;
    }
    *who = failed ? failed : pending;
    return failed ? FAILED : pending ? PENDING : MET;
}

/* The first dependency of g not met, or NULL; its verdict and process. */
static const struct dependency *unmet(struct supervisor *s, const struct program_cfg *g,
                                      enum verdict *v, const struct proc **who)
{
    for (const struct dependency *d = g->depends_on; d->name; d++) {
        const struct program_cfg *dep = config_program(s->cfg, d->name);
        if (!dep) /* gone from the config: nothing to wait for */
            continue;
        struct dep_summary m = summary(s, dep);
        if ((*v = judge(&m, dep, d->cond, who)) != MET)
            return d;
    }
    return NULL;
}

bool supervisor_deps_met(struct supervisor *s, const struct program_cfg *g)
{
    enum verdict v;
    const struct proc *who;
    return !g->depends_on->name || !unmet(s, g, &v, &who);
}

void supervisor_deps_changed(struct supervisor *s, const struct proc *p)
{
    if (!p || s->deps_cfg != s->cfg || p->prog < s->cfg->programs ||
        p->prog >= s->cfg->programs + s->cfg->nprograms) {
        s->deps_epoch = s->deps_epoch + 1 ? s->deps_epoch + 1 : 1; /* 0 means unsummed */
        return;
    }
    if (s->deps_memo)
        s->deps_memo[p->prog - s->cfg->programs].epoch = 0;
}

void supervisor_deps_free(struct supervisor *s)
{
    free(s->deps_memo);
    s->deps_memo = NULL;
    s->deps_cfg = NULL;
}

/* "migrate exited 1", "db_01 FATAL: exec 'db': ...", "db RUNNING, no check passed". */
static void describe(const struct proc *p, enum verdict v, enum dep_cond cond, char *buf,
                     size_t len)
{
    char ex[32];
    if (p->state == PROC_EXITED && p->last_status >= 0 && WIFEXITED(p->last_status))
        return (void)snprintf(buf, len, "%s exited %d", p->cfg->name,
                              WEXITSTATUS(p->last_status));
    if (p->state == PROC_EXITED && p->last_status >= 0) {
        strconv_exit_text(p->last_status, ex, sizeof(ex));
        return (void)snprintf(buf, len, "%s killed by %s", p->cfg->name, ex);
    }
    if (v == FAILED && p->error)
        return (void)snprintf(buf, len, "%s %s: %s", p->cfg->name, proc_state_name(p->state),
                              p->error);
    if (cond == DEP_HEALTHY && p->state == PROC_RUNNING)
        return (void)snprintf(buf, len, "%s RUNNING, %s", p->cfg->name,
                              p->sick ? "unhealthy" : "no health check passed yet");
    snprintf(buf, len, "%s %s", p->cfg->name, proc_state_name(p->state));
}

bool proc_waiting(const struct proc *p, struct proc_wait *w)
{
    struct supervisor *s = p->sup;
    enum verdict v = MET;
    const struct proc *who = NULL;
    char how[200];
    *w = (struct proc_wait){0};
    if (!p->wanted_up || !proc_state_is_down(p->state) || s->stopping || p->removing)
        return false;
    const struct dependency *d = unmet(s, p->prog, &v, &who);
    if (!d)
        return false;
    w->program = d->name;
    w->cond = d->cond;
    w->failed = v == FAILED;
    describe(who, v, d->cond, how, sizeof(how));
    snprintf(w->text, sizeof(w->text), "%s:%s%s (%s)", d->name, config_dep_cond_name(d->cond),
             w->failed ? " failed" : "", how);
    return true;
}

void supervisor_deps_held(struct proc *p)
{
    struct proc_wait w;
    if (p->cfg != &p->prog->procs[0]) /* one line for a program, not one per process */
        return;
    if (!proc_waiting(p, &w) || !w.failed) {
        p->said_held = false; /* a failure again is said again */
        return;
    }
    if (!p->said_held) /* a held process is looked at again on all news: said once */
        log_warn("[program:%s] not started: depends_on %s", p->prog->name, w.text);
    p->said_held = true;
}
