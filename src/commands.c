/* commands: what each tendctl command does (see commands.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childio.h"
#include "commands.h"
#include "proto.h"
#include "json.h"
#include "strbuf.h"
#include "rollout.h"
#include "strconv.h"
#include "version.h"

enum { MAX_TARGETS = 100000 };

static const struct commands *cmds(const struct request *r)
{
    return r->ctx;
}

/* ---- naming processes ---- */

static bool in_group(const struct proc *p, const char *group, size_t len)
{
    const char *g = proc_program(p)->group;
    return strlen(g) == len && !strncmp(g, group, len);
}

/* NAME: a process, a program, GROUP:* , GROUP:PROCESS, or all. */
static bool matches(const struct proc *p, const char *name)
{
    const char *colon = strchr(name, ':');
    if (!strcmp(name, "all"))
        return true;
    if (colon && !strcmp(colon + 1, "*"))
        return in_group(p, name, (size_t)(colon - name));
    if (colon)
        return in_group(p, name, (size_t)(colon - name)) && !strcmp(proc_name(p), colon + 1);
    return !strcmp(proc_name(p), name) || !strcmp(proc_program(p)->name, name);
}

/* Every process the names cover, in start order; on an unknown name, replies
 * (exit 4) and returns -1. */
static int resolve(struct request *r, struct supervisor *sup, char **names, int n,
                   struct proc **out, int max)
{
    int count = 0;
    for (int k = 0; k < n; k++) {
        bool found = false;
        for (int i = 0; i < supervisor_count(sup); i++) {
            struct proc *p = supervisor_proc(sup, i);
            if (proc_removing(p) || !matches(p, names[k]))
                continue;
            found = true;
            bool dup = false;
            for (int j = 0; j < count; j++)
                dup |= out[j] == p;
            if (!dup && count < max)
                out[count++] = p;
        }
        if (!found) {
            reply(r, 'e', "tend: no such process: %s\n", names[k]);
            reply_end(r, PROTO_NO_SUCH);
            return -1;
        }
    }
    return count;
}

static struct proc **targets(struct request *r, char **names, int n, int *count)
{
    struct supervisor *sup = cmds(r)->sup;
    struct proc **out = calloc((size_t)supervisor_count(sup) + 1, sizeof(*out));
    if (!out) {
        reply_end(r, PROTO_FAILED);
        return NULL;
    }
    *count = resolve(r, sup, names, n, out, supervisor_count(sup));
    if (*count < 0) {
        free(out);
        return NULL;
    }
    return out;
}

static void exit_text(int st, char *buf, size_t len)
{
    const char *sig = st >= 0 && WIFSIGNALED(st) ? strconv_signal_name(WTERMSIG(st)) : NULL;
    if (st < 0)
        snprintf(buf, len, "-");
    else if (sig)
        snprintf(buf, len, "SIG%s", sig);
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "signal %d", WTERMSIG(st));
    else
        snprintf(buf, len, "%d", WEXITSTATUS(st));
}

/* ---- status ---- */

static void add_json_string(struct strbuf *t, const char *s)
{
    char buf[1024];
    json_quote(buf, sizeof(buf), s, strlen(s));
    strbuf_printf(t, "%s", buf);
}

static void status_json(struct strbuf *t, struct proc *p, const struct supervisor *sup)
{
    int st = proc_last_status(p);
    strbuf_printf(t, "{\"name\":");
    add_json_string(t, proc_name(p));
    strbuf_printf(t, ",\"program\":");
    add_json_string(t, proc_program(p)->name);
    strbuf_printf(t, ",\"group\":");
    add_json_string(t, proc_program(p)->group);
    strbuf_printf(t, ",\"state\":\"%s\",\"pid\":", proc_state_name(proc_state(p)));
    strbuf_printf(t, proc_pid(p) > 0 ? "%d" : "null", (int)proc_pid(p));
    strbuf_printf(t, ",\"port\":");
    strbuf_printf(t, proc_port(p) ? "%d" : "null", proc_port(p));
    strbuf_printf(t, ",\"uptime\":%llu,\"restarts\":%d,\"exit_status\":",
                  (unsigned long long)(proc_uptime_ms(p) / 1000), proc_restarts(p));
    strbuf_printf(t, st >= 0 ? "%d" : "null", st >= 0 ? strconv_exit_code(st) : 0);
    strbuf_printf(t, ",\"ready\":%s,\"numprocs\":%d,\"error\":",
                  proc_state(p) == PROC_RUNNING ? "true" : "false",
                  supervisor_numprocs(sup, proc_program(p)->name));
    add_json_string(t, proc_error(p));
    strbuf_printf(t, "}");
}

static void status_line(struct strbuf *t, struct proc *p, int width)
{
    char up[32] = "-", port[8] = "-", pid[16] = "-", ex[32];
    if (proc_pid(p) > 0) {
        strconv_format_duration(proc_uptime_ms(p), up, sizeof(up));
        snprintf(pid, sizeof(pid), "%d", (int)proc_pid(p));
    }
    if (proc_port(p))
        snprintf(port, sizeof(port), "%d", proc_port(p));
    exit_text(proc_last_status(p), ex, sizeof(ex));
    strbuf_printf(t, "%-*s  %-8s  %-7s  %-7s  %-5s  %8d  %-9s", width, proc_name(p),
        proc_state_name(proc_state(p)), pid, up, port, proc_restarts(p), ex);
    if (*proc_error(p) && proc_state(p) != PROC_RUNNING)
        strbuf_printf(t, "  %s", proc_error(p));
    strbuf_printf(t, "\n");
}

static void cmd_status(struct request *r)
{
    const struct commands *e = cmds(r);
    bool json = false;
    char *names[PROTO_MAX_ARGS];
    int n = 0, count, width = 4, ready = 0;
    for (int i = 1; i < r->argc; i++)
        if (!strcmp(r->argv[i], "--json"))
            json = true;
        else
            names[n++] = r->argv[i];
    if (n == 0)
        names[n++] = "all";
    struct proc **procs = targets(r, names, n, &count);
    if (!procs)
        return;
    struct strbuf t = {0};
    for (int i = 0; i < count; i++) {
        int w = (int)strlen(proc_name(procs[i]));
        width = w > width ? w : width;
        ready += proc_state(procs[i]) == PROC_RUNNING;
    }
    if (json) {
        strbuf_printf(&t, "[");
        for (int i = 0; i < count; i++) {
            strbuf_printf(&t, i ? "," : "");
            status_json(&t, procs[i], e->sup);
        }
        strbuf_printf(&t, "]\n");
    } else {
        strbuf_printf(&t, "%-*s  %-8s  %-7s  %-7s  %-5s  %8s  %s\n", width, "NAME", "STATE", "PID",
                      "UPTIME", "PORT", "RESTARTS", "LAST EXIT");
        for (int i = 0; i < count; i++)
            status_line(&t, procs[i], width);
        if (*nginx_error(e->nginx))
            strbuf_printf(&t, "nginx: %s\n", nginx_error(e->nginx));
    }
    if (t.failed)
        reply(r, 'e', "tend: out of memory\n");
    else
        reply_data(r, 'o', t.p ? t.p : "", t.len);
    strbuf_free(&t);
    free(procs);
    reply_end(r, ready == count ? PROTO_OK : PROTO_NOT_READY);
}

/* ---- waiting for processes ---- */

enum goal { GOAL_UP, GOAL_DOWN, GOAL_GONE };

struct wait {
    enum goal goal;
    int n, failed;
    char **names;
    int *since; /* proc_attempts() when asked: a restart must start it anew */
    bool *done;
    bool draining;
    const char *verb;
};

static void wait_free(struct wait *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->names[i]);
    free(w->names);
    free(w->since);
    free(w->done);
    free(w);
}

static struct wait *wait_new(struct proc **procs, int n, enum goal goal, const char *verb)
{
    struct wait *w = calloc(1, sizeof(*w));
    if (!w || !(w->names = calloc((size_t)n + 1, sizeof(char *))) ||
        !(w->since = calloc((size_t)n + 1, sizeof(int))) ||
        !(w->done = calloc((size_t)n + 1, sizeof(bool)))) {
        if (w)
            free(w->names), free(w->since), free(w->done), free(w);
        return NULL;
    }
    w->goal = goal;
    w->verb = verb;
    for (int i = 0; i < n; i++) {
        w->names[w->n] = strdup(proc_name(procs[i]));
        w->since[w->n++] = proc_attempts(procs[i]);
    }
    return w;
}

/* How long a command may wait on p, all told: its drain out of nginx, its stop
 * (stopwaitsecs, then SIGKILL), and its start (startsecs, or ready_timeout, or a
 * minute for a probe without one). Past it, the request ends and says why. */
static uint64_t wait_bound(const struct proc *p)
{
    enum { DRAIN_MS = 35000, KILL_MS = 5000, PROBE_MS = 60000 };
    const struct program_cfg *g = proc_program(p);
    uint64_t start = g->ready == READY_STARTSECS ? g->startsecs_ms
                     : g->ready_timeout_ms      ? g->ready_timeout_ms
                                                : PROBE_MS;
    return DRAIN_MS + g->stopwait_ms + KILL_MS + start;
}

static uint64_t longest_bound(struct proc **procs, int n)
{
    uint64_t most = 0;
    for (int i = 0; i < n; i++)
        most = wait_bound(procs[i]) > most ? wait_bound(procs[i]) : most;
    return most;
}

/* Whether process i reached the goal (true), failed (reported), or not yet. */
static bool settled(struct request *r, struct wait *w, int i)
{
    struct proc *p = supervisor_find(cmds(r)->sup, w->names[i]);
    enum proc_state st = p ? proc_state(p) : PROC_STOPPED;
    /* a later command that wants it up wins: this one ends, and says so */
    bool overruled = p && proc_wanted_up(p) && (w->goal == GOAL_DOWN || !proc_removing(p));
    if (w->goal != GOAL_UP && overruled) {
        reply(r, 'e', "%s: wanted up again by another command: not %s\n", w->names[i], w->verb);
        w->failed++;
        return true;
    }
    if (w->goal == GOAL_GONE)
        return !p;
    if (w->goal == GOAL_DOWN)
        return !p || proc_state_is_down(st);
    if (st == PROC_RUNNING && proc_attempts(p) > w->since[i])
        return true;
    /* the start asked for failed: it gave up, waits to retry, or already retried */
    if (proc_attempts(p) > w->since[i] &&
        (st == PROC_FATAL || st == PROC_EXITED || st == PROC_BACKOFF ||
         proc_attempts(p) > w->since[i] + 1)) {
        reply(r, 'e', "%s: %s: %s\n", w->names[i], proc_state_name(st), proc_error(p));
        w->failed++;
        return true;
    }
    if (!p || (proc_state_is_down(st) && !proc_wanted_up(p))) {
        reply(r, 'e', "%s: was stopped before it was ready\n", w->names[i]);
        w->failed++;
        return true;
    }
    return false;
}

static void wait_progress(struct request *r)
{
    struct wait *w = r->pending.state;
    if (w->draining)
        return;
    int open = 0;
    for (int i = 0; i < w->n; i++) {
        if (!w->done[i] && settled(r, w, i)) {
            w->done[i] = true;
            if (w->failed == 0 || w->goal != GOAL_UP)
                reply(r, 'o', "%s: %s\n", w->names[i], w->verb);
        }
        open += !w->done[i];
    }
    if (open)
        return;
    nginx_release(cmds(r)->nginx, r);
    int failed = w->failed;
    wait_free(w);
    r->pending.state = NULL;
    reply_end(r, failed ? PROTO_FAILED : PROTO_OK);
}

/* The client left or the deadline passed: the processes go on as they are, and
 * nginx stops holding them out. */
static void wait_cancel(struct request *r)
{
    struct wait *w = r->pending.state;
    nginx_release(cmds(r)->nginx, r);
    if (!w)
        return;
    wait_free(w);
    r->pending.state = NULL;
}

static void wait_expired(struct request *r)
{
    struct wait *w = r->pending.state;
    struct supervisor *sup = cmds(r)->sup;
    for (int i = 0; i < w->n; i++) {
        struct proc *p = supervisor_find(sup, w->names[i]);
        if (!w->done[i])
            reply(r, 'e', "%s: still %s: gave up waiting (it goes on)\n", w->names[i],
                  p ? proc_state_name(proc_state(p)) : "leaving");
    }
}

static void wait_on(struct request *r, struct wait *w, uint64_t bound)
{
    request_wait(r, (struct pending){wait_progress, wait_cancel, wait_expired, w, bound});
}

static void wait_for(struct request *r, struct wait *w, uint64_t bound)
{
    wait_on(r, w, bound);
    wait_progress(r);
}

/* ---- start, stop, restart ---- */

/* Workers in nginx's upstream, while nginx runs and is not being stopped too. */
static int drainable(struct request *r, struct proc **procs, int n, char **out)
{
    const struct commands *e = cmds(r);
    const struct config *c = supervisor_config(e->sup);
    int count = 0;
    for (int i = 0; i < n; i++)
        if (c->nginx && !strcmp(proc_program(procs[i])->name, c->nginx->program))
            return 0;
    for (int i = 0; i < n; i++)
        if (nginx_routes_to(e->nginx, procs[i]))
            out[count++] = (char *)proc_name(procs[i]);
    return count;
}

typedef void act_fn(struct supervisor *s, struct proc *p);

/* Runs fn on every named process (once nginx no longer routes to them). */
static void act_now(struct request *r, act_fn *fn)
{
    struct wait *w = r->pending.state;
    struct supervisor *sup = cmds(r)->sup;
    w->draining = false;
    for (int i = 0; i < w->n; i++) {
        struct proc *p = supervisor_find(sup, w->names[i]);
        if (p)
            fn(sup, p);
    }
    wait_progress(r);
}

static act_fn *pending_act(struct request *r)
{
    return !strcmp(r->argv[0], "stop") ? supervisor_want_down : supervisor_restart;
}

static void on_drained(void *ctx, int err)
{
    struct request *r = ctx;
    if (err < 0 && err != -ECANCELED)
        reply(r, 'e', "nginx: the reload without them failed; going on\n");
    act_now(r, pending_act(r));
}

static void stop_or_restart(struct request *r, enum goal goal, const char *verb)
{
    int count;
    struct proc **procs = targets(r, r->argv + 1, r->argc - 1, &count);
    if (!procs)
        return;
    struct wait *w = wait_new(procs, count, goal, verb);
    char **drain = calloc((size_t)count + 1, sizeof(char *));
    int nd = w && drain ? drainable(r, procs, count, drain) : 0;
    uint64_t bound = longest_bound(procs, count);
    free(procs);
    if (!w || !drain) {
        free(drain);
        if (w)
            wait_free(w);
        return reply_end(r, PROTO_FAILED);
    }
    w->draining = nd > 0 && nginx_drain(cmds(r)->nginx, (const char *const *)drain,
                                        nd, on_drained, r) == 0;
    free(drain);
    wait_on(r, w, bound);
    if (!w->draining)
        act_now(r, pending_act(r));
}

static void cmd_start(struct request *r)
{
    const struct commands *e = cmds(r);
    int count;
    if (r->argc < 2)
        return reply(r, 'e', "usage: tendctl start NAME...\n"), reply_end(r, PROTO_USAGE);
    struct proc **procs = targets(r, r->argv + 1, r->argc - 1, &count);
    if (!procs)
        return;
    struct wait *w = wait_new(procs, count, GOAL_UP, "started");
    for (int i = 0; w && i < count; i++) {
        if (proc_state(procs[i]) == PROC_RUNNING) { /* nothing to do: say so, succeed */
            w->done[i] = true;
            reply(r, 'o', "%s: already running\n", proc_name(procs[i]));
            continue;
        }
        if (proc_state(procs[i]) == PROC_STARTING) /* the start under way is the one */
            w->since[i]--;
        supervisor_want_up(e->sup, procs[i]);
    }
    uint64_t bound = longest_bound(procs, count);
    free(procs);
    if (!w)
        return reply_end(r, PROTO_FAILED);
    wait_for(r, w, bound);
}

static void cmd_stop(struct request *r)
{
    if (r->argc < 2)
        return reply(r, 'e', "usage: tendctl stop NAME...\n"), reply_end(r, PROTO_USAGE);
    stop_or_restart(r, GOAL_DOWN, "stopped");
}

/* ---- restart --rolling ---- */

static void rolling_step(void *ctx, const char *name, enum rollout_outcome o, const struct proc *p)
{
    struct request *r = ctx;
    if (o == ROLLOUT_RESTARTED)
        reply(r, 'o', "%s: restarted\n", name);
    else if (o == ROLLOUT_SKIPPED)
        reply(r, 'o', "%s: stopped or removed meanwhile: left as it is\n", name);
    else if (o == ROLLOUT_FAILED)
        reply(r, 'e', "%s: not ready after the restart (%s%s%s): rolling restart stopped\n", name,
              proc_state_name(proc_state(p)), *proc_error(p) ? ": " : "", proc_error(p));
}

static void rolling_done(void *ctx, bool ok, int left)
{
    struct request *r = ctx;
    (void)left;
    rollout_free(r->pending.state);
    r->pending.state = NULL;
    reply_end(r, ok ? PROTO_OK : PROTO_FAILED);
}

static const struct rollout_hooks rolling_hooks = {rolling_step, rolling_done};

static void rolling_progress(struct request *r)
{
    rollout_progress(r->pending.state);
}

static void rolling_cancel(struct request *r)
{
    rollout_free(r->pending.state);
    r->pending.state = NULL;
}

static void cmd_rolling(struct request *r)
{
    int count;
    if (r->argc != 3)
        return reply(r, 'e', "usage: tendctl restart --rolling PROGRAM\n"), reply_end(r, PROTO_USAGE);
    struct proc **procs = targets(r, r->argv + 2, 1, &count);
    if (!procs)
        return;
    const struct commands *e = cmds(r);
    struct rollout *ro = rollout_new(e->sup, e->nginx, &rolling_hooks, r);
    uint64_t bound = 0; /* one at a time: the sum of their bounds */
    for (int i = 0; ro && i < count; i++) {
        bound += wait_bound(procs[i]);
        if (rollout_add(ro, proc_name(procs[i]), false) < 0) {
            rollout_free(ro);
            ro = NULL;
        }
    }
    free(procs);
    if (!ro)
        return reply_end(r, PROTO_FAILED);
    request_wait(r, (struct pending){rolling_progress, rolling_cancel, NULL, ro, bound});
    rollout_start(ro); /* may end r: the last thing done here */
}

static void cmd_restart(struct request *r)
{
    if (r->argc >= 2 && !strcmp(r->argv[1], "--rolling"))
        return cmd_rolling(r);
    if (r->argc < 2)
        return reply(r, 'e', "usage: tendctl restart [--rolling] NAME...\n"), reply_end(r, PROTO_USAGE);
    stop_or_restart(r, GOAL_UP, "restarted");
}

/* ---- scale ---- */

static void scale_drained(void *ctx, int err)
{
    struct request *r = ctx;
    struct wait *w = r->pending.state;
    (void)err;
    if (!w)
        return;
    w->draining = false;
    struct supervisor *sup = cmds(r)->sup;
    for (int i = 0; i < w->n; i++) {
        struct proc *p = supervisor_find(sup, w->names[i]);
        if (p)
            supervisor_remove(sup, p);
    }
    wait_progress(r);
}

static void scale_down(struct request *r, const char *program, int n)
{
    const struct commands *e = cmds(r);
    int max = supervisor_count(e->sup), count;
    struct proc **victims = calloc((size_t)max + 1, sizeof(*victims));
    char **drain = calloc((size_t)max + 1, sizeof(char *));
    count = victims && drain ? supervisor_scale_victims(e->sup, program, n, victims, max) : 0;
    struct wait *w = victims ? wait_new(victims, count, GOAL_GONE, "removed") : NULL;
    int nd = w ? drainable(r, victims, count, drain) : 0;
    uint64_t bound = victims ? longest_bound(victims, count) : 0;
    free(victims);
    if (!w) {
        free(drain);
        return reply_end(r, PROTO_FAILED);
    }
    w->draining = nd > 0 && nginx_drain(e->nginx, (const char *const *)drain, nd,
                                        scale_drained, r) == 0;
    free(drain);
    wait_on(r, w, bound);
    if (!w->draining)
        scale_drained(r, 0);
}

static void scale_up(struct request *r, const char *program, int n)
{
    const struct commands *e = cmds(r);
    char err[512];
    int before = supervisor_numprocs(e->sup, program);
    if (supervisor_scale_up(e->sup, program, n, err, sizeof(err)) < 0) {
        reply(r, 'e', "%s\n", err);
        return reply_end(r, PROTO_FAILED);
    }
    struct proc **added = calloc((size_t)supervisor_count(e->sup) + 1, sizeof(*added));
    int count = 0;
    for (int i = 0; added && i < supervisor_count(e->sup); i++) {
        struct proc *p = supervisor_proc(e->sup, i);
        if (!strcmp(proc_program(p)->name, program) && !proc_removing(p) &&
            proc_config(p)->num >= proc_program(p)->numprocs_start + before)
            added[count++] = p;
    }
    struct wait *w = added ? wait_new(added, count, GOAL_UP, "started") : NULL;
    for (int i = 0; w && i < w->n; i++)
        w->since[i] = 0;
    uint64_t bound = added ? longest_bound(added, count) : 0;
    free(added);
    if (!w)
        return reply_end(r, PROTO_FAILED);
    wait_for(r, w, bound);
}

static void cmd_scale(struct request *r)
{
    const struct commands *e = cmds(r);
    char *eq = r->argc == 2 ? strchr(r->argv[1], '=') : NULL;
    long n;
    if (!eq || strconv_long(eq + 1, 0, MAX_TARGETS, &n) < 0)
        return reply(r, 'e', "usage: tendctl scale PROGRAM=N (N from 0 to 100000)\n"),
               reply_end(r, PROTO_USAGE);
    *eq = '\0';
    const char *program = r->argv[1];
    if (!config_program(supervisor_config(e->sup), program)) {
        reply(r, 'e', "tend: no such program: %s\n", program);
        return reply_end(r, PROTO_NO_SUCH);
    }
    int now = supervisor_numprocs(e->sup, program);
    reply(r, 'o', "%s: %d -> %ld processes\n", program, now, n);
    if (n > now)
        scale_up(r, program, (int)n);
    else if (n < now)
        scale_down(r, program, (int)n);
    else
        reply_end(r, PROTO_OK);
}

/* ---- signal, pid, health, tail ---- */

static void cmd_signal(struct request *r)
{
    int sig, count, failed = 0;
    if (r->argc < 3 || strconv_signal(r->argv[1], &sig) < 0)
        return reply(r, 'e', "usage: tendctl signal SIGNAL NAME...\n"), reply_end(r, PROTO_USAGE);
    struct proc **procs = targets(r, r->argv + 2, r->argc - 2, &count);
    if (!procs)
        return;
    for (int i = 0; i < count; i++) {
        pid_t pid = proc_pid(procs[i]);
        if (pid <= 0 || kill(pid, sig) < 0) {
            reply(r, 'e', "%s: %s\n", proc_name(procs[i]), pid <= 0 ? "not running" : strerror(errno));
            failed++;
        } else {
            reply(r, 'o', "%s: sent SIG%s\n", proc_name(procs[i]), strconv_signal_name(sig) ? strconv_signal_name(sig) : "?");
        }
    }
    free(procs);
    reply_end(r, failed ? PROTO_FAILED : PROTO_OK);
}

static void cmd_pid(struct request *r)
{
    int count;
    if (r->argc == 1) {
        reply(r, 'o', "%d\n", (int)getpid());
        return reply_end(r, PROTO_OK);
    }
    struct proc **procs = targets(r, r->argv + 1, r->argc - 1, &count);
    if (!procs)
        return;
    int down = 0;
    for (int i = 0; i < count; i++) {
        reply(r, 'o', "%d\n", (int)proc_pid(procs[i]));
        down += proc_pid(procs[i]) <= 0;
    }
    free(procs);
    reply_end(r, down ? PROTO_NOT_READY : PROTO_OK);
}

static void cmd_health(struct request *r)
{
    struct supervisor *sup = cmds(r)->sup;
    int bad = 0;
    for (int i = 0; i < supervisor_count(sup); i++) {
        struct proc *p = supervisor_proc(sup, i);
        enum proc_state st = proc_state(p);
        bool put_down = (st == PROC_STOPPED || st == PROC_EXITED) && !proc_wanted_up(p);
        if (!proc_program(p)->autostart || proc_removing(p) || st == PROC_RUNNING || put_down)
            continue; /* stopped with tendctl stop, or done: not a failure */
        reply(r, 'o', "%s: %s\n", proc_name(p), proc_state_name(proc_state(p)));
        bad++;
    }
    if (!bad)
        reply(r, 'o', "ok\n");
    reply_end(r, bad ? PROTO_NOT_READY : PROTO_OK);
}

/* A follower that reads slower than the process writes loses lines, never tend's
 * memory: past this much unread, lines are dropped, and counted in a line of their
 * own once it reads again (as tend's own stdout does). */
enum { TAIL_MAX_QUEUED = 256 * 1024 };

struct tail {
    struct childio_sink *sink;
    int stream;
    unsigned long dropped;
};

static void on_tail_line(void *ctx, enum childio_stream stream, const char *line, size_t len)
{
    struct request *r = ctx;
    struct tail *t = r->pending.state;
    if ((int)stream != t->stream)
        return;
    if (reply_queued(r) > TAIL_MAX_QUEUED) {
        t->dropped++;
        return;
    }
    if (t->dropped)
        reply(r, 'e', "tend: %lu lines dropped: the reader was too slow\n", t->dropped);
    t->dropped = 0;
    reply(r, 'o', "%.*s\n", (int)len, line);
}

static void tail_cancel(struct request *r)
{
    struct tail *t = r->pending.state;
    if (!t)
        return;
    childio_unlisten(t->sink, on_tail_line, r);
    free(t);
    r->pending.state = NULL;
}

static int tail_args(struct request *r, bool *follow, long *lines, char **name, int *stream)
{
    int i = 1;
    for (; i < r->argc && r->argv[i][0] == '-'; i++) {
        if (!strcmp(r->argv[i], "-f"))
            *follow = true;
        else if (!strcmp(r->argv[i], "-n") && i + 1 < r->argc &&
                 strconv_long(r->argv[i + 1], 0, INT_MAX, lines) == 0)
            i++;
        else
            return -1;
    }
    if (i >= r->argc || r->argc - i > 2)
        return -1;
    *name = r->argv[i];
    if (r->argc - i == 2 && strcmp(r->argv[i + 1], "stdout") && strcmp(r->argv[i + 1], "stderr"))
        return -1;
    *stream = r->argc - i == 2 && !strcmp(r->argv[i + 1], "stderr");
    return 0;
}

static void cmd_tail(struct request *r)
{
    bool follow = false;
    long lines = 10;
    char *name;
    int stream, count;
    if (tail_args(r, &follow, &lines, &name, &stream) < 0)
        return reply(r, 'e', "usage: tendctl tail [-f] [-n N] NAME [stdout|stderr]\n"),
               reply_end(r, PROTO_USAGE);
    struct proc **procs = targets(r, &name, 1, &count);
    if (!procs)
        return;
    struct proc *p = procs[0];
    free(procs);
    if (count != 1)
        return reply(r, 'e', "tend: tail needs one process: %s has %d\n", name, count),
               reply_end(r, PROTO_USAGE);
    struct childio_sink *sink = proc_sink(p);
    if (sink) {
        char *buf = malloc(CHILDIO_RING);
        size_t n = buf ? ring_tail(childio_ring(sink, (enum childio_stream)stream), (int)lines, buf, CHILDIO_RING) : 0;
        reply_data(r, 'o', buf, n);
        free(buf);
    }
    struct tail *t = follow && sink ? calloc(1, sizeof(*t)) : NULL;
    if (!t || childio_listen(sink, on_tail_line, r) < 0) {
        free(t);
        if (follow && !sink)
            reply(r, 'e', "%s has not run yet: nothing to follow\n", proc_name(p));
        return reply_end(r, follow && !sink ? PROTO_FAILED : PROTO_OK);
    }
    t->sink = sink;
    t->stream = stream;
    request_wait(r, (struct pending){NULL, tail_cancel, NULL, t, 0}); /* until the client leaves */
}

/* ---- reload, nginx, shutdown, version ---- */

static void cmd_reload(struct request *r)
{
    const struct commands *e = cmds(r);
    char msg[2048];
    int rc = e->hooks->reload(e->ctx, msg, sizeof(msg));
    reply(r, rc < 0 ? 'e' : 'o', "%s\n", msg);
    reply_end(r, rc < 0 ? PROTO_FAILED : PROTO_OK);
}

static void cmd_nginx(struct request *r)
{
    const struct commands *e = cmds(r);
    if (!supervisor_config(e->sup)->nginx) {
        reply(r, 'e', "tend: this config has no [nginx] section\n");
        return reply_end(r, PROTO_FAILED);
    }
    reply(r, 'o', "%s", nginx_text(e->nginx));
    if (*nginx_error(e->nginx))
        reply(r, 'e', "nginx: %s\n", nginx_error(e->nginx));
    reply_end(r, PROTO_OK);
}

static void cmd_shutdown(struct request *r)
{
    const struct commands *e = cmds(r);
    reply(r, 'o', "shutting down\n");
    reply_end(r, PROTO_OK);
    e->hooks->shutdown(e->ctx);
}

static void cmd_version(struct request *r)
{
    reply(r, 'o', "tend %s (protocol %s)\n", TEND_VERSION, PROTO_MAGIC);
    reply_end(r, PROTO_OK);
}

void commands_run(void *ctx, struct request *r)
{
    (void)ctx; /* r->ctx: the same */
    static const struct {
        const char *name;
        void (*run)(struct request *r);
    } table[] = {
        {"status", cmd_status},   {"start", cmd_start},   {"stop", cmd_stop},
        {"restart", cmd_restart}, {"signal", cmd_signal}, {"scale", cmd_scale},
        {"reload", cmd_reload},   {"tail", cmd_tail},     {"pid", cmd_pid},
        {"health", cmd_health},   {"nginx", cmd_nginx},   {"shutdown", cmd_shutdown},
        {"version", cmd_version},
    };
    for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!strcmp(r->argv[0], table[i].name))
            return table[i].run(r);
    reply(r, 'e', "tend: unknown command '%s' (see tendctl --help)\n", r->argv[0]);
    reply_end(r, PROTO_USAGE);
}
