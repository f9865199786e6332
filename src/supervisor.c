/* supervisor: runs proc_fsm for every process and carries out its actions. */
#include "supervisor.h"
#include "supervisor_int.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "backoff.h"
#include "childio.h"
#include "envlist.h"
#include "log.h"
#include "pid1.h"
#include "ports.h"
#include "readiness.h"
#include "spawn.h"
#include "strconv.h"

static void proc_event(struct proc *p, enum proc_event ev);
static void reconcile(struct supervisor *s);
static void on_soon(uv_idle_t *h);
static void release_held(struct supervisor *s);
static bool all_down(const struct supervisor *s);
static void on_notify(uv_timer_t *t);

/* Why p last failed: kept only while there is something to say (most processes
 * have nothing, and 1,000 of them should not carry a buffer each). */
__attribute__((format(printf, 2, 3))) static void set_error(struct proc *p, const char *fmt, ...)
{
    va_list ap;
    char *text = NULL;
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    free(p->error);
    p->error = text;
}


/* ---- order ---- */

/* (group priority, priority): supervisord's order. */
static int group_priority(const struct config *c, const struct program_cfg *p)
{
    for (int i = 0; i < c->ngroups; i++)
        if (!strcmp(c->groups[i].name, p->group))
            return c->groups[i].priority;
    return p->priority;
}

/* Whether a starts before b: dependencies first, then by priority, then file order. */
static bool starts_before(const struct config *c, const struct program_cfg *a,
                          const struct program_cfg *b)
{
    if (config_depends(c, b, a))
        return true;
    if (config_depends(c, a, b))
        return false;
    int ga = group_priority(c, a), gb = group_priority(c, b);
    if (ga != gb)
        return ga < gb;
    if (a->priority != b->priority)
        return a->priority < b->priority;
    return a < b;
}

/* Each program's place in the start order of config c, by its index in c: an
 * insertion sort by starts_before, fine for the tens of programs a config has. */
static int *program_ranks(const struct config *c)
{
    int *order = malloc(sizeof(int) * ((size_t)c->nprograms + 1));
    int *rank = malloc(sizeof(int) * ((size_t)c->nprograms + 1));
    for (int i = 0; order && rank && i < c->nprograms; i++) {
        int j = i;
        for (; j > 0 && starts_before(c, &c->programs[i], &c->programs[order[j - 1]]); j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (int i = 0; order && rank && i < c->nprograms; i++)
        rank[order[i]] = i;
    free(order);
    return order ? rank : (free(rank), NULL);
}

/* Where a process sits in the table: by its program's place in the current
 * config's start order (found by name: a process a reload changed keeps the old
 * snapshot's program until it restarts), then by process number, then as it was.
 * Nothing here depends on where a snapshot was allocated nor on when a process
 * joined, so a reload or a scale leaves the order as the config says. */
struct sort_key {
    int rank, num, was;
    struct proc *p;
};

static int key_cmp(const void *a, const void *b)
{
    const struct sort_key *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->num != y->num)
        return x->num < y->num ? -1 : 1;
    return x->was < y->was ? -1 : x->was > y->was;
}

static int rank_of(const struct config *c, const int *rank, const struct program_cfg *g)
{
    if (g >= c->programs && g < c->programs + c->nprograms)
        return rank[g - c->programs];
    const struct program_cfg *now = config_program(c, g->name);
    return now ? rank[now - c->programs] : c->nprograms; /* gone: leaving, last */
}

void supervisor_sort(struct supervisor *s)
{
    int *rank = program_ranks(s->cfg);
    struct sort_key *keys = malloc(sizeof(*keys) * ((size_t)s->nprocs + 1));
    if (!rank || !keys) { /* out of memory: the table stays as it is, only unsorted */
        free(rank);
        free(keys);
        return;
    }
    for (int i = 0; i < s->nprocs; i++) {
        struct proc *p = s->procs[i];
        keys[i] = (struct sort_key){rank_of(s->cfg, rank, p->prog), p->cfg->num, i, p};
    }
    qsort(keys, (size_t)s->nprocs, sizeof(*keys), key_cmp);
    for (int i = 0; i < s->nprocs; i++)
        s->procs[i] = keys[i].p;
    free(keys);
    free(rank);
    /* Processes marked as they were added are reconciled, and so started, in this
     * order (unless one listed has left the table meanwhile: then as they came). */
    int k = 0;
    for (int i = 0; i < s->nprocs && k < s->dirty.n; i++)
        if (s->procs[i]->on_dirty)
            k++;
    for (int i = 0, m = 0; k == s->dirty.n && i < s->nprocs; i++)
        if (s->procs[i]->on_dirty)
            s->dirty.v[m++] = s->procs[i];
}

/* ---- observers and logging ---- */

static void describe_status(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status)) {
        const char *name = strconv_signal_name(WTERMSIG(status));
        if (name)
            snprintf(buf, len, "killed by SIG%s", name);
        else
            snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    } else {
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    }
}

static void log_transition(const struct proc *p)
{
    char d[32];
    switch (p->state) {
    case PROC_RUNNING:
        log_info("%s: running, pid %d", p->cfg->name, (int)p->pid);
        break;
    case PROC_BACKOFF:
        strconv_format_duration(p->delay_ms, d, sizeof(d));
        log_info("%s: restarting in %s", p->cfg->name, d);
        break;
    case PROC_FATAL:
        log_error("%s: gave up after %d failed start%s: %s", p->cfg->name, p->failed_starts,
                  p->failed_starts == 1 ? "" : "s", proc_error(p));
        break;
    default:
        break;
    }
}

static void on_tell(uv_idle_t *h);


/* Autostart, staying, and neither RUNNING nor done: a one-shot that exited with one
 * of its exitcodes has done what it was started for (systemd's oneshot). Its last
 * status changes only while it runs, never while EXITED: the count stays true. */
static bool proc_unready(const struct proc *p)
{
    return p->prog->autostart && !p->removing && p->state != PROC_RUNNING &&
           !(p->state == PROC_EXITED && proc_exit_expected(p));
}

/* p counts in the table's counts (sign 1) or stops counting (-1): around every
 * change of its state, its program or its leaving. */
static void account(struct proc *p, int sign)
{
    struct supervisor *s = p->sup;
    s->in_state[p->state] += sign;
    s->unready += sign * proc_unready(p);
}

void supervisor_set_removing(struct proc *p, bool removing)
{
    supervisor_deps_changed(p->sup, p);
    account(p, -1);
    p->removing = removing;
    account(p, 1);
}

static void set_state(struct proc *p, enum proc_state next)
{
    enum proc_state old = p->state;
    struct supervisor *s = p->sup;
    if (old == next)
        return;
    account(p, -1);
    p->state = next;
    account(p, 1);
    p->changed_ms = supervisor_now(s);
    if (next == PROC_RUNNING)
        p->failed_starts = 0;
    if (next != PROC_STOPPING)
        p->failing = false;
    if (proc_state_is_down(next) && p->pending.prog)
        supervisor_swap_pending(p, false);
    if (proc_state_is_down(next) && p->removing)
        s->sweep = true; /* out of the table once its news is told */
    if (next == PROC_RUNNING || old == PROC_RUNNING)
        supervisor_health_follow(p);
    log_transition(p);
    supervisor_news_add(p, old);
}

/* ---- actions ---- */

/* ---- indexes: each child exit and each lookup by name costs O(1) ---- */

static bool has_name(const void *value, const void *key)
{
    return !strcmp(((const struct proc *)value)->cfg->name, key);
}

static bool has_pid(const void *value, const void *key)
{
    return ((const struct proc *)value)->pid == *(const pid_t *)key;
}

static uint64_t pid_hash(pid_t pid)
{
    return index_hash_int((uint64_t)pid);
}

/* p has a child now, or none any more (pid 0): the pid index follows. */
static void set_pid(struct proc *p, pid_t pid)
{
    struct supervisor *s = p->sup;
    if (p->pid > 0)
        index_del(&s->by_pid, pid_hash(p->pid), p);
    p->pid = pid;
    if (pid > 0 && index_put(&s->by_pid, pid_hash(pid), p) < 0)
        log_error("%s: out of memory: its exit will be taken for an orphan's", p->cfg->name);
}


static int spawn_child(struct proc *p, struct childio_pipes *pipes, int *status_fd)
{
    struct env_names names;
    const char **env = supervisor_env(p, 2, &names);
    int fds[3], r;
    if (!env)
        return set_error(p, "out of memory"), -ENOMEM;
    char notify[128], watchdog[64];
    if (p->notify) {
        snprintf(notify, sizeof(notify), "NOTIFY_SOCKET=%s", readiness_path(p->notify));
        envlist_put(env, notify);
    }
    if (p->notify && p->prog->watchdog_ms) { /* sd_watchdog_enabled() reads it */
        snprintf(watchdog, sizeof(watchdog), "WATCHDOG_USEC=%llu",
                 (unsigned long long)p->prog->watchdog_ms * 1000);
        envlist_put(env, watchdog);
    }
    childio_child_fds(pipes, fds);
    const struct pid1_origin *o = pid1_origin();
    struct spawn_opts opts = supervisor_spawn_opts(p);
    opts.envp = (char *const *)env;
    memcpy(opts.fds, fds, sizeof(fds));
    opts.nofile = p->sup->cfg->tend.minfds > (long)o->nofile.rlim_cur ? p->sup->cfg->tend.minfds
                                                                     : (long)o->nofile.rlim_cur;
    char why[512];
    pid_t pid = 0;
    r = p->sup->os.spawn_start(p->sup->os.ctx, &opts, &pid, status_fd, why, sizeof(why));
    set_pid(p, pid);
    if (r < 0)
        set_error(p, "%s", why);
    free(env);
    return r;
}

static void on_timer(uv_timer_t *t);

/* p joins list (once: flag says it is in) for the next turn. Out of memory, the
 * next turn looks at every process instead. */
static void list_put(struct plist *l, bool *flag, struct proc *p)
{
    struct supervisor *s = p->sup;
    uv_idle_start(&s->soon, on_soon);
    if (*flag)
        return;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        struct proc **more = realloc(l->v, sizeof(*more) * (size_t)cap);
        if (!more) {
            s->full_pass = true;
            return;
        }
        l->v = more;
        l->cap = cap;
    }
    l->v[l->n++] = p;
    *flag = true;
}

/* Takes the list as it is: what joins it meanwhile waits for the next take. */
static struct plist list_take(struct plist *l)
{
    struct plist taken = *l;
    *l = (struct plist){0};
    return taken;
}

void supervisor_mark(struct proc *p)
{
    supervisor_deps_changed(p->sup, p); /* its wanted state may have changed */
    list_put(&p->sup->dirty, &p->on_dirty, p);
}

static void arm(struct proc *p, uint64_t ms)
{
    if (ms > 0)
        return (void)uv_timer_start(&p->timer, on_timer, ms, 0);
    p->due = true;
    list_put(&p->sup->due, &p->on_due, p);
}

static void disarm(struct proc *p)
{
    uv_timer_stop(&p->timer);
    p->due = false;
}

static void on_probe_ready(void *ctx)
{
    proc_event(ctx, EV_READY);
}

/* The port answers, from another's listener: status says so while it starts. */
static void on_probe_foreign(void *ctx, const char *holder)
{
    struct proc *p = ctx;
    set_error(p, "port %d is held by %s, not by %s", p->cfg->port, holder, p->cfg->name);
    log_warn("%s: %s", p->cfg->name, p->error ? p->error : "port held by another process");
}

/* Whether sender may speak for p: p itself or one of its descendants, running as
 * root or as p's user, and still there when tend reads the message (a zombie still
 * is: its parent is known). A sender already gone cannot be told from any process
 * of the same user that sent READY=1 and exited at once (the socket is abstract:
 * anyone on the host can reach it), so it is not believed, as systemd does not; a
 * short-lived helper waits with BARRIER=1 (systemd-notify does: tend drops the
 * descriptor it gets, which ends the wait). One outside tend's PID namespace (pid 0)
 * is not believed either. */
static bool speaks_for(const struct proc *p, pid_t sender, uid_t uid)
{
    uid_t user = p->prog->user ? p->prog->uid : geteuid();
    if (sender <= 0 || (uid != 0 && uid != user))
        return false;
    if (sender == p->pid)
        return true;
    /* from the parent read once: a second look at a sender that is exiting may miss */
    pid_t parent = pid1_parent_of(sender);
    for (int depth = 0, pid = parent; pid > 1 && depth < 32; depth++, pid = pid1_parent_of(pid))
        if (pid == p->pid)
            return true;
    return false;
}

static void on_notify_message(void *ctx, pid_t sender, uid_t uid, const char *msg, size_t len)
{
    struct proc *p = ctx;
    (void)len;
    if (!speaks_for(p, sender, uid)) {
        log_debug("%s: READY=1 from pid %d (uid %d) ignored: not it, nor one of its children "
                  "still running",
                  p->cfg->name, (int)sender, (int)uid);
        return;
    }
    const char *status = strstr(msg, "STATUS=");
    if (status)
        log_debug("%s: %.*s", p->cfg->name, (int)strcspn(status + 7, "\n"), status + 7);
    bool ready = !strncmp(msg, "READY=1", 7) || strstr(msg, "\nREADY=1");
    if (ready && p->state == PROC_STARTING)
        proc_event(p, EV_READY);
    supervisor_health_notified(p, msg);
}

static void listen_for_notify(struct proc *p)
{
    int err;
    if (p->prog->ready != READY_NOTIFY || p->notify)
        return;
    p->notify = readiness_listen(p->sup->loop, on_notify_message, p, &err);
    if (!p->notify)
        log_error("%s: notify socket: %s: it cannot say it is ready", p->cfg->name,
                  strerror(-err));
}

/* startsecs passes on a timer (0 too, so that READY comes from the loop, not from
 * inside the spawn); a probe or READY=1 has ready_timeout as its deadline. */
static void watch_readiness(struct proc *p)
{
    const struct program_cfg *g = p->prog;
    if (g->ready == READY_STARTSECS)
        return arm(p, g->startsecs_ms);
    if (g->ready == READY_TCP || g->ready == READY_HTTP) {
        struct probe_target t = {g->ready, p->cfg->port, g->ready_path, p->pid};
        p->probe = probe_start(p->sup->loop, &t, on_probe_ready, on_probe_foreign, p);
    }
    if (g->ready_timeout_ms)
        arm(p, g->ready_timeout_ms);
}

/* The child exec'd: now it may become ready. */
static void exec_done(struct proc *p)
{
    free(p->error);
    p->error = NULL;
    log_info("%s: started, pid %d", p->cfg->name, (int)p->pid);
    watch_readiness(p);
}

static void on_exec_closed(uv_handle_t *h)
{
    free(h->data);
}

static void unwatch_exec(struct proc *p)
{
    if (!p->exec)
        return;
    p->exec->p = NULL;
    uv_close((uv_handle_t *)&p->exec->poll, on_exec_closed);
    p->exec = NULL;
}

static void on_exec_status(uv_poll_t *h, int status, int events);

/* What the exec-status pipe says, once it says it (or the child is gone): a failed
 * step is kept, and the child's exit, which follows, counts as a failed start. */
static void exec_settled(struct proc *p)
{
    char why[512];
    struct spawn_opts o = supervisor_spawn_opts(p);
    /* out of epoll while the descriptor is open: a child forked meanwhile holds a
     * copy of it, and events of a closed one would reach whatever reuses its number
     * (a control connection, told of a hang-up that was not its own) */
    uv_poll_stop(&p->exec->poll);
    int r = p->sup->os.spawn_result(p->sup->os.ctx, p->exec->fd, &o, why, sizeof(why));
    if (r == -EAGAIN)
        return (void)uv_poll_start(&p->exec->poll, UV_READABLE, on_exec_status);
    unwatch_exec(p);
    if (r == 0)
        return exec_done(p);
    p->exec_failed = true;
    set_error(p, "%s", why);
    log_error("%s: %s", p->cfg->name, why);
}

static void on_exec_status(uv_poll_t *h, int status, int events)
{
    struct exec_watch *w = h->data;
    (void)status, (void)events;
    if (w->p)
        exec_settled(w->p);
}

/* fork now; the exec is confirmed from the loop (see spawn_start). */
static int watch_exec(struct proc *p, int fd)
{
    struct exec_watch *w = calloc(1, sizeof(*w));
    if (!w || uv_poll_init(p->sup->loop, &w->poll, fd) < 0) {
        free(w);
        return -ENOMEM;
    }
    w->p = p;
    w->fd = fd;
    w->poll.data = w;
    p->exec = w;
    uv_poll_start(&w->poll, UV_READABLE, on_exec_status);
    return 0;
}

/* Whether someone else listens on p's port already: its start would fail at its
 * bind, or worse, its probe would reach the other one. A failed start, named. */
static bool port_taken(struct proc *p)
{
    struct supervisor_os *os = &p->sup->os;
    char who[128];
    if (!p->cfg->port || os->port_holder(os->ctx, p->cfg->port, who, sizeof(who)) <= 0)
        return false; /* free, or tend cannot tell: the process's own bind will */
    set_error(p, "port %d is in use by %s", p->cfg->port, who);
    log_error("%s: %s", p->cfg->name, proc_error(p));
    return true;
}

static void do_spawn(struct proc *p)
{
    struct childio_pipes pipes;
    int r, status_fd;
    p->failing = false;
    p->exec_failed = false;
    p->forced = false;
    p->attempts++;
    supervisor_lastexit_spawned(p);
    if (p->cfg->problem) {
        set_error(p, "%s", p->cfg->problem);
        return proc_event(p, EV_SPAWN_FAILED);
    }
    if (port_taken(p))
        return proc_event(p, EV_SPAWN_FAILED);
    if (!p->sink && !(p->sink = childio_sink_new(p->sup->io, p->prog, p->cfg)))
        return set_error(p, "out of memory"), proc_event(p, EV_SPAWN_FAILED);
    listen_for_notify(p);
    if ((r = childio_pipes_open(&pipes, p->prog->redirect_stderr)) < 0) {
        set_error(p, "pipe: %s", strerror(-r));
        log_error("%s: %s", p->cfg->name, proc_error(p));
        return proc_event(p, EV_SPAWN_FAILED);
    }
    r = spawn_child(p, &pipes, &status_fd);
    childio_start(p->sink, &pipes);
    if (r < 0) {
        log_error("%s: %s", p->cfg->name, proc_error(p));
        return proc_event(p, EV_SPAWN_FAILED);
    }
    p->started_ms = supervisor_now(p->sup);
    if (watch_exec(p, status_fd) < 0) { /* its exit counts as a failed start */
        close(status_fd);
        p->sup->os.kill(p->sup->os.ctx, p->pid, SIGKILL);
        set_error(p, "out of memory");
    }
}

static void signal_proc(struct proc *p, int sig, bool group)
{
    struct supervisor_os *os = &p->sup->os;
    int r = p->pid > 0 ? os->kill(os->ctx, group ? -p->pid : p->pid, sig) : 0;
    if (r < 0 && r != -ESRCH)
        log_warn("%s: send SIG%s: %s", p->cfg->name, strconv_signal_name(sig), strerror(-r));
}

static void perform(struct proc *p, unsigned actions)
{
    if (actions & ACT_DISARM) {
        disarm(p);
        probe_stop(p->probe);
        p->probe = NULL;
    }
    if (actions & ACT_MARK_FAILING)
        p->failing = true;
    if (actions & ACT_SIGNAL_STOP) { /* SIGCONT: a stopped process could not act on it */
        signal_proc(p, p->prog->stopsignal, p->prog->stopasgroup);
        signal_proc(p, SIGCONT, p->prog->stopasgroup);
        arm(p, p->prog->stopwait_ms);
    }
    if (actions & ACT_SIGNAL_KILL) {
        p->forced = true;
        signal_proc(p, SIGKILL, p->prog->killasgroup);
    }
    if (actions & ACT_COUNT_RESTART) {
        p->restarts++;
        supervisor_lastexit_restarted(p);
    }
    if (actions & ACT_ARM_BACKOFF)
        arm(p, p->delay_ms);
    if (actions & ACT_SPAWN)
        do_spawn(p);
}

/* ---- events ---- */

/* Either callback may end with supervisor_free(): nothing touches s after one. */
static void on_proc_closed(uv_handle_t *h);

/* Processes leaving the table go once they are down and no news names them; the
 * news of their going is the last, and their memory goes after it is told. */
static void sweep_removed(struct supervisor *s)
{
    int j = 0;
    s->sweep = false;
    for (int i = 0; i < s->nprocs; i++) {
        struct proc *p = s->procs[i];
        if (p->removing && proc_state_is_down(p->state) && !p->queued && !p->on_due &&
            !p->on_dirty && !p->on_held) {
            log_info("%s: removed", p->cfg->name);
            account(p, -1);
            index_del(&s->by_name, index_hash_str(p->cfg->name), p);
            p->gone = true;
            supervisor_news_add(p, p->state);
        } else {
            s->procs[j++] = p;
            s->sweep |= p->removing && proc_state_is_down(p->state);
        }
    }
    s->nprocs = j;
}

void supervisor_leave(struct proc *p)
{
    supervisor_set_removing(p, true);
    if (proc_state_is_down(p->state)) { /* already down: the next turn takes it */
        p->sup->sweep = true;
        uv_idle_start(&p->sup->tell, on_tell);
    }
}

/* One item told: a process gone from the table goes with the last one naming it. */
static void told(struct proc *p)
{
    if (--p->queued == 0 && p->gone)
        uv_close((uv_handle_t *)&p->timer, on_proc_closed);
}

/* Tells what is queued, in order. What observers cause meanwhile is queued for the
 * next turn: the batch is taken first, so nothing they do changes what is walked. */
static void on_tell(uv_idle_t *h)
{
    struct supervisor *s = h->data;
    struct news *batch = s->news;
    int n = s->nnews;
    s->news = NULL;
    s->nnews = s->capnews = 0;
    supervisor_deps_changed(s, NULL); /* once told, news counts for dependencies */
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < s->nobservers; k++)
            s->observers[k].cb(s->observers[k].ctx, batch[i].p, batch[i].old);
        told(batch[i].p);
    }
    for (int k = 0; n && k < s->nobservers; k++) /* the batch is over */
        s->observers[k].cb(s->observers[k].ctx, NULL, PROC_STOPPED);
    free(batch);
    if (s->sweep)
        sweep_removed(s);
    release_held(s); /* dependents held back until their dependencies' news was told */
    if (!s->nnews)
        uv_idle_stop(h);
}

static void on_notify(uv_timer_t *t)
{
    struct supervisor *s = t->data;
    if (s->critical_status >= 0 && !s->stopping && s->critical) {
        int status = s->critical_status;
        s->critical_status = -1;
        s->critical(s->critical_ctx, status);
        return; /* the shutdown it starts notifies again when all is down */
    }
    if (s->stopped && all_down(s)) {
        supervisor_stopped_cb *cb = s->stopped;
        s->stopped = NULL;
        cb(s->stopped_ctx);
    }
}

static void gave_up(struct proc *p)
{
    struct supervisor *s = p->sup;
    p->wanted_up = false;
    if (!p->prog->critical || s->stopping || !s->critical)
        return;
    int st = p->last_status, code = st >= 0 ? strconv_exit_code(st) : 0;
    code = code ? code : 1; /* a critical program that gave up fails tend */
    log_error("%s: critical program is %s: stopping everything", p->cfg->name,
              proc_state_name(p->state));
    if (s->critical_status < 0)
        s->critical_status = code;
    uv_timer_start(&s->notify, on_notify, 0, 0);
}

static void proc_event(struct proc *p, enum proc_event ev)
{
    if (ev == EV_EXIT || ev == EV_SPAWN_FAILED) /* before a reload's swap: as it ran */
        supervisor_lastexit_ended(p, ev);
    if (ev == EV_EXIT && p->state == PROC_STOPPING && p->pending.prog)
        supervisor_swap_pending(p, false); /* a reload's restart: starts again as now configured */
    const struct program_cfg *g = p->prog;
    struct proc_facts f = {
        .wanted_up = p->wanted_up, .failing = p->failing, .autorestart = g->autorestart,
        .sick = p->sick,
        .retry = !p->cfg->problem && (g->startretries < 0 || p->failed_starts < g->startretries),
    };
    /* a stop tend asked for is no failure: it leaves the backoff as it was */
    bool planned = ev == EV_EXIT && p->state == PROC_STOPPING && !p->failing && !p->sick;
    if ((ev == EV_EXIT && !planned) || ev == EV_SPAWN_FAILED) {
        int st = p->last_status;
        f.expected = ev == EV_EXIT && !p->sick && WIFEXITED(st) &&
                     (g->exitcodes[WEXITSTATUS(st) / 8] & (1 << (WEXITSTATUS(st) % 8)));
        struct backoff_cfg bc = {g->restart_delay_ms, g->restart_delay_max_ms,
                                 g->restart_delay_reset_ms};
        uint64_t up = ev == EV_EXIT ? supervisor_now(p->sup) - p->started_ms : 0;
        p->delay_ms = backoff_next(&p->backoff, &bc, up, supervisor_random(p->sup));
        /* a failed spawn always goes through the loop: 10,000 in a row must not recurse */
        f.delay_zero = p->delay_ms == 0 && ev == EV_EXIT;
    }
    struct proc_step st = proc_fsm_step(p->state, ev, &f);
    if (st.actions & ACT_COUNT_FAILURE) /* before the new state is announced */
        p->failed_starts++;
    enum proc_state old = p->state;
    set_state(p, st.next);
    perform(p, st.actions);
    if (old == st.next && old == PROC_STARTING && (st.actions & ACT_SPAWN))
        supervisor_news_add(p, old); /* retried at once: the same state, a new process */
    if (p->state == PROC_EXITED || p->state == PROC_FATAL)
        gave_up(p);
    if (p->sup->stopping) { /* what else may stop now: on the next turn */
        p->sup->stop_pass = true;
        uv_idle_start(&p->sup->soon, on_soon);
    }
}

/* Why a start failed at ready_timeout: the check that did not pass. */
static void not_ready(struct proc *p)
{
    const struct program_cfg *g = p->prog;
    char d[32];
    strconv_format_duration(g->ready_timeout_ms, d, sizeof(d));
    if (*probe_holder(p->probe))
        set_error(p, "not ready within %s: port %d is held by %s, not by %s", d, p->cfg->port,
                  probe_holder(p->probe), p->cfg->name);
    else if (g->ready == READY_TCP)
        set_error(p, "not ready within %s: no connection to 127.0.0.1:%d succeeded", d,
                  p->cfg->port);
    else if (g->ready == READY_HTTP)
        set_error(p, "not ready within %s: GET %s on 127.0.0.1:%d did not answer 2xx or 3xx",
                  d, g->ready_path, p->cfg->port);
    else
        set_error(p, "not ready within %s: no READY=1 from it or a child of it still running",
                  d);
    log_error("%s: %s", p->cfg->name, p->error ? p->error : "not ready");
}

static void expired(struct proc *p)
{
    bool startsecs = p->state == PROC_STARTING && p->prog->ready == READY_STARTSECS;
    if (p->state == PROC_STARTING && !startsecs)
        not_ready(p);
    proc_event(p, startsecs ? EV_READY : EV_TIMEOUT);
}

static void on_timer(uv_timer_t *t)
{
    expired(t->data);
}

/* Each turn with work: the processes due now, then reconcile. Those made due while
 * handling these wait for the next turn (a 0 ms uv_timer would not: libuv 1.44
 * reruns it in the same pass, starving I/O). */
static void on_soon(uv_idle_t *h)
{
    struct supervisor *s = h->data;
    struct plist due = list_take(&s->due);
    uv_idle_stop(h);
    for (int i = 0; s->full_pass && i < s->nprocs; i++) /* a list was out of memory */
        if (s->procs[i]->due && !s->procs[i]->on_due) {
            s->procs[i]->due = false;
            expired(s->procs[i]);
        }
    for (int i = 0; i < due.n; i++) {
        struct proc *p = due.v[i];
        p->on_due = false;
        if (p->due) {
            p->due = false;
            expired(p);
        }
    }
    free(due.v);
    reconcile(s);
}

/* An exit tend asked for (stop, restart, reload, scale, shutdown: p is STOPPING) is
 * told as a stop, with the signal or status it ended with; any other is a crash or
 * an exit of its own. A stop that needed SIGKILL says so. */
static void log_exit(const struct proc *p, int status, const char *why)
{
    char how[32];
    if (p->state != PROC_STOPPING)
        return log_info("%s: %s", p->cfg->name, why);
    if (p->forced && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        return log_info("%s: killed by SIGKILL: stopped by force", p->cfg->name);
    const char *sig = WIFSIGNALED(status) ? strconv_signal_name(WTERMSIG(status)) : NULL;
    if (sig)
        snprintf(how, sizeof(how), "SIG%s", sig);
    else if (WIFSIGNALED(status))
        snprintf(how, sizeof(how), "signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
    log_info("%s: stopped%s (%s)", p->cfg->name, p->sick ? " for its health" : "", how);
}

bool supervisor_child_exited(struct supervisor *s, pid_t pid, int status)
{
    struct proc *p = index_find(&s->by_pid, pid_hash(pid), has_pid, &pid);
    char why[64];
    if (!p)
        return supervisor_health_child_exited(s, pid, status);
    if (p->exec) /* it is gone: the pipe says all it will */
        exec_settled(p);
    set_pid(p, 0);
    if (p->exec_failed && p->state == PROC_STARTING) /* the error says why */
        return proc_event(p, EV_SPAWN_FAILED), true;
    describe_status(status, why, sizeof(why));
    if (p->prog->kill_group_on_exit) /* e.g. nginx workers holding the port */
        s->os.kill(s->os.ctx, -pid, SIGKILL);
    p->last_status = status;
    if (p->state != PROC_STOPPING)
        set_error(p, "%s", why);
    log_exit(p, status, why);
    /* startsecs = 0: ready once exec'd, told from the loop, which the exit may beat
     * (a quick one-shot, as tend dev runs them): its run ended, no start failed */
    if (p->state == PROC_STARTING && p->due && p->prog->ready == READY_STARTSECS &&
        p->prog->startsecs_ms == 0) {
        p->due = false;
        proc_event(p, EV_READY);
    }
    proc_event(p, EV_EXIT);
    p->sick = false; /* that run is over: its news says so */
    p->kill_cause = CAUSE_NONE;
    return true;
}

/* ---- reconciling wanted and actual states ---- */

/* In shutdown, a program stops once every program that must stop before it (its
 * dependents, and those with a higher priority) has no process left. */
static bool may_stop(const struct supervisor *s, const struct program_cfg *g)
{
    for (int i = 0; i < s->nprocs; i++) {
        const struct proc *q = s->procs[i];
        if (q->prog == g || proc_state_is_down(q->state))
            continue;
        if (config_depends(s->cfg, q->prog, g) ||
            group_priority(s->cfg, q->prog) > group_priority(s->cfg, g) ||
            (group_priority(s->cfg, q->prog) == group_priority(s->cfg, g) &&
             q->prog->priority > g->priority))
            return false;
    }
    return true;
}

static bool all_down(const struct supervisor *s)
{
    for (int i = 0; i < s->nprocs; i++)
        if (!proc_state_is_down(s->procs[i]->state))
            return false;
    return true;
}

static void reconcile_stop(struct supervisor *s)
{
    const struct program_cfg *last = NULL;
    bool may = false;
    s->stop_pass = false;
    for (int i = s->nprocs - 1; i >= 0; i--) {
        struct proc *p = s->procs[i];
        if (proc_state_is_down(p->state) || p->state == PROC_STOPPING)
            continue;
        if (p->prog != last) /* a program's processes are side by side in the table */
            may = may_stop(s, last = p->prog);
        if (may)
            proc_event(p, EV_STOP);
    }
    if (s->stopped && all_down(s))
        uv_timer_start(&s->notify, on_notify, 0, 0);
}

/* What p's wanted state asks of its actual one, as events of the state machine. */
static void reconcile_one(struct supervisor *s, struct proc *p)
{
    if (p->heal) {
        p->heal = false;
        if (p->sick && p->state == PROC_RUNNING)
            return proc_event(p, EV_SICK);
    }
    if (p->cycle) {
        p->cycle = false;
        if (p->state == PROC_RUNNING || p->state == PROC_STARTING)
            return proc_event(p, EV_STOP); /* started again on its exit: wanted up */
        if (p->pending.prog && p->state != PROC_STOPPING) /* no process: a reload's config */
            supervisor_swap_pending(p, false);
    }
    if (!p->wanted_up) {
        p->kick = false;
        if (!proc_state_is_down(p->state) && p->state != PROC_STOPPING)
            proc_event(p, EV_STOP);
        return;
    }
    bool kick = p->kick;
    p->kick = false;
    if (p->state == PROC_BACKOFF && kick)
        return proc_event(p, EV_START);
    if (!proc_state_is_down(p->state))
        return; /* on its way: a STOPPING one starts again on its exit */
    if (kick || supervisor_deps_met(s, p->prog)) {
        p->said_held = false;
        return proc_event(p, EV_START);
    }
    supervisor_deps_held(p);
    list_put(&s->held, &p->on_held, p); /* until its dependencies' news is told */
}

/* Brings actual states towards wanted ones for the processes marked since the last
 * turn: O(changed). Shutting down, the stop order is looked at instead. */
static void reconcile(struct supervisor *s)
{
    if (s->full_pass) {
        s->full_pass = false;
        for (int i = 0; i < s->nprocs; i++)
            supervisor_mark(s->procs[i]);
    }
    struct plist dirty = list_take(&s->dirty);
    supervisor_deps_changed(s, NULL); /* judged afresh in each pass, then kept */
    for (int i = 0; i < dirty.n; i++) {
        dirty.v[i]->on_dirty = false;
        if (!s->stopping)
            reconcile_one(s, dirty.v[i]);
    }
    free(dirty.v);
    if (s->stopping && s->stop_pass)
        reconcile_stop(s);
    if (s->sweep) /* one leaving the table was listed: it may go now */
        uv_idle_start(&s->tell, on_tell);
}

/* Dependencies' news was told: those held back for them are looked at again. */
static void release_held(struct supervisor *s)
{
    struct plist held = list_take(&s->held);
    for (int i = 0; i < held.n; i++) {
        held.v[i]->on_held = false;
        supervisor_mark(held.v[i]);
    }
    free(held.v);
}

/* ---- snapshots ---- */

void snapshot_release(struct supervisor *s, struct snapshot *snap)
{
    if (--snap->refs > 0 || snap == s->snaps)
        return; /* still used, or the current one */
    for (struct snapshot **p = &s->snaps; *p; p = &(*p)->next)
        if (*p == snap) {
            *p = snap->next;
            break;
        }
    snapshot_free(s, snap);
}

void snapshot_free(struct supervisor *s, struct snapshot *snap)
{
    if (snap->base) {
        arena_free(snap->extra);
        if (!s->freeing) /* else the base is freed in its own turn */
            snapshot_release(s, snap->base);
    } else {
        config_free(snap->cfg);
    }
    free(snap);
}

void supervisor_swap_pending(struct proc *p, bool keep_sink)
{
    struct snapshot *old = p->snap;
    account(p, -1); /* autostart may change */
    p->snap = p->pending.snap;
    p->prog = p->pending.prog;
    account(p, 1);
    p->cfg = p->pending.cfg;
    p->pending.snap = NULL;
    p->pending.prog = NULL;
    p->pending.cfg = NULL;
    if (!keep_sink) { /* its log destinations may have changed */
        childio_sink_unref(p->sink);
        p->sink = NULL;
    }
    snapshot_release(p->sup, old);
}

/* ---- the table ---- */

struct proc *supervisor_add(struct supervisor *s, struct snapshot *snap,
                            const struct program_cfg *g, const struct proc_cfg *c)
{
    if (s->nprocs == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        struct proc **procs = realloc(s->procs, sizeof(*procs) * (size_t)cap);
        if (!procs)
            return NULL;
        s->procs = procs;
        s->cap = cap;
    }
    struct proc *p = calloc(1, sizeof(*p));
    if (!p || index_put(&s->by_name, index_hash_str(c->name), p) < 0) {
        free(p);
        return NULL;
    }
    p->sup = s;
    p->snap = snap;
    snap->refs++;
    p->prog = g;
    p->cfg = c;
    p->last_status = -1;
    lastexit_init(&p->last);
    p->wanted_up = g->autostart;
    p->changed_ms = supervisor_now(s);
    uv_timer_init(s->loop, &p->timer);
    s->open_handles++;
    p->timer.data = p;
    s->procs[s->nprocs++] = p;
    account(p, 1);
    supervisor_mark(p);
    return p;
}

struct supervisor *supervisor_new(uv_loop_t *loop, struct config *cfg,
                                  supervisor_critical_cb *critical, void *ctx,
                                  struct childio *io, const struct supervisor_os *os)
{
    struct supervisor *s = calloc(1, sizeof(*s));
    struct snapshot *snap = calloc(1, sizeof(*snap));
    if (!s || !snap) {
        free(s);
        free(snap);
        return NULL;
    }
    s->loop = loop;
    s->os = supervisor_os_of(os);
    s->io = io;
    s->cfg = cfg;
    snap->cfg = cfg;
    s->snaps = snap;
    s->critical = critical;
    s->critical_ctx = ctx;
    s->critical_status = -1;
    s->rnd = (uint32_t)uv_hrtime() | 1;
    uv_timer_init(loop, &s->notify);
    uv_idle_init(loop, &s->soon);
    uv_idle_init(loop, &s->tell);
    s->notify.data = s->soon.data = s->tell.data = s;
    s->tell_cb = on_tell;
    s->deps_epoch = 1;
    s->open_handles = 3;
    for (int i = 0; i < cfg->nprograms; i++)
        for (int j = 0; j < cfg->programs[i].nprocs; j++)
            supervisor_add(s, snap, &cfg->programs[i], &cfg->programs[i].procs[j]);
    supervisor_sort(s);
    return s;
}

void supervisor_start(struct supervisor *s)
{
    supervisor_lastexit_start(s);
    uv_idle_start(&s->soon, on_soon); /* every process is marked since it was added */
}

void supervisor_shutdown(struct supervisor *s, supervisor_stopped_cb *cb, void *ctx)
{
    s->stopping = true;
    s->stopped = cb;
    s->stopped_ctx = ctx;
    for (int i = 0; i < s->nprocs; i++)
        s->procs[i]->wanted_up = false;
    s->stop_pass = true;
    uv_idle_start(&s->soon, on_soon);
}

void supervisor_kill_all(struct supervisor *s)
{
    for (int i = 0; i < s->nprocs; i++)
        if (!proc_state_is_down(s->procs[i]->state))
            proc_event(s->procs[i], EV_KILL);
}

/* The supervisor goes with the last of its handles (its own two and one timer per
 * process): libuv promises no order among close callbacks. */
static void release(struct supervisor *s)
{
    if (--s->open_handles > 0)
        return;
    index_free(&s->by_name);
    index_free(&s->by_pid);
    index_free(&s->checks);
    for (struct snapshot *snap = s->snaps, *next; snap; snap = next) {
        next = snap->next;
        snapshot_free(s, snap);
    }
    free(s);
}

static void on_proc_closed(uv_handle_t *h)
{
    struct proc *p = h->data;
    struct supervisor *s = p->sup;
    unwatch_exec(p);
    probe_stop(p->probe);
    supervisor_health_free(p);
    readiness_unlisten(p->notify);
    childio_sink_unref(p->sink);
    lastexit_free(&p->last);
    free(p->error);
    if (!s->freeing) { /* while the supervisor lives, snapshots follow their users */
        snapshot_release(s, p->snap);
        if (p->pending.snap)
            snapshot_release(s, p->pending.snap);
    }
    free(p);
    release(s);
}

static void on_handle_closed(uv_handle_t *h)
{
    release(h->data);
}

void supervisor_free(struct supervisor *s)
{
    if (!s)
        return;
    s->freeing = true;
    for (int i = 0; i < s->nprocs; i++)
        uv_close((uv_handle_t *)&s->procs[i]->timer, on_proc_closed);
    free(s->procs);
    s->procs = NULL;
    s->nprocs = 0;
    for (int i = 0; i < s->nnews; i++) /* untold: the gone ones still need closing */
        told(s->news[i].p);
    free(s->news);
    s->news = NULL;
    s->nnews = 0;
    free(s->due.v);
    free(s->dirty.v);
    free(s->held.v);
    supervisor_deps_free(s);
    uv_close((uv_handle_t *)&s->notify, on_handle_closed); /* s goes with its handles */
    uv_close((uv_handle_t *)&s->soon, on_handle_closed);
    uv_close((uv_handle_t *)&s->tell, on_handle_closed);
}

void supervisor_observe(struct supervisor *s, supervisor_observer *cb, void *ctx)
{
    if (s->nobservers < MAX_OBSERVERS) {
        s->observers[s->nobservers].cb = cb;
        s->observers[s->nobservers++].ctx = ctx;
    }
}

void supervisor_unobserve(struct supervisor *s, supervisor_observer *cb, void *ctx)
{
    for (int i = 0; i < s->nobservers; i++)
        if (s->observers[i].cb == cb && s->observers[i].ctx == ctx) {
            s->observers[i] = s->observers[--s->nobservers];
            return;
        }
}

bool supervisor_all_ready(const struct supervisor *s)
{
    return s->unready == 0;
}

int supervisor_in_state(const struct supervisor *s, enum proc_state st)
{
    return s->in_state[st];
}

int supervisor_count(const struct supervisor *s)
{
    return s->nprocs;
}

struct proc *supervisor_proc(const struct supervisor *s, int i)
{
    return i >= 0 && i < s->nprocs ? s->procs[i] : NULL;
}

struct proc *supervisor_find(const struct supervisor *s, const char *name)
{
    return index_find(&s->by_name, index_hash_str(name), has_name, name);
}

const struct config *supervisor_config(const struct supervisor *s)
{
    return s->cfg;
}

const char *proc_name(const struct proc *p)
{
    return p->cfg->name;
}

const struct program_cfg *proc_program(const struct proc *p)
{
    return p->prog;
}

const struct proc_cfg *proc_config(const struct proc *p)
{
    return p->cfg;
}

enum proc_state proc_state(const struct proc *p)
{
    return p->state;
}

pid_t proc_pid(const struct proc *p)
{
    return p->pid;
}

int proc_port(const struct proc *p)
{
    return p->cfg->port;
}

uint64_t proc_uptime_ms(const struct proc *p)
{
    return p->pid > 0 ? supervisor_now(p->sup) - p->started_ms : 0;
}

uint64_t proc_state_ms(const struct proc *p)
{
    return supervisor_now(p->sup) - p->changed_ms;
}

int proc_restarts(const struct proc *p)
{
    return p->restarts;
}

int proc_attempts(const struct proc *p)
{
    return p->attempts;
}

int proc_last_status(const struct proc *p)
{
    return p->last_status;
}

const char *proc_error(const struct proc *p)
{
    return p->error ? p->error : "";
}

bool proc_wanted_up(const struct proc *p)
{
    return p->wanted_up;
}

struct childio_sink *proc_sink(const struct proc *p)
{
    return p->sink;
}

bool proc_put_down(const struct proc *p)
{
    return p->put_down;
}

bool proc_removing(const struct proc *p)
{
    return p->removing;
}

int proc_failed_starts(const struct proc *p)
{
    return p->failed_starts;
}

bool proc_config_old(const struct proc *p)
{
    return p->snap->gen != p->sup->snaps->gen;
}
