/* run: the composition root. Loads the config, wires signals, reaper, outputs and
 * the supervisor to one loop, runs it, and shuts down in order. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "childio.h"
#include "commands.h"
#include "config.h"
#include "control.h"
#include "devnotes.h"
#include "heal.h"
#include "log.h"
#include "logfile.h"
#include "nginx.h"
#include "notify.h"
#include "output.h"
#include "pid1.h"
#include "reaper.h"
#include "reload_request.h"
#include "rollout.h"
#include "safepath.h"
#include "signals.h"
#include "strconv.h"
#include "supervisor.h"
#include "watch.h"

/* Leftover processes get SIGTERM, then this long before SIGKILL. */
enum { SWEEP_GRACE_MS = 3000 };

enum phase { PHASE_RUNNING, PHASE_STOPPING, PHASE_SWEEPING, PHASE_DONE };

/* What a signal means to tend in this mode. */
enum signal_action { SIG_IGNORE, SIG_SHUTDOWN, SIG_RELOAD, SIG_REOPEN, SIG_REAP };

struct watcher {
    struct watch *watch;
    struct run *run;
    const char *program; /* in the current config */
};

struct run {
    uv_loop_t loop;
    const struct run_opts *o;
    const char *path;
    const struct config *cfg; /* the current one; the supervisor owns it */
    struct config *loaded;    /* the first one, until the supervisor takes it */
    struct supervisor *sup;
    struct nginx *nginx; /* for the whole run: idle without an [nginx] section */
    struct rollout *rollout; /* a reload's changes to the workers nginx routes to */
    struct heal *heal;       /* sick processes: out of nginx, then restarted */
    struct control *control;
    struct commands commands; /* what the control socket's requests mean */
    struct signals *signals;
    struct output *out, *err;
    struct output *own;      /* where tend's own messages go: stderr, or stdout */
    struct childio *io;      /* the processes' output; freed after the loop */
    struct line_style style; /* of every line on tend's streams, from the config */
    uv_timer_t deadline; /* shutdown_timeout, then the sweep's grace */
    uv_timer_t watchdog; /* WATCHDOG=1 at half systemd's interval, when it asks */
    struct logfile *logfile; /* [tend] logfile: tend's own messages */
    struct watcher *watchers; /* tend dev: one per program that watches files */
    struct devnotes *notes;   /* tend dev: done, and slow stops */
    int nwatchers;
    bool told_ready; /* READY=1 went to systemd */
    enum phase phase;
    int status;
};

static void start_watching(struct run *r);
static void stop_watching(struct run *r);

static enum signal_action action_of(int signo, bool dev)
{
    switch (signo) {
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
        return SIG_SHUTDOWN;
    case SIGHUP: /* in tend dev, the terminal went away */
        return dev ? SIG_SHUTDOWN : SIG_RELOAD;
    case SIGUSR1:
        return SIG_REOPEN;
    case SIGCHLD:
        return SIG_REAP;
    default:
        return SIG_IGNORE;
    }
}

/* ---- the end ---- */

static void on_output_closed(void *ctx)
{
    (void)ctx;
}

static void finish(struct run *r)
{
    if (r->io) /* lines written just before an exit, not yet read */
        childio_drain(r->io);
    r->phase = PHASE_DONE;
    log_info("exiting with status %d", r->status);
    log_set_sink(NULL, NULL);
    stop_watching(r);
    logfile_unref(r->logfile);
    r->logfile = NULL;
    logfile_end_streams(); /* pipes and devices: what they hold, within a bound */
    if (r->io)
        childio_congestion_changed(r->io);
    uv_timer_stop(&r->deadline);
    uv_close((uv_handle_t *)&r->deadline, NULL);
    uv_close((uv_handle_t *)&r->watchdog, NULL);
    signals_stop(r->signals);
    control_stop(r->control); /* first: its requests may hold nginx drains */
    r->control = NULL;
    rollout_free(r->rollout);
    r->rollout = NULL;
    heal_free(r->heal);
    r->heal = NULL;
    nginx_free(r->nginx);
    r->nginx = NULL;
    devnotes_free(r->notes);
    r->notes = NULL;
    supervisor_free(r->sup);
    r->sup = NULL;
    output_close(r->out, on_output_closed, NULL);
    output_close(r->err, on_output_closed, NULL);
}

static void on_grace_over(uv_timer_t *t)
{
    (void)t;
    log_warn("processes left after %ds: SIGKILL", SWEEP_GRACE_MS / 1000);
    pid1_signal_all(SIGKILL);
}

static void on_orphan(void *ctx, pid_t pid, int status)
{
    struct run *r = ctx;
    if (r->sup && supervisor_child_exited(r->sup, pid, status))
        return;
    if (nginx_child_exited(r->nginx, pid, status))
        return;
    log_debug("reaped orphan %d", (int)pid);
}

static void reap(struct run *r)
{
    if (reaper_reap(on_orphan, r) == -ECHILD && r->phase == PHASE_SWEEPING)
        finish(r);
}

/* Every supervised process is down: now whatever they left behind. */
static void on_all_stopped(void *ctx)
{
    struct run *r = ctx;
    r->phase = PHASE_SWEEPING;
    uv_timer_stop(&r->deadline);
    if (pid1_signal_all(SIGTERM) > 0)
        uv_timer_start(&r->deadline, on_grace_over, SWEEP_GRACE_MS, 0);
    reap(r);
}

static void on_shutdown_timeout(uv_timer_t *t)
{
    struct run *r = t->data;
    log_warn("shutdown_timeout passed: SIGKILL to what is left");
    supervisor_kill_all(r->sup);
}

static void begin_shutdown(struct run *r, int status)
{
    if (r->phase != PHASE_RUNNING)
        return;
    r->phase = PHASE_STOPPING;
    r->status = status;
    rollout_free(r->rollout); /* everything stops now: no more turns */
    r->rollout = NULL;
    log_info("shutting down");
    notify_stopping();
    uv_timer_start(&r->deadline, on_shutdown_timeout, r->cfg->tend.shutdown_timeout_ms, 0);
    supervisor_shutdown(r->sup, on_all_stopped, r);
}

static void on_critical(void *ctx, int status)
{
    begin_shutdown(ctx, status);
}

/* ---- reload ---- */

/* The width of names stays what it was at the start; the rest follows the config. */
/* Each running process holds one or two pipe ends in tend (stdout, stderr unless
 * redirected), and one more while it starts: past the descriptor limit, starts fail
 * with "Too many open files". Said once per config, rather than once per process. */
static void check_descriptors(const struct config *c)
{
    enum { TEND_OWN = 64 }; /* the loop, signals, the control socket, logs, nginx */
    struct rlimit rl;
    long need = TEND_OWN;
    for (int i = 0; i < c->nprograms; i++)
        need += (long)c->programs[i].numprocs * (c->programs[i].redirect_stderr ? 1 : 2);
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        (rlim_t)need <= rl.rlim_cur)
        return;
    log_warn("%d processes need about %ld file descriptors in tend, the limit is %llu: some "
             "will fail to start (raise the hard limit, e.g. ulimit -Hn, docker run --ulimit "
             "nofile=N, or set redirect_stderr = true to use one pipe per process)",
             c->nnames, need, (unsigned long long)rl.rlim_cur);
}

static void apply_settings(struct run *r, const struct config *c)
{
    check_descriptors(c);
    r->style.format = c->tend.log_format;
    r->style.timestamps = c->tend.log_timestamps || r->o->timestamps;
    r->style.colors = r->o->colors;
    log_setup(c->tend.loglevel, &r->style);
    if (r->io)
        childio_set_style(r->io, &r->style);
}

/* ---- tend dev: files that change restart the programs that watch them ---- */

static void on_files_changed(void *ctx)
{
    struct watcher *w = ctx;
    struct supervisor *s = w->run->sup;
    if (w->run->phase != PHASE_RUNNING)
        return;
    bool said = false;
    for (int i = 0; i < supervisor_count(s); i++) {
        struct proc *p = supervisor_proc(s, i);
        enum proc_state st = proc_state(p);
        bool put_down = !proc_wanted_up(p) && (st == PROC_STOPPED || st == PROC_STOPPING);
        if (strcmp(proc_program(p)->name, w->program) || proc_removing(p) || put_down)
            continue; /* stopped on purpose (tendctl stop, --only, autostart=false): stays */
        if (!said)
            log_info("%s: files changed: restarting", w->program);
        said = true;
        supervisor_restart(s, p); /* a FATAL or EXITED one too: the fix may be in */
    }
}

static void watch_program(struct run *r, const struct program_cfg *p)
{
    static const char *const everything[] = {"**", NULL};
    const char *const *globs = *p->watch ? p->watch : r->o->watch_all ? everything : NULL;
    struct watcher *w = &r->watchers[r->nwatchers];
    if (!globs)
        return;
    w->run = r;
    w->program = p->name;
    if (!(w->watch = watch_start(&r->loop, r->o->base_dir, globs, 200, on_files_changed, w)))
        log_error("%s: watch files: %s", p->name, strerror(errno));
    else
        r->nwatchers++;
}

static void start_watching(struct run *r)
{
    if (!r->o->dev)
        return;
    r->watchers = calloc((size_t)r->cfg->nprograms + 1, sizeof(*r->watchers));
    for (int i = 0; r->watchers && i < r->cfg->nprograms; i++)
        watch_program(r, &r->cfg->programs[i]);
}

static void stop_watching(struct run *r)
{
    for (int i = 0; i < r->nwatchers; i++)
        watch_stop(r->watchers[i].watch);
    free(r->watchers);
    r->watchers = NULL;
    r->nwatchers = 0;
}

/* tend dev NAME...: those programs and what they depend on, nothing else. */
static bool wanted_by_only(const struct run *r, const struct program_cfg *g)
{
    for (const char *const *n = r->o->only; *n; n++) {
        const struct program_cfg *only = config_program(r->cfg, *n);
        if (g == only || config_depends(r->cfg, only, g))
            return true;
    }
    return false;
}

static int keep_only(struct run *r)
{
    for (const char *const *n = r->o->only; n && *n; n++)
        if (!config_program(r->cfg, *n)) {
            log_error("%s: no such program", *n);
            return -ENOENT;
        }
    for (int i = 0; r->o->only && i < supervisor_count(r->sup); i++) {
        struct proc *p = supervisor_proc(r->sup, i);
        if (!wanted_by_only(r, proc_program(p)))
            supervisor_want_down(r->sup, p);
    }
    return 0;
}

/* A running worker nginx routes to is not restarted or removed by the reload at
 * once: the rollout takes it, one at a time, through nginx. */
static bool hold(void *ctx, struct proc *p, bool removing)
{
    struct run *r = ctx;
    return r->rollout && nginx_routes_to(r->nginx, p) &&
           rollout_add(r->rollout, p, removing ? ROLLOUT_DROP : ROLLOUT_RENEW) == 0;
}

static void rolled(void *ctx, const char *name, enum rollout_act act, enum rollout_outcome o,
                   const struct proc *p)
{
    (void)ctx;
    if (o == ROLLOUT_DONE && act == ROLLOUT_RENEW)
        log_info("%s: ready under the new config", name);
    else if (o == ROLLOUT_ALREADY && act == ROLLOUT_RENEW) /* a later reload undid the change */
        log_info("%s: runs the loaded config already: not restarted", name);
    else if (o == ROLLOUT_FAILED)
        log_error("%s: not ready under the new config (%s%s%s)", name,
                  proc_state_name(proc_state(p)), *proc_error(p) ? ": " : "", proc_error(p));
}

static void rolled_out(void *ctx, bool ok, int left)
{
    (void)ctx;
    if (!ok && left)
        log_warn("reload: %d more processes keep their old config until restarted", left);
}

static const struct rollout_hooks reload_rollout = {rolled, NULL, rolled_out};

/* The config read anew and checked, not applied (tendctl reload --dry-run stops
 * here): 0 and *next, or -1 with the first error in msg. Warnings go to the log too. */
static int load_next(void *ctx, struct config **next, struct diag_list *d, char *msg, size_t len)
{
    struct run *r = ctx;
    *next = NULL;
    if (r->phase != PHASE_RUNNING)
        return snprintf(msg, len, "tend is shutting down"), -1;
    int rc = r->o->load(r->o->ctx, next, d);
    for (int i = 0; i < d->n && rc == 0; i++)
        log_warn("%s:%d: %s", d->items[i].file, d->items[i].line, d->items[i].msg);
    if (rc < 0) {
        diag_first_error(d, msg, len);
        log_error("reload: %s: the running config is kept", msg);
        return -1;
    }
    char why[1024];
    if (nginx_prepare(*next, why, sizeof(why)) < 0) { /* nginx's directory: someone else's */
        snprintf(msg, len, "nginx: %s", why);
        log_error("reload: %s: the running config is kept", msg);
        config_free(*next);
        *next = NULL;
        return -1;
    }
    return 0;
}

/* Applies next (the supervisor's from here on, or freed): 0 with the summary in msg. */
static int apply_next(void *ctx, struct config *next, struct reload_summary *sum, char *msg,
                      size_t len)
{
    struct run *r = ctx;
    notify_reloading();
    const char *was = r->cfg->tend.user, *now = next->tend.user;
    if (was != now && (!was || !now || strcmp(was, now)))
        log_warn("reload: user = %s: tend keeps running as uid %d until it restarts",
                 now ? now : "(none)", (int)geteuid());
    stop_watching(r); /* its watchers name programs of the config about to go */
    if (supervisor_reload(r->sup, next, hold, r, sum) < 0) {
        start_watching(r);
        config_free(next);
        snprintf(msg, len, "out of memory");
        log_error("reload: out of memory: the running config is kept");
        if (r->told_ready)
            notify_ready();
        return -1;
    }
    /* the old config may be gone: nothing reads it from here (observers hear of
     * the reload's changes from the loop, after this) */
    r->cfg = next;
    apply_settings(r, next);
    nginx_set_config(r->nginx, next);
    rollout_start(r->rollout);
    start_watching(r);
    int n = snprintf(msg, len, "reloaded %s: %d added, %d removed, %d restarted, %d unchanged",
                     r->path, sum->added, sum->removed, sum->restarted, sum->unchanged);
    if (sum->held && n > 0 && (size_t)n < len)
        snprintf(msg + n, len - (size_t)n, "; %d of them one at a time through nginx", sum->held);
    log_info("%s", msg);
    if (r->told_ready) /* else READY=1 comes once every autostart program is */
        notify_ready();
    return 0;
}

/* SIGHUP: as tendctl reload, said in the log only. */
static void reload(struct run *r)
{
    struct diag_list d = {0};
    struct reload_summary sum = {0};
    struct config *next;
    char msg[2048];
    int rc = load_next(r, &next, &d, msg, sizeof(msg));
    diag_clear(&d);
    if (rc == 0 && apply_next(r, next, &sum, msg, sizeof(msg)) == 0)
        reload_request_supersede(&r->commands);
}

static void shutdown_hook(void *ctx)
{
    begin_shutdown(ctx, 0);
}

static const struct commands_hooks hooks = {load_next, apply_next, shutdown_hook};

/* systemd hears READY=1 once every autostart program is ready, and a summary line. */
static void tell_systemd(struct run *r)
{
    int n = supervisor_count(r->sup), running = supervisor_in_state(r->sup, PROC_RUNNING);
    int fatal = supervisor_in_state(r->sup, PROC_FATAL);
    if (fatal)
        notify_status("%d of %d processes running, %d FATAL", running, n, fatal);
    else
        notify_status("%d of %d processes running", running, n);
    if (!r->told_ready && r->phase == PHASE_RUNNING && supervisor_all_ready(r->sup)) {
        r->told_ready = true;
        notify_ready();
        log_info("every autostart program is ready");
    }
}

/* Once per batch of news: what waits on the table looks again. */
/* tend dev --abort-on-exit: the first process that ends for good ends the run, with
 * its status (foreman's and overmind's way, docker compose's --abort-on-container-exit). */
static void abort_on_exit(struct run *r, const struct proc *p, enum proc_state old)
{
    enum proc_state st = proc_state(p);
    if (!r->o->abort_on_exit || r->phase != PHASE_RUNNING || st == old ||
        (st != PROC_EXITED && st != PROC_FATAL))
        return;
    int status = proc_last_status(p), code = status >= 0 ? strconv_exit_code(status) : 1;
    log_info("%s: %s: stopping everything (--abort-on-exit)", proc_name(p),
             st == PROC_EXITED ? "exited" : "gave up");
    begin_shutdown(r, st == PROC_FATAL && !code ? 1 : code);
}

/* tend dev: when every process is done (or left out: NAME..., autostart = false) and
 * no file change can start one again, nothing more will happen: tend dev ends, as
 * foreman does. The counts rule most batches out; the walk is for the last one. */
static void end_when_all_done(struct run *r)
{
    int n = supervisor_count(r->sup), done = supervisor_in_state(r->sup, PROC_EXITED);
    if (!r->o->dev || r->phase != PHASE_RUNNING || !done || r->nwatchers ||
        done + supervisor_in_state(r->sup, PROC_STOPPED) != n)
        return;
    for (int i = 0; i < n; i++)
        if (proc_wanted_up(supervisor_proc(r->sup, i)) &&
            proc_state(supervisor_proc(r->sup, i)) == PROC_STOPPED)
            return; /* about to start (a reload added it) */
    log_info("every process is done");
    begin_shutdown(r, 0);
}

static void on_change(void *ctx, struct proc *p, enum proc_state old)
{
    struct run *r = ctx;
    if (p)
        return abort_on_exit(r, p, old);
    end_when_all_done(r);
    control_progress(r->control);
    rollout_progress(r->rollout);
    tell_systemd(r);
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    notify_watchdog();
}

/* ---- events ---- */

static void on_signal(void *ctx, int signo)
{
    struct run *r = ctx;
    switch (action_of(signo, r->o->dev)) {
    case SIG_SHUTDOWN:
        if (r->phase == PHASE_RUNNING) {
            begin_shutdown(r, 0);
        } else if (signo == SIGINT && r->phase == PHASE_STOPPING) {
            log_warn("interrupted again: SIGKILL to everything");
            supervisor_kill_all(r->sup);
        } else if (signo == SIGINT && r->phase == PHASE_SWEEPING) {
            log_warn("interrupted again: SIGKILL to what is left");
            pid1_signal_all(SIGKILL);
        }
        break;
    case SIG_RELOAD:
        reload(r);
        break;
    case SIG_REOPEN:
        logfile_reopen_all();
        break;
    case SIG_REAP:
        reap(r);
        break;
    case SIG_IGNORE:
        break;
    }
}

/* An output or a log stream fell behind or caught up: the pipes that write there
 * pause or go on (each pipe by its own destinations). */
static void on_congestion(void *ctx, bool congested)
{
    struct run *r = ctx;
    (void)congested;
    if (r->io)
        childio_congestion_changed(r->io);
}

/* tend's own lines: to stderr (unless silent), and to its logfile when it has one. */
static void log_line(void *ctx, const char *line, size_t len)
{
    struct run *r = ctx;
    if (!r->cfg->tend.silent || !r->logfile)
        output_write(r->own, line, len);
    if (r->logfile)
        logfile_write(r->logfile, line, len);
}

/* ---- the beginning ---- */

static int load(const struct run_opts *o, struct config **cfg)
{
    struct diag_list diags = {0};
    int r = o->load(o->ctx, cfg, &diags);
    diag_print(&diags, stderr);
    diag_clear(&diags);
    return r;
}

/* Names in prefixes are padded to the longest, so that columns line up. */
static int name_width(const struct config *c)
{
    int width = 4; /* "tend" */
    for (int i = 0; i < c->nprograms; i++)
        for (int j = 0; j < c->programs[i].nprocs; j++) {
            int n = (int)strlen(c->programs[i].procs[j].name);
            width = n > width ? n : width;
        }
    return width;
}

/* Written through safepath (never through a link another user made, never into a
 * file of someone else's); removed at the end only if it is still the one written. */
struct pidfile {
    char *path;
    dev_t dev;
    ino_t ino;
};

static void write_pidfile(struct pidfile *pf)
{
    char why[4096 + 256], text[32];
    struct stat st;
    struct safepath_opts o = {.kind = SAFEPATH_FILE, .owner = (uid_t)-1, .mode = 0644,
                              .create = true, .truncate = true};
    if (!pf->path)
        return;
    int fd = safepath_open(pf->path, &o, NULL, why, sizeof(why));
    if (fd < 0) {
        log_warn("pidfile %s: not written", why);
        free(pf->path);
        pf->path = NULL;
        return;
    }
    int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());
    if (write(fd, text, (size_t)n) != n)
        log_warn("pidfile '%s': %s", pf->path, strerror(errno));
    if (fstat(fd, &st) == 0)
        pf->dev = st.st_dev, pf->ino = st.st_ino;
    close(fd);
}

static void remove_pidfile(struct pidfile *pf)
{
    struct stat st;
    const char *base;
    char why[256];
    int dir = pf->path ? safepath_parent(pf->path, &base, why, sizeof(why)) : -1;
    if (dir >= 0 && fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == pf->dev &&
        st.st_ino == pf->ino)
        unlinkat(dir, base, 0);
    if (dir >= 0)
        close(dir);
    free(pf->path);
}

/* [tend] logfile: images made for supervisord often name /dev/stdout or /dev/null,
 * streams tend writes (or not) anyway, not files to open a second time. Returns
 * the stream's descriptor, or -1 for a file. */
static int own_stream(const char *path)
{
    if (!path || !strcmp(path, "/dev/null") || !strcmp(path, "/dev/stderr") ||
        !strcmp(path, "/dev/fd/2"))
        return STDERR_FILENO;
    if (!strcmp(path, "/dev/stdout") || !strcmp(path, "/dev/fd/1"))
        return STDOUT_FILENO;
    return -1;
}

static void open_own_logfile(struct run *r, const struct tend_cfg *t)
{
    char why[4096 + 256];
    struct logfile_opts o = {.path = t->logfile, .kind = config_log_kind(t->logfile),
                             .maxbytes = t->logfile_maxbytes, .backups = t->logfile_backups,
                             .owner = t->user ? t->uid : (uid_t)-1, /* after the drop too */
                             .group = t->user ? t->gid : (gid_t)-1};
    if (!(r->logfile = logfile_open(&o, why, sizeof(why))))
        log_error("logfile %s: logging to stderr only", why);
}

static int setup(struct run *r)
{
    sigset_t set;
    int err;
    uv_loop_init(&r->loop);
    uv_timer_init(&r->loop, &r->deadline);
    uv_timer_init(&r->loop, &r->watchdog);
    r->deadline.data = r;
    r->out = output_open(&r->loop, STDOUT_FILENO, on_congestion, r);
    r->err = output_open(&r->loop, STDERR_FILENO, on_congestion, r);
    if (!r->out || !r->err)
        return -ENOMEM;
    const struct tend_cfg *t = &r->cfg->tend;
    int stream = own_stream(t->logfile);
    r->own = stream == STDOUT_FILENO ? r->out : r->err;
    logfile_setup(&r->loop, on_congestion, r, r->out, r->err);
    if (!(r->io = childio_new(&r->loop, r->out, r->err, &r->style)))
        return -ENOMEM;
    if (stream < 0)
        open_own_logfile(r, t);
    log_set_sink(log_line, r);
    sigemptyset(&set);
    for (int sig = 1; sig < 32; sig++)
        if (action_of(sig, false) != SIG_IGNORE)
            sigaddset(&set, sig);
    if (!(r->signals = signals_start(&r->loop, &set, on_signal, r, &err))) {
        log_error("watch signals: %s", uv_strerror(err));
        return err;
    }
    if (!(r->sup = supervisor_new(&r->loop, r->loaded, on_critical, r, r->io, NULL)))
        return -ENOMEM;
    r->loaded = NULL;
    char why[4096 + 256];
    if ((err = nginx_prepare(r->cfg, why, sizeof(why))) < 0) {
        log_error("nginx: %s: not starting", why);
        return err;
    }
    if (!(r->nginx = nginx_new(&r->loop, r->sup, r->cfg)))
        return -ENOMEM;
    r->commands = (struct commands){r->sup, r->nginx, &hooks, r};
    r->control = control_start(&r->loop, &r->cfg->tend, commands_run, &r->commands, &err, why,
                               sizeof(why));
    /* another tend, or a place another user controls: tendctl would not reach this one */
    if (!r->control && (err == -EADDRINUSE || err == -EPERM || err == -ELOOP)) {
        log_error("%s: not starting", why);
        return err;
    }
    if (!r->control)
        log_error("control: %s: tendctl cannot reach this tend", why);
    if (!(r->rollout = rollout_new(r->sup, r->nginx, 1, &reload_rollout, r)) ||
        !(r->heal = heal_new(r->sup, r->nginx)))
        return -ENOMEM;
    if (r->o->dev && !(r->notes = devnotes_new(&r->loop, r->sup)))
        return -ENOMEM; /* first: "done" is said before what it makes tend do */
    supervisor_observe(r->sup, on_change, r);
    uint64_t wd = notify_watchdog_ms();
    if (wd) /* systemd asked: this is the one periodic wake-up tend has */
        uv_timer_start(&r->watchdog, on_watchdog, wd, wd);
    return 0;
}

/* [supervisord] minprocs: as supervisord, the soft process limit is raised to it
 * (programs inherit it); past the hard limit, said. */
static void raise_nproc(int minprocs)
{
    struct rlimit rl;
    if (minprocs <= 0 || getrlimit(RLIMIT_NPROC, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= (rlim_t)minprocs)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= (rlim_t)minprocs ? (rlim_t)minprocs
                                                                                    : rl.rlim_max;
    if (setrlimit(RLIMIT_NPROC, &rl) < 0 || rl.rlim_cur < (rlim_t)minprocs)
        log_warn("minprocs = %d: the process limit stays at %llu", minprocs,
                 (unsigned long long)rl.rlim_cur);
}

/* [supervisord] user, as supervisord does it: once what needs root is done (the
 * socket bound, the pidfile, log and nginx directories), tend becomes that user for
 * good, and its programs run as it unless they have a user of their own (which then
 * only root could give them). A user that cannot be had stops tend: running
 * everything as root instead is what the config said not to do. */
static int drop_privileges(const struct tend_cfg *t)
{
    if (!t->user)
        return 0;
    if (t->user_problem) {
        log_error("user: %s: not starting", t->user_problem);
        return -EINVAL;
    }
    if (t->uid == geteuid())
        return 0;
    if (geteuid() != 0) {
        log_error("user '%s': tend runs as uid %d and cannot become another user: not starting",
                  t->user, (int)geteuid());
        return -EPERM;
    }
    if (initgroups(t->user, t->gid) < 0 || setgid(t->gid) < 0 || setuid(t->uid) < 0) {
        log_error("user '%s': %s: not starting", t->user, strerror(errno));
        return -errno;
    }
    if (setuid(0) == 0) {
        log_error("user '%s': root could be had back: not starting", t->user);
        return -EPERM;
    }
    log_info("running as user '%s' (uid %d) from now on", t->user, (int)t->uid);
    return 0;
}

static int load_path(const void *ctx, struct config **out, struct diag_list *d)
{
    return config_load(ctx, out, d);
}

int run_main(const char *path)
{
    struct run_opts o = {.path = path, .load = load_path, .ctx = path};
    return run_with(&o);
}

int run_with(const struct run_opts *o)
{
    struct run r = {.o = o, .path = o->path};
    struct config *cfg;
    if (load(o, &cfg) < 0)
        return 1;
    r.cfg = r.loaded = cfg;
    const struct tend_cfg *t = &cfg->tend;
    struct pidfile pidfile = {t->pidfile ? strdup(t->pidfile) : NULL}; /* cfg may be reloaded away */
    r.style.width = name_width(cfg);
    apply_settings(&r, cfg);
    if (t->umask >= 0)
        umask((mode_t)t->umask);
    raise_nproc(t->minprocs);
    if (setup(&r) < 0) { /* undo what setup did, so that nothing is left to leak */
        r.status = 1;
        finish(&r);
        uv_run(&r.loop, UV_RUN_DEFAULT);
        uv_loop_close(&r.loop);
        childio_free(r.io);
        config_free(r.loaded);
        free(pidfile.path);
        return 1;
    }
    log_info("tend %s as pid %d, config %s", pid1_is_init() ? "is init" : "started",
             (int)getpid(), o->path);
    if (o->dev)
        log_info("control: tendctl -s %s status", cfg->tend.socket);
    write_pidfile(&pidfile);
    if (drop_privileges(t) < 0) {
        r.status = 1;
        begin_shutdown(&r, 1); /* nothing started: it ends at once */
    }
    if (r.phase == PHASE_RUNNING && keep_only(&r) < 0)
        begin_shutdown(&r, 1);
    start_watching(&r);
    supervisor_start(r.sup);
    tell_systemd(&r); /* a config with nothing to start is ready at once */
    uv_run(&r.loop, UV_RUN_DEFAULT);
    uv_loop_close(&r.loop);
    childio_free(r.io); /* every reader closed with the loop */
    remove_pidfile(&pidfile);
    return r.status;
}
