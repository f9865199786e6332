/* commands: what each tendctl command does (see commands.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "childio.h"
#include "commands.h"
#include "proto.h"
#include "health.h"
#include "json.h"
#include "log.h"
#include "nearest.h"
#include "strbuf.h"
#include "reload_request.h"
#include "rollout.h"
#include "strconv.h"
#include "version.h"
#include "why.h"

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

/* NAME: a process, a program, GROUP:* (or GROUP:, as supervisorctl writes it),
 * GROUP:PROCESS, or all. */
static bool matches(const struct proc *p, const char *name)
{
    const char *colon = strchr(name, ':');
    if (!strcmp(name, "all"))
        return true;
    if (colon && (!colon[1] || !strcmp(colon + 1, "*")))
        return in_group(p, name, (size_t)(colon - name));
    if (colon)
        return in_group(p, name, (size_t)(colon - name)) && !strcmp(proc_name(p), colon + 1);
    return !strcmp(proc_name(p), name) || !strcmp(proc_program(p)->name, name);
}

/* Says name is unknown, with the nearest name tend knows when one is close: a
 * process, a program, or for GROUP:... a group (what follows the colon is kept). */
static void no_such(struct request *r, struct supervisor *sup, const char *name)
{
    struct nearest n = {0};
    const char *colon = strchr(name, ':');
    char group[256];
    snprintf(group, sizeof(group), "%.*s", colon ? (int)(colon - name) : 0, name);
    for (int i = 0; i < supervisor_count(sup); i++) {
        struct proc *p = supervisor_proc(sup, i);
        if (proc_removing(p))
            continue;
        if (colon) {
            nearest_offer(&n, group, proc_program(p)->group);
            continue;
        }
        nearest_offer(&n, name, proc_name(p));
        nearest_offer(&n, name, proc_program(p)->name);
    }
    if (n.best)
        reply(r, 'e', "tend: no such process: %s (did you mean '%s%s'?)\n", name, n.best,
              colon ? colon : "");
    else
        reply(r, 'e', "tend: no such process: %s\n", name);
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
            no_such(r, sup, names[k]);
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

/* ---- status ---- */

static void add_json_string(struct strbuf *t, const char *s)
{
    char buf[1024];
    json_quote(buf, sizeof(buf), s, strlen(s));
    strbuf_printf(t, "%s", buf);
}

/* A program's live numprocs, counted once for a run of its processes (they are
 * next to each other in the table): status --json stays O(n), not O(n^2). */
struct numprocs_memo {
    const char *program;
    int n;
};

static int numprocs_of(const struct supervisor *sup, const char *program,
                       struct numprocs_memo *m)
{
    if (!m->program || strcmp(m->program, program))
        *m = (struct numprocs_memo){program, supervisor_numprocs(sup, program)};
    return m->n;
}

static void status_json(struct strbuf *t, struct proc *p, const struct supervisor *sup,
                        struct numprocs_memo *m)
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
    strbuf_printf(t, ",\"ready\":%s,\"numprocs\":%d,\"config\":\"%s\",\"error\":",
                  proc_state(p) == PROC_RUNNING ? "true" : "false",
                  numprocs_of(sup, proc_program(p)->name, m),
                  proc_config_old(p) ? "old" : "current");
    add_json_string(t, proc_error(p));
    char h[32];
    const char *health = proc_health(p, h, sizeof(h));
    strbuf_printf(t, ",\"health\":");
    if (*health)
        add_json_string(t, health);
    else
        strbuf_printf(t, "null");
    struct proc_wait w;
    strbuf_printf(t, ",\"waiting\":");
    if (proc_waiting(p, &w)) {
        strbuf_printf(t, "{\"program\":");
        add_json_string(t, w.program);
        strbuf_printf(t, ",\"condition\":\"%s\",\"failed\":%s,\"text\":",
                      config_dep_cond_name(w.cond), w.failed ? "true" : "false");
        add_json_string(t, w.text);
        strbuf_printf(t, "}");
    } else {
        strbuf_printf(t, "null");
    }
    lastexit_json(t, proc_last_exit(p));
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
    strconv_exit_text(proc_last_status(p), ex, sizeof(ex));
    strbuf_printf(t, "%-*s  %-8s  %-7s  %-7s  %-5s  %8d  %-9s", width, proc_name(p),
        proc_state_name(proc_state(p)), pid, up, port, proc_restarts(p), ex);
    char h[32];
    const char *health = proc_health(p, h, sizeof(h));
    if (*health && proc_state(p) == PROC_RUNNING)
        strbuf_printf(t, "  health %s", health);
    if (*proc_error(p) && (proc_state(p) != PROC_RUNNING || proc_sick(p)))
        strbuf_printf(t, "  %s", proc_error(p));
    struct proc_wait w;
    if (proc_waiting(p, &w))
        strbuf_printf(t, "  waiting: %s", w.text);
    strbuf_printf(t, proc_config_old(p) ? "  (old config)\n" : "\n"); /* a reload not done */
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
        struct numprocs_memo m = {0};
        strbuf_printf(&t, "[");
        for (int i = 0; i < count; i++) {
            strbuf_printf(&t, i ? "," : "");
            status_json(&t, procs[i], e->sup, &m);
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

/* How each named process last ended, for a person (see why.h). */
static void cmd_why(struct request *r)
{
    struct timespec now;
    int count;
    if (r->argc < 2)
        return reply(r, 'e', "usage: tendctl why NAME...\n"), reply_end(r, PROTO_USAGE);
    struct proc **procs = targets(r, r->argv + 1, r->argc - 1, &count);
    if (!procs)
        return;
    struct strbuf t = {0};
    clock_gettime(CLOCK_REALTIME, &now);
    for (int i = 0; i < count; i++) {
        strbuf_printf(&t, i ? "\n" : "");
        why_text(&t, procs[i], (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
    }
    bool failed = t.failed;
    if (failed)
        reply(r, 'e', "tend: out of memory\n");
    else
        reply_data(r, 'o', t.p ? t.p : "", t.len);
    strbuf_free(&t);
    free(procs);
    reply_end(r, failed ? PROTO_FAILED : PROTO_OK);
}

/* ---- commands that wait: start, stop, restart, scale (through the rollout) ---- */

/* A request's rollout, and what it says of each process. */
struct acting {
    struct rollout *ro;
    struct request *r;
    const char *verb; /* "started", "stopped", "restarted", "removed" */
    bool rolling;
    int failed;
};

static void say_step(void *ctx, const char *name, enum rollout_act act, enum rollout_outcome o,
                     const struct proc *p)
{
    struct acting *a = ctx;
    struct request *r = a->r;
    bool up = act == ROLLOUT_START || act == ROLLOUT_AWAIT || act == ROLLOUT_RESTART;
    switch (o) {
    case ROLLOUT_DONE:
        if (a->rolling || a->failed == 0 || !up)
            reply(r, 'o', "%s: %s\n", name, a->verb);
        return;
    case ROLLOUT_ALREADY:
        return reply(r, 'o', "%s: already running\n", name);
    case ROLLOUT_SKIPPED:
        if (a->rolling)
            return reply(r, 'o', "%s: stopped or removed meanwhile: left as it is\n", name);
        reply(r, 'e', "%s: was stopped before it was ready\n", name);
        break;
    case ROLLOUT_OVERRULED:
        reply(r, 'e', "%s: wanted up again by another command: not %s\n", name, a->verb);
        break;
    case ROLLOUT_FAILED:
        if (a->rolling)
            reply(r, 'e', "%s: not ready after the restart (%s%s%s): rolling restart stopped\n",
                  name, proc_state_name(proc_state(p)), *proc_error(p) ? ": " : "",
                  proc_error(p));
        else
            reply(r, 'e', "%s: %s: %s\n", name, proc_state_name(proc_state(p)), proc_error(p));
        break;
    }
    a->failed++;
}

static void say_drain_failed(void *ctx, int err)
{
    struct acting *a = ctx;
    (void)err;
    if (!a->rolling)
        reply(a->r, 'e', "nginx: the reload without them failed; going on\n");
}

static void acting_free(struct acting *a)
{
    a->r->pending.state = NULL;
    rollout_free(a->ro);
    free(a);
}

static void acted(void *ctx, bool ok, int left)
{
    struct acting *a = ctx;
    struct request *r = a->r;
    bool failed = !ok || a->failed;
    (void)left;
    acting_free(a);
    reply_end(r, failed ? PROTO_FAILED : PROTO_OK);
}

static const struct rollout_hooks acting_hooks = {say_step, say_drain_failed, acted};

static void acting_progress(struct request *r)
{
    struct acting *a = r->pending.state;
    rollout_progress(a->ro);
}

/* The client left or the deadline passed: the processes go on as they are, and
 * nginx stops holding them out. */
static void acting_cancel(struct request *r)
{
    if (r->pending.state)
        acting_free(r->pending.state);
}

static void say_still(void *ctx, const char *name)
{
    struct acting *a = ctx;
    struct proc *p = supervisor_find(cmds(a->r)->sup, name);
    reply(a->r, 'e', "%s: still %s: gave up waiting (it goes on)\n", name,
          p ? proc_state_name(proc_state(p)) : "leaving");
}

static void acting_expired(struct request *r)
{
    struct acting *a = r->pending.state;
    rollout_each_open(a->ro, say_still, a);
}

/* Does act to procs, width at a time, and answers r as each gets there. The bound
 * is the longest of theirs, or their sum one at a time. */
static void act_on(struct request *r, struct proc **procs, int n, enum rollout_act act,
                   int width, const char *verb)
{
    const struct commands *e = cmds(r);
    struct acting *a = calloc(1, sizeof(*a));
    uint64_t bound = 0;
    if (a)
        *a = (struct acting){.r = r, .verb = verb, .rolling = width == 1};
    if (a && !(a->ro = rollout_new(e->sup, e->nginx, width, &acting_hooks, a)))
        a = (free(a), NULL);
    for (int i = 0; a && i < n; i++) {
        uint64_t b = rollout_bound(procs[i]);
        bound = width == 1 ? bound + b : b > bound ? b : bound;
        if (rollout_add(a->ro, procs[i], act) < 0) {
            rollout_free(a->ro);
            a = (free(a), NULL);
        }
    }
    free(procs);
    if (!a)
        return reply_end(r, PROTO_FAILED);
    request_wait(r, (struct pending){acting_progress, acting_cancel, acting_expired, a, bound});
    rollout_start(a->ro); /* may end r: the last thing done here */
}

static void cmd_start(struct request *r)
{
    int count;
    if (r->argc < 2)
        return reply(r, 'e', "usage: tendctl start NAME...\n"), reply_end(r, PROTO_USAGE);
    struct proc **procs = targets(r, r->argv + 1, r->argc - 1, &count);
    if (procs)
        act_on(r, procs, count, ROLLOUT_START, ROLLOUT_ALL, "started");
}

static void cmd_stop(struct request *r)
{
    int count;
    if (r->argc < 2)
        return reply(r, 'e', "usage: tendctl stop NAME...\n"), reply_end(r, PROTO_USAGE);
    struct proc **procs = targets(r, r->argv + 1, r->argc - 1, &count);
    if (procs)
        act_on(r, procs, count, ROLLOUT_STOP, ROLLOUT_ALL, "stopped");
}

static void cmd_restart(struct request *r)
{
    int count;
    bool rolling = r->argc >= 2 && !strcmp(r->argv[1], "--rolling");
    if (rolling && r->argc != 3)
        return reply(r, 'e', "usage: tendctl restart --rolling PROGRAM\n"), reply_end(r, PROTO_USAGE);
    if (r->argc < 2)
        return reply(r, 'e', "usage: tendctl restart [--rolling] NAME...\n"), reply_end(r, PROTO_USAGE);
    struct proc **procs = targets(r, r->argv + 1 + rolling, r->argc - 1 - rolling, &count);
    if (procs)
        act_on(r, procs, count, ROLLOUT_RESTART, rolling ? 1 : ROLLOUT_ALL, "restarted");
}

/* ---- scale ---- */

static void scale_down(struct request *r, const char *program, int n)
{
    const struct commands *e = cmds(r);
    int max = supervisor_count(e->sup);
    struct proc **victims = calloc((size_t)max + 1, sizeof(*victims));
    if (!victims)
        return reply_end(r, PROTO_FAILED);
    int count = supervisor_scale_victims(e->sup, program, n, victims, max);
    act_on(r, victims, count, ROLLOUT_REMOVE, ROLLOUT_ALL, "removed");
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
    if (!added)
        return reply_end(r, PROTO_FAILED);
    for (int i = 0; i < supervisor_count(e->sup); i++) {
        struct proc *p = supervisor_proc(e->sup, i);
        if (!strcmp(proc_program(p)->name, program) && !proc_removing(p) &&
            proc_config(p)->num >= proc_program(p)->numprocs_start + before)
            added[count++] = p;
    }
    act_on(r, added, count, ROLLOUT_AWAIT, ROLLOUT_ALL, "started");
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

/* ---- signal, pid ---- */

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

/* A follower that reads slower than the process writes loses lines, never tend's
 * memory: past this much unread, lines are dropped, and counted in a line of their
 * own once it reads again (as tend's own stdout does). */
enum { TAIL_MAX_QUEUED = 256 * 1024 };

struct tail {
    struct childio_sink *sink; /* NULL: tend's own log */
    struct log_listener log;
    int stream;
    unsigned long dropped;
};

static void follow_line(struct request *r, const char *line, size_t len)
{
    struct tail *t = r->pending.state;
    if (reply_queued(r) > TAIL_MAX_QUEUED) {
        t->dropped++;
        return;
    }
    if (t->dropped)
        reply(r, 'e', "tend: %lu lines dropped: the reader was too slow\n", t->dropped);
    t->dropped = 0;
    reply(r, 'o', "%.*s\n", (int)len, line);
}

static void on_tail_line(void *ctx, enum childio_stream stream, const char *line, size_t len)
{
    struct request *r = ctx;
    struct tail *t = r->pending.state;
    if ((int)stream == t->stream)
        follow_line(r, line, len);
}

static void on_log_line(void *ctx, const char *line, size_t len)
{
    follow_line(ctx, line, len);
}

static void tail_cancel(struct request *r)
{
    struct tail *t = r->pending.state;
    if (!t)
        return;
    if (t->sink)
        childio_unlisten(t->sink, on_tail_line, r);
    else
        log_unlisten(&t->log);
    free(t);
    r->pending.state = NULL;
}

/* -f, -n N, and -N (supervisorctl's form; it counts bytes, tend counts lines).
 * Returns the index of the first word after them, or -1. */
static int tail_flags(struct request *r, bool *follow, long *lines)
{
    int i = 1;
    for (; i < r->argc && r->argv[i][0] == '-'; i++) {
        const char *a = r->argv[i];
        if (!strcmp(a, "-f"))
            *follow = true;
        else if (!strcmp(a, "-n") && i + 1 < r->argc &&
                 strconv_long(r->argv[i + 1], 0, INT_MAX, lines) == 0)
            i++;
        else if (a[1] < '0' || a[1] > '9' || strconv_long(a + 1, 0, INT_MAX, lines) < 0)
            return -1;
    }
    return i;
}

static int tail_args(struct request *r, bool *follow, long *lines, char **name, int *stream)
{
    int i = tail_flags(r, follow, lines);
    if (i < 0 || i >= r->argc || r->argc - i > 2)
        return -1;
    *name = r->argv[i];
    if (r->argc - i == 2 && strcmp(r->argv[i + 1], "stdout") && strcmp(r->argv[i + 1], "stderr"))
        return -1;
    *stream = r->argc - i == 2 && !strcmp(r->argv[i + 1], "stderr");
    return 0;
}

/* Follows until the client leaves; t is set up to listen, or NULL (out of memory). */
static void keep_following(struct request *r, struct tail *t)
{
    if (!t)
        return reply_end(r, PROTO_FAILED);
    request_wait(r, (struct pending){NULL, tail_cancel, NULL, t, 0});
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
    keep_following(r, t);
}

/* tend's own log lines (supervisorctl's maintail), from the ring log.c keeps. */
static void cmd_log(struct request *r)
{
    bool follow = false;
    long lines = 10;
    if (tail_flags(r, &follow, &lines) != r->argc)
        return reply(r, 'e', "usage: tendctl log [-f] [-n N]\n"), reply_end(r, PROTO_USAGE);
    char *buf = malloc(LOG_KEPT);
    size_t n = buf ? log_tail((int)lines, buf, LOG_KEPT) : 0;
    reply_data(r, 'o', buf, n);
    free(buf);
    if (!follow)
        return reply_end(r, PROTO_OK);
    struct tail *t = calloc(1, sizeof(*t));
    if (t) {
        t->log = (struct log_listener){.fn = on_log_line, .ctx = r};
        log_listen(&t->log);
    }
    keep_following(r, t);
}

/* Empties what tail shows of each process (supervisorctl's clear); log files stay
 * as they are: tend rotates them, and someone may be reading them. */
static void cmd_clear(struct request *r)
{
    int count;
    if (r->argc < 2)
        return reply(r, 'e', "usage: tendctl clear NAME...\n"), reply_end(r, PROTO_USAGE);
    struct proc **procs = targets(r, r->argv + 1, r->argc - 1, &count);
    if (!procs)
        return;
    for (int i = 0; i < count; i++) {
        if (proc_sink(procs[i]))
            childio_clear(proc_sink(procs[i]));
        reply(r, 'o', "%s: cleared\n", proc_name(procs[i]));
    }
    free(procs);
    reply_end(r, PROTO_OK);
}

/* ---- reload, nginx, shutdown, version ---- */

static void cmd_reload(struct request *r)
{
    reload_request_run(r->ctx, r);
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

static void cmd_health(struct request *r)
{
    health_run(cmds(r)->sup, r);
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
        {"version", cmd_version}, {"log", cmd_log},       {"clear", cmd_clear},
        {"why", cmd_why},
    };
    struct nearest n = {0};
    for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (!strcmp(r->argv[0], table[i].name))
            return table[i].run(r);
    for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        nearest_offer(&n, r->argv[0], table[i].name);
    if (n.best)
        reply(r, 'e', "tend: unknown command '%s' (did you mean '%s'?)\n", r->argv[0], n.best);
    else
        reply(r, 'e', "tend: unknown command '%s' (see tendctl --help)\n", r->argv[0]);
    reply_end(r, PROTO_USAGE);
}
