/* supervisor_health: liveness after start-up. A RUNNING process with `health` is
 * checked every health_interval (from a random phase, so that a hundred programs
 * do not check in step), each check within health_timeout: tcp and http on the loop
 * (readiness's probe, one attempt), exec as a child of tend's like any other. After
 * health_failures in a row it is sick, as Kubernetes' liveness probe has it: the
 * news goes up, the drain engine takes it out of nginx, then supervisor_heal stops
 * it and its exit counts as a crash's. A `watchdog` (ready = notify) that passes
 * without WATCHDOG=1 makes it sick at once, as systemd's WatchdogSec. A program
 * without either costs nothing here: no allocation, no timer, no wake-up. */
#include "supervisor_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "readiness.h"
#include "strconv.h"

struct health {
    struct proc *p; /* NULL once let go: its handles are closing */
    uv_timer_t check, watchdog; /* the next check (or the running one's deadline) */
    int open;                   /* handles not yet closed */
    struct probe *probe;        /* a tcp or http check in flight */
    pid_t pid;                  /* an exec check running */
    int status_fd;              /* its exec-status pipe */
    uint64_t next_ms;           /* when the next check begins */
    int fails;                  /* failed checks in a row that counted */
    bool passed;                /* one passed since it became RUNNING */
    char why[160];              /* what the last failed check said */
};

static bool is_check(const void *value, const void *key)
{
    return ((const struct health *)value)->pid == *(const pid_t *)key;
}

static uint64_t pid_hash(pid_t pid)
{
    return index_hash_int((uint64_t)pid);
}

static void on_check_due(uv_timer_t *t);

/* The next check, one interval after the last one began (Kubernetes' period), so
 * that a process that stops answering is found within interval x failures plus a
 * timeout. The first comes at a random point of the first interval's second half:
 * programs started together do not check in step. The timer itself waits for the
 * next tick of a grid of interval / 16, counted from the loop's epoch: a hundred
 * programs with one interval then wake tend on at most 16 ticks of it, not a
 * hundred times, and no check is later than a tick. */
static void schedule(struct health *h, bool first)
{
    struct proc *p = h->p;
    uint64_t iv = p->prog->health.interval_ms, now = supervisor_now(p->sup);
    uint64_t tick = iv / 16 ? iv / 16 : 1, due;
    if (first)
        h->next_ms = now + iv / 2 + (iv / 2 ? supervisor_random(p->sup) % (iv / 2 + 1) : 0);
    else
        h->next_ms += iv;
    due = (h->next_ms + tick - 1) / tick * tick;
    uv_timer_start(&h->check, on_check_due, due > now ? due - now : 0, 0);
}

/* Ends the check in flight, if any: its result is not wanted any more. An exec
 * check is killed and reaped as an orphan. */
static void cancel(struct health *h)
{
    uv_timer_stop(&h->check);
    probe_stop(h->probe);
    h->probe = NULL;
    if (h->pid > 0) {
        kill(-h->pid, SIGKILL);
        index_del(&h->p->sup->checks, pid_hash(h->pid), h);
        h->pid = 0;
    }
    if (h->status_fd >= 0)
        close(h->status_fd);
    h->status_fd = -1;
}

static void set_error(struct proc *p, const char *text)
{
    free(p->error);
    p->error = strdup(text);
}

/* It failed: the news goes up, and whoever drains it asks supervisor_heal. */
static void fall_sick(struct proc *p, enum proc_cause cause, const char *why)
{
    struct health *h = p->health;
    if (p->sick)
        return;
    cancel(h);
    uv_timer_stop(&h->watchdog);
    p->sick = true;
    p->kill_cause = cause;
    set_error(p, why);
    log_warn("%s: unhealthy: %s: taking it out of the upstream, then restarting it",
             p->cfg->name, why);
    supervisor_tell(p);
}

/* Healthy now: dependents waiting for NAME:healthy are told (news: they are looked
 * at again once it is told), when there are any waiting at all. */
static void first_pass(struct proc *p)
{
    p->health_passed = true;
    supervisor_deps_changed(p->sup, p);
    if (p->sup->held.n)
        supervisor_tell(p);
}

static void result(struct health *h, bool ok, const char *why)
{
    struct proc *p = h->p;
    const struct program_cfg *g = p->prog;
    char text[256];
    if (ok) {
        if (h->fails)
            log_info("%s: health check passed again", p->cfg->name);
        h->fails = 0;
        h->passed = true;
        h->why[0] = '\0';
        if (!p->health_passed)
            first_pass(p);
        return schedule(h, false);
    }
    snprintf(h->why, sizeof(h->why), "%s", why);
    /* Docker's start period: failures before the first pass, this early, do not count */
    if (!h->passed && supervisor_now(p->sup) - p->started_ms < g->health.start_ms)
        return schedule(h, false);
    h->fails++;
    if (h->fails < g->health.failures) {
        log_warn("%s: health check failed (%d of %d): %s", p->cfg->name, h->fails,
                 g->health.failures, why);
        return schedule(h, false);
    }
    snprintf(text, sizeof(text), "health check failed %d time%s in a row: %s", h->fails,
             h->fails == 1 ? "" : "s", why);
    fall_sick(p, CAUSE_HEALTH, text);
}

static void on_probe_result(void *ctx, bool ok, const char *why)
{
    struct health *h = ctx;
    probe_stop(h->probe);
    h->probe = NULL;
    uv_timer_stop(&h->check);
    result(h, ok, why);
}

static void on_check_timeout(uv_timer_t *t)
{
    struct health *h = t->data;
    char why[96], d[32];
    strconv_format_duration(h->p->prog->health.timeout_ms, d, sizeof(d));
    snprintf(why, sizeof(why), "exec check did not finish within %s", d);
    cancel(h);
    result(h, false, why);
}

/* exec:COMMAND as the program's user, in its directory, with its environment;
 * its output goes nowhere (the status says it all, as for Kubernetes' exec probe). */
static void start_exec(struct health *h)
{
    struct proc *p = h->p;
    struct supervisor_os *os = &p->sup->os;
    struct env_names names;
    const char **env = supervisor_env(p, 0, &names);
    struct spawn_opts o = supervisor_spawn_opts(p);
    char err[256];
    o.argv = p->prog->health.argv;
    o.envp = (char *const *)env;
    o.fds[0] = o.fds[1] = o.fds[2] = -1;
    int r = env ? os->spawn_start(os->ctx, &o, &h->pid, &h->status_fd, err, sizeof(err))
                : (snprintf(err, sizeof(err), "out of memory"), -ENOMEM);
    free(env);
    if (r < 0) {
        h->pid = 0;
        return result(h, false, err);
    }
    if (index_put(&p->sup->checks, pid_hash(h->pid), h) < 0) {
        cancel(h);
        return result(h, false, "out of memory");
    }
    uv_timer_start(&h->check, on_check_timeout, p->prog->health.timeout_ms, 0);
}

static void on_check_due(uv_timer_t *t)
{
    struct health *h = t->data;
    const struct program_cfg *g = h->p->prog;
    if (g->health.kind == HEALTH_EXEC)
        return start_exec(h);
    struct probe_target pt = {g->health.kind == HEALTH_TCP ? READY_TCP : READY_HTTP,
                              h->p->cfg->port, g->health.path, 0};
    h->probe = probe_once(t->loop, &pt, g->health.timeout_ms, on_probe_result, h);
    if (!h->probe)
        result(h, false, "out of memory");
}

bool supervisor_health_child_exited(struct supervisor *s, pid_t pid, int status)
{
    struct health *h = index_find(&s->checks, pid_hash(pid), is_check, &pid);
    char why[300], err[256];
    if (!h)
        return false;
    index_del(&s->checks, pid_hash(pid), h);
    h->pid = 0;
    uv_timer_stop(&h->check);
    struct spawn_opts o = supervisor_spawn_opts(h->p);
    o.argv = h->p->prog->health.argv;
    int r = h->p->sup->os.spawn_result(h->p->sup->os.ctx, h->status_fd, &o, err, sizeof(err));
    if (r == -EAGAIN)
        close(h->status_fd);
    h->status_fd = -1;
    if (r < 0 && r != -EAGAIN)
        snprintf(why, sizeof(why), "%s", err);
    else if (WIFEXITED(status))
        snprintf(why, sizeof(why), "%s exited with status %d", o.argv[0], WEXITSTATUS(status));
    else
        snprintf(why, sizeof(why), "%s killed by signal %d", o.argv[0], WTERMSIG(status));
    result(h, WIFEXITED(status) && WEXITSTATUS(status) == 0 && r >= 0, why);
    return true;
}

static void on_watchdog(uv_timer_t *t)
{
    struct health *h = t->data;
    char why[96], d[32];
    strconv_format_duration(h->p->prog->watchdog_ms, d, sizeof(d));
    snprintf(why, sizeof(why), "no WATCHDOG=1 within %s", d);
    fall_sick(h->p, CAUSE_WATCHDOG, why);
}

void supervisor_health_notified(struct proc *p, const char *msg)
{
    struct health *h = p->health;
    if (!h || p->state != PROC_RUNNING || !p->prog->watchdog_ms || p->sick)
        return;
    for (const char *m = msg; m && *m; m = strchr(m, '\n'), m = m ? m + 1 : NULL) {
        if (!strncmp(m, "WATCHDOG=1", 10) && (m[10] == '\n' || !m[10]))
            uv_timer_start(&h->watchdog, on_watchdog, p->prog->watchdog_ms, 0);
        else if (!strncmp(m, "WATCHDOG=trigger", 16)) /* systemd's: fail it now */
            return fall_sick(p, CAUSE_WATCHDOG, "it sent WATCHDOG=trigger");
    }
}

static struct health *health_of(struct proc *p)
{
    struct health *h = p->health;
    if (h || !(h = calloc(1, sizeof(*h))))
        return h;
    h->p = p;
    h->status_fd = -1;
    uv_timer_init(p->sup->loop, &h->check);
    uv_timer_init(p->sup->loop, &h->watchdog);
    h->check.data = h->watchdog.data = h;
    h->open = 2;
    return p->health = h;
}

void supervisor_health_follow(struct proc *p)
{
    const struct program_cfg *g = p->prog;
    bool any = g->health.kind != HEALTH_NONE || g->watchdog_ms;
    struct health *h = any || p->health ? health_of(p) : NULL;
    if (!h) {
        if (any)
            log_error("%s: out of memory: no health checks for this run", p->cfg->name);
        return;
    }
    cancel(h);
    uv_timer_stop(&h->watchdog);
    h->fails = 0;
    h->passed = false;
    p->health_passed = false;
    h->why[0] = '\0';
    if (p->state != PROC_RUNNING)
        return;
    if (g->health.kind != HEALTH_NONE)
        schedule(h, true);
    if (g->watchdog_ms)
        uv_timer_start(&h->watchdog, on_watchdog, g->watchdog_ms, 0);
}

static void on_closed(uv_handle_t *handle)
{
    struct health *h = handle->data;
    if (--h->open == 0)
        free(h);
}

void supervisor_health_free(struct proc *p)
{
    struct health *h = p->health;
    if (!h)
        return;
    cancel(h);
    h->p = NULL;
    p->health = NULL;
    uv_close((uv_handle_t *)&h->check, on_closed);
    uv_close((uv_handle_t *)&h->watchdog, on_closed);
}

bool proc_sick(const struct proc *p)
{
    return p->sick;
}

const char *proc_health(const struct proc *p, char *buf, size_t len)
{
    const struct program_cfg *g = p->prog;
    const struct health *h = p->health;
    if (g->health.kind == HEALTH_NONE && !g->watchdog_ms)
        return "";
    if (p->sick)
        return "unhealthy";
    if (!h || p->state != PROC_RUNNING)
        return "unknown";
    if (h->fails) {
        snprintf(buf, len, "failing %d of %d", h->fails, g->health.failures);
        return buf;
    }
    return h->passed || g->health.kind == HEALTH_NONE ? "ok" : "unknown";
}
