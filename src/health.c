/* health: tendctl health (see health.h). */
#include "health.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "proto.h"
#include "strconv.h"

enum { MAX_MIN_READY = 32, MAX_PROCS = 100000 };

/* --min-ready PROGRAM=N or PROGRAM=P%: that many of its processes RUNNING is enough. */
struct min_ready {
    const char *program;
    long n;
    bool percent;
};

struct health_args {
    bool live;
    struct min_ready min[MAX_MIN_READY];
    int nmin;
};

/* Fills a from r's arguments; replies and returns -1 on a bad one. */
static int health_args(struct supervisor *sup, struct request *r, struct health_args *a)
{
    const struct config *c = supervisor_config(sup);
    for (int i = 1; i < r->argc; i++) {
        char *v = r->argv[i];
        if (!strcmp(v, "--live")) {
            a->live = true;
            continue;
        }
        if (!strncmp(v, "--min-ready=", 12))
            v += 12;
        else if (!strcmp(v, "--min-ready") && i + 1 < r->argc)
            v = r->argv[++i];
        else
            v = NULL;
        char *eq = v ? strrchr(v, '=') : NULL, *pct = eq ? strchr(eq, '%') : NULL;
        struct min_ready *m = &a->min[a->nmin];
        if (pct && pct[1] == '\0')
            *pct = '\0';
        if (!eq || a->nmin == MAX_MIN_READY || strconv_long(eq + 1, 0, pct ? 100 : MAX_PROCS, &m->n) < 0) {
            reply(r, 'e', "usage: tendctl health [--live] [--min-ready PROGRAM=N|PROGRAM=P%%]...\n");
            return reply_end(r, PROTO_USAGE), -1;
        }
        *eq = '\0';
        if (!config_program(c, v)) {
            reply(r, 'e', "tend: no such program: %s\n", v);
            return reply_end(r, PROTO_NO_SUCH), -1;
        }
        m->program = v;
        m->percent = pct != NULL;
        a->nmin++;
    }
    return 0;
}

static const struct min_ready *min_ready_of(const struct health_args *a, const char *program)
{
    for (int i = 0; i < a->nmin; i++)
        if (!strcmp(a->min[i].program, program))
            return &a->min[i];
    return NULL;
}

/* What tendctl(1) promises: an autostart process is healthy when RUNNING, when
 * stopped on purpose (tendctl stop), or when it is done: it exited with one of its
 * exitcodes and is not to be restarted. Killed, or exited with another code and not
 * to be restarted (autorestart = false), it has failed, as FATAL has. */
static bool proc_healthy(const struct proc *p)
{
    enum proc_state st = proc_state(p);
    if (proc_sick(p) && proc_program(p)->critical) /* failing its health checks */
        return false;
    if (!proc_program(p)->autostart || proc_removing(p) || st == PROC_RUNNING)
        return true;
    if (proc_wanted_up(p))
        return false;
    if (proc_put_down(p)) /* whatever it died of meanwhile: it was to stop */
        return st == PROC_STOPPED || st == PROC_EXITED;
    return st == PROC_STOPPED || (st == PROC_EXITED && proc_exit_expected(p));
}

/* Replies with p's state and last exit: the reason it counts against health. */
static void say_unhealthy(struct request *r, const struct proc *p)
{
    char ex[32];
    struct proc_wait w;
    strconv_exit_text(proc_last_status(p), ex, sizeof(ex));
    if (proc_waiting(p, &w))
        reply(r, 'o', "%s: %s: waiting: %s\n", proc_name(p), proc_state_name(proc_state(p)),
              w.text);
    else if (proc_state(p) == PROC_EXITED)
        reply(r, 'o', "%s: EXITED (%s)\n", proc_name(p), ex);
    else if (*proc_error(p))
        reply(r, 'o', "%s: %s: %s\n", proc_name(p), proc_state_name(proc_state(p)), proc_error(p));
    else
        reply(r, 'o', "%s: %s\n", proc_name(p), proc_state_name(proc_state(p)));
}

/* Each --min-ready program: enough of its processes RUNNING (P% rounded up). */
static int check_min_ready(struct supervisor *sup, struct request *r,
                           const struct health_args *a)
{
    int bad = 0;
    for (int k = 0; k < a->nmin; k++) {
        const struct min_ready *m = &a->min[k];
        int total = supervisor_numprocs(sup, m->program), up = 0;
        long want = m->percent ? (m->n * total + 99) / 100 : m->n;
        for (int i = 0; i < supervisor_count(sup); i++) {
            struct proc *p = supervisor_proc(sup, i);
            up += !proc_removing(p) && !strcmp(proc_program(p)->name, m->program) &&
                  proc_state(p) == PROC_RUNNING && !proc_sick(p);
        }
        if (up < want) {
            reply(r, 'o', "%s: %d of %d processes RUNNING, at least %ld wanted\n", m->program,
                  up, total, want);
            bad++;
        }
    }
    return bad;
}

/* --live: tend answers (this reply), and nginx, when there is one, is RUNNING. */
static int check_live(struct supervisor *sup, struct request *r)
{
    const struct config *c = supervisor_config(sup);
    int procs = 0, up = 0;
    if (!c->nginx)
        return 0;
    for (int pass = 0; pass < 2 && up == 0; pass++) /* the second names what is down */
        for (int i = 0; i < supervisor_count(sup); i++) {
            struct proc *p = supervisor_proc(sup, i);
            if (proc_removing(p) || strcmp(proc_program(p)->name, c->nginx->program))
                continue;
            procs += pass == 0;
            up += proc_state(p) == PROC_RUNNING;
            if (pass == 1)
                say_unhealthy(r, p);
        }
    if (procs == 0)
        reply(r, 'o', "%s: no process\n", c->nginx->program);
    return up == 0;
}

void health_run(struct supervisor *sup, struct request *r)
{
    struct health_args a = {0};
    int bad = 0;
    if (health_args(sup, r, &a) < 0)
        return;
    if (a.live) {
        bad = check_live(sup, r);
    } else {
        bad = check_min_ready(sup, r, &a);
        for (int i = 0; i < supervisor_count(sup); i++) {
            struct proc *p = supervisor_proc(sup, i);
            if (min_ready_of(&a, proc_program(p)->name) || proc_healthy(p))
                continue;
            say_unhealthy(r, p);
            bad++;
        }
    }
    if (!bad)
        reply(r, 'o', "ok\n");
    reply_end(r, bad ? PROTO_NOT_READY : PROTO_OK);
}
