/* nginx: decides what nginx's upstream should be and brings nginx there. */
#include "nginx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "index.h"
#include "log.h"
#include "nginx_conf.h"
#include "safepath.h"
#include "spawn.h"

extern char **environ;

enum {
    GRACE_MS = 1000,        /* in BACKOFF or STARTING this long: out of the upstream */
    QUIET_MS = 250,         /* a burst of changes ends after this long without one */
    MAX_WAIT_MS = 2000,     /* ...or this long after its first change */
    POLL_MS = 50,           /* while confirming a reload */
    CONFIRM_MS = 5000,      /* new workers must appear within this */
    CHECK_MS = 10000,       /* nginx -t must finish within this */
    OLD_WORKERS_MS = 15000, /* worker_shutdown_timeout is 10 s */
    MAX_PIDS = 256,
    RETRY_MS = 1000,        /* a failed apply is tried again after this, doubling */
    MAX_RETRY_MS = 30000,
};

enum phase { IDLE, CHECKING, CONFIRMING };

/* A set of names: in order (v) and hashed (ix), so that a lookup is O(1) when the
 * upstream has thousands of workers. */
struct names {
    char **v;
    int n, cap;
    struct index ix;
};

/* Names held out of the upstream for an owner, from nginx_drain to nginx_release. */
struct drain {
    struct names names;
    nginx_drained_cb *cb;
    void *owner;
    bool waiting;              /* the reload without them took; old workers still run */
    bool done;                 /* cb was called: held out until released */
    bool live;                 /* done once the reload took: no wait for old workers */
    pid_t old[MAX_PIDS];       /* nginx's workers from before that reload */
    int nold;
    uint64_t deadline;
    struct drain *next;
};

struct nginx {
    uv_loop_t *loop;
    struct supervisor *sup;
    const struct config *cfg;
    uv_timer_t coalesce, grace, poll;
    int closing; /* timers whose close is pending: n is freed with the last */
    enum phase phase;
    bool pending;       /* a change arrived while busy, or is being coalesced */
    uint64_t first_change;
    char *applied, *candidate; /* the text nginx has, and the one being applied */
    char *applied_to;          /* the file applied was written to */
    struct names in, cand_in;  /* which processes each of them includes */
    struct drain *drains;      /* what is held out on purpose (stop, scale, rollouts) */
    int failures;              /* applies failed in a row: the retry backs off */
    pid_t check_pid;
    int check_fd;     /* its output */
    int check_status; /* its exec-status pipe, read once it exited */
    uint64_t deadline;
    pid_t old[MAX_PIDS]; /* the master's workers before SIGHUP */
    int nold;
    char error[2048];
};

static void request(struct nginx *n);

/* ---- small sets of names ---- */

static bool is_name(const void *value, const void *key)
{
    return !strcmp(value, key);
}

static bool has(const struct names *s, const char *name)
{
    return index_find(&s->ix, index_hash_str(name), is_name, name) != NULL;
}

/* Out of memory, the name is left out: the upstream lacks one worker until the
 * next render (it is logged by the caller's failing write, if any). */
static void add(struct names *s, const char *name)
{
    if (has(s, name))
        return;
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, sizeof(char *) * (size_t)cap);
        if (!v)
            return;
        s->v = v;
        s->cap = cap;
    }
    char *copy = strdup(name);
    if (copy && index_put(&s->ix, index_hash_str(copy), copy) == 0)
        s->v[s->n++] = copy;
    else
        free(copy);
}

static void clear(struct names *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    index_free(&s->ix);
    *s = (struct names){0};
}

static void take(struct names *dst, struct names *src)
{
    clear(dst);
    *dst = *src;
    *src = (struct names){0};
}

/* ---- what the upstream should be ---- */

static bool upstream_program(const struct config *c, const struct program_cfg *p)
{
    for (int i = 0; c->nginx && i < c->nginx->nroutes; i++)
        if (!strcmp(c->nginx->routes[i].program, p->name))
            return true;
    return false;
}

/* Whether p belongs in the upstream now; *recheck gets the ms until that may change.
 * Once in, a worker that crashed stays while it restarts (nginx retries the others
 * meanwhile: a reload per crash would cost more); it goes when it is down for good,
 * or has been in BACKOFF, or STARTING and not yet ready, for a second. */
static bool drained(const struct nginx *n, const char *name)
{
    for (const struct drain *d = n->drains; d; d = d->next)
        if (has(&d->names, name))
            return true;
    return false;
}

static bool wanted(const struct nginx *n, struct proc *p, uint64_t *recheck)
{
    enum proc_state st = proc_state(p);
    if (drained(n, proc_name(p)))
        return false;
    if (st == PROC_RUNNING)
        return true;
    if (!has(&n->in, proc_name(p)) || proc_state_is_down(st))
        return false;
    if (st != PROC_BACKOFF && st != PROC_STARTING)
        return true;
    if (proc_state_ms(p) >= GRACE_MS)
        return false;
    uint64_t left = GRACE_MS - proc_state_ms(p);
    if (left < *recheck)
        *recheck = left;
    return true;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Renders the wanted upstream; fills names with the processes it includes. */
static char *render(struct nginx *n, struct names *names, uint64_t *recheck)
{
    const struct config *c = n->cfg;
    int count = supervisor_count(n->sup), np = 0;
    int *ports = calloc((size_t)count + 1, sizeof(int));
    struct nginx_pool *pools = calloc((size_t)c->nginx->nroutes + 1, sizeof(*pools));
    char *text = NULL;
    if (!ports || !pools)
        goto out;
    for (int r = 0; r < c->nginx->nroutes; r++) {
        struct nginx_pool *pool = &pools[r];
        pool->program = c->nginx->routes[r].program;
        pool->ports = ports + np;
        for (int i = 0; i < count; i++) {
            struct proc *p = supervisor_proc(n->sup, i);
            if (strcmp(proc_program(p)->name, pool->program) || !wanted(n, p, recheck))
                continue;
            ports[np++] = proc_port(p);
            pool->nports++;
            add(names, proc_name(p));
        }
        qsort(ports + np - pool->nports, (size_t)pool->nports, sizeof(int), cmp_int);
    }
    text = nginx_conf_render(c, pools, c->nginx->nroutes);
out:
    free(ports);
    free(pools);
    return text;
}

/* ---- files ---- */

/* Through safepath: never through a link another user made, never into a file of
 * someone else's. fresh: a file of tend's own, made anew (O_EXCL) in its checked
 * directory; else the file is emptied, once checked, and written in place. */
static int write_file(const char *path, const char *text, bool fresh, char *why, size_t len)
{
    struct safepath_opts o = {.kind = SAFEPATH_FILE, .owner = (uid_t)-1, .mode = 0644,
                              .create = true, .exclusive = fresh, .truncate = !fresh};
    const char *base;
    int dir = fresh ? safepath_parent(path, &base, why, len) : -1;
    if (dir >= 0) {
        unlinkat(dir, base, 0);
        close(dir);
    }
    int fd = safepath_open(path, &o, NULL, why, len);
    if (fd < 0)
        return fd;
    fcntl(fd, F_SETFL, O_WRONLY); /* a regular file: blocking is brief */
    int r = fd_write_all(fd, text, strlen(text), NULL);
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0)
        snprintf(why, len, "'%s': %s", path, strerror(-r));
    return r;
}

static void tmp_path(const struct nginx *n, char *buf, size_t len)
{
    snprintf(buf, len, "%s.new", n->cfg->nginx->config);
}

/* rename() is atomic; a bind-mounted file cannot be replaced (EBUSY): write it in place. */
static int install(const struct nginx *n, const char *tmp, char *why, size_t len)
{
    const char *path = n->cfg->nginx->config;
    if (rename(tmp, path) == 0)
        return 0;
    if (errno != EBUSY && errno != EXDEV)
        return snprintf(why, len, "'%s': %s", path, strerror(errno)), -errno;
    int r = write_file(path, n->candidate, false, why, len);
    unlink(tmp);
    return r;
}

/* ---- the nginx program ---- */

static struct proc *master(const struct nginx *n)
{
    if (!n->cfg->nginx)
        return NULL;
    for (int i = 0; i < supervisor_count(n->sup); i++) {
        struct proc *p = supervisor_proc(n->sup, i);
        if (!strcmp(proc_program(p)->name, n->cfg->nginx->program))
            return p;
    }
    return NULL;
}

static int workers(pid_t pid, pid_t *out, int max)
{
    char path[64];
    int count = 0;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "re");
    for (int w; f && count < max && fscanf(f, "%d", &w) == 1;)
        out[count++] = w;
    if (f)
        fclose(f);
    return count;
}


/* ---- drains ---- */

static void drain_free(struct drain *d)
{
    clear(&d->names);
    free(d);
}

static bool excluded(const struct nginx *n, const struct drain *d)
{
    for (int i = 0; i < d->names.n; i++)
        if (has(&n->in, d->names.v[i]))
            return false;
    return true;
}

/* After a change went live: drains it completed wait for the old workers. */
static void advance_drains(struct nginx *n, const pid_t *old, int nold)
{
    for (struct drain *d = n->drains; d; d = d->next) {
        if (d->waiting || d->done || !excluded(n, d))
            continue;
        d->waiting = true;
        d->nold = d->live ? 0 : nold;
        memcpy(d->old, old, sizeof(pid_t) * (size_t)nold);
        d->deadline = uv_now(n->loop) + OLD_WORKERS_MS;
    }
}

static bool old_workers_gone(const struct drain *d)
{
    for (int i = 0; i < d->nold; i++)
        if (kill(d->old[i], 0) == 0)
            return false;
    return true;
}

static struct drain *next_finished(const struct nginx *n)
{
    for (struct drain *d = n->drains; d; d = d->next)
        if (d->waiting && !d->done &&
            (uv_now(n->loop) >= d->deadline || old_workers_gone(d)))
            return d;
    return NULL;
}

static struct drain *next_failed(const struct nginx *n)
{
    for (struct drain *d = n->drains; d; d = d->next)
        if (!d->waiting && !d->done)
            return d;
    return NULL;
}

/* Tells owners their drain ended. A callback may drain or release anything (STYLE
 * rule 12): each walk starts again from the head, and a drain is told once. */
static void tell_drains(struct nginx *n, struct drain *(*next)(const struct nginx *), int err)
{
    for (struct drain *d; (d = next(n));) {
        d->done = true;
        d->cb(d->owner, err);
    }
}

static bool drains_waiting(const struct nginx *n)
{
    for (const struct drain *d = n->drains; d; d = d->next)
        if (d->waiting && !d->done)
            return true;
    return false;
}

/* ---- applying a change ---- */

static void on_poll(uv_timer_t *t);
static void on_coalesced(uv_timer_t *t);

/* The change did not go live. It is tried again, backing off, with whatever changed
 * meanwhile; drains waiting on it go on without it (nginx retries a worker that is
 * gone), so that no stop waits on nginx. */
static void fail(struct nginx *n, const char *fmt, const char *detail)
{
    snprintf(n->error, sizeof(n->error), fmt, detail);
    free(n->candidate);
    n->candidate = NULL;
    clear(&n->cand_in);
    if (n->check_fd >= 0)
        close(n->check_fd);
    if (n->check_status >= 0)
        close(n->check_status);
    n->check_fd = n->check_status = -1;
    n->check_pid = 0;
    n->phase = IDLE;
    n->pending = true;
    uint64_t delay = (uint64_t)RETRY_MS << (n->failures < 5 ? n->failures : 5);
    delay = delay < MAX_RETRY_MS ? delay : MAX_RETRY_MS;
    n->failures++;
    log_error("nginx: %s (trying again in %llus)", n->error, (unsigned long long)delay / 1000);
    uv_timer_start(&n->coalesce, on_coalesced, delay, 0);
    tell_drains(n, next_failed, -EIO);
}

static void went_live(struct nginx *n)
{
    if (n->phase == CONFIRMING)
        log_info("nginx: reloaded, %d worker%s in the upstream", n->cand_in.n,
                 n->cand_in.n == 1 ? "" : "s");
    free(n->applied);
    n->applied = n->candidate;
    n->candidate = NULL;
    if (!n->applied_to || strcmp(n->applied_to, n->cfg->nginx->config)) {
        free(n->applied_to);
        n->applied_to = strdup(n->cfg->nginx->config);
    }
    take(&n->in, &n->cand_in);
    n->error[0] = '\0';
    n->failures = 0;
    n->phase = IDLE;
    advance_drains(n, n->old, n->nold);
    if (drains_waiting(n))
        uv_timer_start(&n->poll, on_poll, POLL_MS, 0);
    if (n->pending)
        request(n);
    tell_drains(n, next_finished, 0);
}

static void on_poll(uv_timer_t *t)
{
    struct nginx *n = t->data;
    struct proc *m = master(n);
    if (n->phase == CONFIRMING) {
        pid_t now[MAX_PIDS];
        int count = m && proc_pid(m) > 0 ? workers(proc_pid(m), now, MAX_PIDS) : 0;
        for (int i = 0; i < count && n->phase == CONFIRMING; i++) {
            bool old = false;
            for (int j = 0; j < n->nold; j++)
                old |= now[i] == n->old[j];
            if (!old)
                went_live(n);
        }
        if (n->phase == CONFIRMING && uv_now(n->loop) >= n->deadline)
            fail(n, "no new workers after SIGHUP: the reload did not take%s", "");
    }
    if (n->phase == CHECKING && uv_now(n->loop) >= n->deadline) {
        kill(n->check_pid, SIGKILL); /* reaped as an orphan */
        fail(n, "'nginx -t' did not finish%s", "");
    }
    if (n->phase != IDLE || drains_waiting(n))
        uv_timer_start(&n->poll, on_poll, POLL_MS, 0);
    tell_drains(n, next_finished, 0);
}

static void reload(struct nginx *n)
{
    char tmp[4096], why[4096 + 256];
    struct proc *m = master(n);
    tmp_path(n, tmp, sizeof(tmp));
    int r = n->cfg->nginx->mode == NGINX_FULL ? install(n, tmp, why, sizeof(why)) : 0;
    if (r < 0) /* include mode: written in place already */
        return fail(n, "install the new config: %s", why);
    if (!m || proc_pid(m) <= 0) {
        n->nold = 0;
        return went_live(n); /* nginx reads it when it starts */
    }
    n->nold = workers(proc_pid(m), n->old, MAX_PIDS);
    if (kill(proc_pid(m), SIGHUP) < 0)
        return fail(n, "SIGHUP nginx: %s", strerror(errno));
    n->phase = CONFIRMING;
    n->deadline = uv_now(n->loop) + CONFIRM_MS;
    uv_timer_start(&n->poll, on_poll, POLL_MS, 0);
}

/* nginx -t, run as the master runs: its argv and user. In full mode the candidate
 * is the -c file; in include mode it is already where the user's nginx.conf
 * includes it. */
static int check(struct nginx *n, const char *tmp)
{
    bool full = n->cfg->nginx->mode == NGINX_FULL;
    const struct program_cfg *p = config_program(n->cfg, n->cfg->nginx->program);
    const struct proc_cfg *c = &p->procs[0];
    int argc = 0, fds[2];
    while (c->argv[argc])
        argc++;
    char **argv = calloc((size_t)argc + 4, sizeof(char *));
    if (!argv || pipe2(fds, O_CLOEXEC) < 0)
        return free(argv), -errno;
    bool has_c = false;
    for (int i = 0; i < argc; i++) {
        argv[i] = c->argv[i];
        if (full && i > 0 && !strcmp(c->argv[i - 1], "-c"))
            argv[i] = (char *)tmp, has_c = true;
    }
    if (full && !has_c)
        argv[argc++] = "-c", argv[argc++] = (char *)tmp;
    argv[argc++] = "-t";
    struct spawn_opts o = {.argv = argv, .envp = environ, .directory = c->directory, .umask = -1,
                           .user = p->user, .uid = p->uid, .gid = p->gid, .fds = {-1, fds[1], fds[1]}};
    char err[512];
    int r = spawn_start(&o, &n->check_pid, &n->check_status, err, sizeof(err));
    free(argv);
    close(fds[1]);
    if (r < 0) {
        close(fds[0]);
        snprintf(n->error, sizeof(n->error), "%s", err);
        return r;
    }
    n->check_fd = fds[0];
    fcntl(fds[0], F_SETFL, O_NONBLOCK); /* read once it exited: never wait on it */
    return 0;
}

static void on_grace(uv_timer_t *t)
{
    request(t->data);
}

static void apply(struct nginx *n)
{
    char tmp[4096], why[4096 + 256];
    uint64_t recheck = UINT64_MAX;
    n->pending = false;
    if (!n->cfg->nginx) { /* no [nginx] (any more): nothing routes, drains are over */
        clear(&n->in);
        n->nold = 0;
        advance_drains(n, NULL, 0);
        return tell_drains(n, next_finished, 0);
    }
    struct proc *m = master(n);
    if (m && proc_pid(m) > 0 && proc_state(m) == PROC_STARTING) {
        /* nginx installs its signal handlers only after reading its config: a SIGHUP
         * now would kill it. The news that it is RUNNING brings this back. */
        n->pending = true;
        return;
    }
    n->candidate = render(n, &n->cand_in, &recheck);
    if (recheck != UINT64_MAX) /* a worker's second without being ready may run out */
        uv_timer_start(&n->grace, on_grace, recheck + 1, 0);
    if (!n->candidate)
        return fail(n, "render the config: %s", "out of memory");
    if (n->applied && !strcmp(n->candidate, n->applied)) {
        log_debug("nginx: the config is unchanged: no reload");
        went_live(n); /* nothing to do, but drains waiting on it may go on */
        return;
    }
    /* include mode can only be tested where nginx.conf includes it: the old text goes
     * back if nginx rejects the new one (nginx reads it only when told to reload) */
    if (n->cfg->nginx->mode == NGINX_FULL)
        tmp_path(n, tmp, sizeof(tmp));
    else
        snprintf(tmp, sizeof(tmp), "%s", n->cfg->nginx->config);
    int r = write_file(tmp, n->candidate, n->cfg->nginx->mode == NGINX_FULL, why, sizeof(why));
    if (r < 0)
        return fail(n, "write the new config: %s", why);
    if (!m || proc_pid(m) <= 0)
        return reload(n); /* nginx is not running: it checks the file when it starts */
    if (check(n, tmp) < 0)
        return fail(n, "%s", n->error);
    n->phase = CHECKING;
    n->deadline = uv_now(n->loop) + CHECK_MS;
    uv_timer_start(&n->poll, on_poll, POLL_MS, 0);
}

static void on_coalesced(uv_timer_t *t)
{
    struct nginx *n = t->data;
    if (n->phase == IDLE)
        apply(n);
}

/* Something changed: apply it from the loop once the burst is over (on the next
 * turn when nginx is not running: it starts with every ready worker). Never at
 * once: whoever asked may be told of drains, and must not be inside this call. */
static void request(struct nginx *n)
{
    uint64_t now = uv_now(n->loop);
    struct proc *m = master(n);
    bool armed = uv_is_active((uv_handle_t *)&n->coalesce);
    if (n->phase != IDLE || (n->failures && armed)) { /* busy, or backing off */
        n->pending = true;
        return;
    }
    if (!m || proc_pid(m) <= 0) {
        n->pending = true;
        uv_timer_start(&n->coalesce, on_coalesced, 0, 0);
        return;
    }
    if (!n->pending)
        n->first_change = now;
    n->pending = true;
    uint64_t due = n->first_change + MAX_WAIT_MS, wait = due > now ? due - now : 0;
    uv_timer_start(&n->coalesce, on_coalesced, wait < QUIET_MS ? wait : QUIET_MS, 0);
}

bool nginx_child_exited(struct nginx *n, pid_t pid, int status)
{
    if (!n || pid != n->check_pid || n->phase != CHECKING)
        return false;
    char msg[1500] = "";
    ssize_t got = read(n->check_fd, msg, sizeof(msg) - 1); /* it wrote, then exited */
    msg[got > 0 ? got : 0] = '\0';
    close(n->check_fd);
    n->check_fd = -1;
    n->check_pid = 0;
    char why[512];
    const struct program_cfg *p = config_program(n->cfg, n->cfg->nginx->program);
    struct spawn_opts o = {.argv = p->procs[0].argv, .directory = p->procs[0].directory,
                           .user = p->user};
    int r = spawn_result(n->check_status, &o, why, sizeof(why));
    if (r == -EAGAIN) /* cannot be, once it exited; but never leak it */
        close(n->check_status);
    n->check_status = -1;
    if (r < 0 && r != -EAGAIN)
        return fail(n, "'nginx -t': %s", why), true;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return reload(n), true;
    char tmp[4096];
    tmp_path(n, tmp, sizeof(tmp));
    if (n->cfg->nginx->mode == NGINX_FULL)
        unlink(tmp);
    else if (n->applied) /* put back what nginx runs with */
        write_file(n->cfg->nginx->config, n->applied, false, tmp, sizeof(tmp));
    msg[strcspn(msg, "\n")] = '\0'; /* the first line names the problem */
    fail(n, "nginx rejected the generated config, which did not go live: %s", msg);
    return true;
}

/* From the supervisor's news, after the transition: with nginx not running, the
 * file is written now, before the supervisor starts nginx (it waits until the
 * news of what nginx depends on is told). */
static void on_change(void *ctx, struct proc *p, enum proc_state old)
{
    struct nginx *n = ctx;
    struct proc *m = master(n);
    (void)old;
    if (!p || !n->cfg->nginx || (!upstream_program(n->cfg, proc_program(p)) && p != m))
        return;
    if (n->phase == IDLE && !n->failures && (!m || proc_pid(m) <= 0))
        apply(n);
    else
        request(n);
}

/* ---- public ---- */

static void names_of(struct names *s, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        add(s, names[i]);
}

int nginx_drain(struct nginx *n, const char *const *names, int count, bool live,
                nginx_drained_cb *cb, void *owner)
{
    struct drain *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    names_of(&d->names, names, count);
    d->live = live;
    d->cb = cb;
    d->owner = owner;
    d->next = n->drains;
    n->drains = d;
    request(n);
    /* a sick worker: no wait for a burst of changes to end */
    if (live && n->phase == IDLE && !n->failures && uv_is_active((uv_handle_t *)&n->coalesce))
        uv_timer_start(&n->coalesce, on_coalesced, 0, 0);
    return 0;
}

bool nginx_routes_to(const struct nginx *n, const struct proc *p)
{
    const struct proc *m = master(n);
    if (!m || m == p || proc_state(m) != PROC_RUNNING)
        return false;
    return upstream_program(n->cfg, proc_program(p));
}

void nginx_release(struct nginx *n, void *owner)
{
    bool any = false;
    for (struct drain **p = &n->drains; *p;) {
        struct drain *d = *p;
        if (d->owner != owner) {
            p = &d->next;
            continue;
        }
        *p = d->next;
        drain_free(d);
        any = true;
    }
    if (any)
        request(n);
}

const char *nginx_text(const struct nginx *n)
{
    return n->applied ? n->applied : "";
}

const char *nginx_error(const struct nginx *n)
{
    return n->error;
}

/* The directory of nginx's config, pid and temp files: made, or checked, before
 * anything is written there, so that nobody else's nginx.conf is what nginx reads.
 * Once tend drops to [tend] user, it and nginx run as that user: theirs. nginx's
 * workers run as another user under a root master, and pass through it: 0711. */
int nginx_prepare(const struct config *cfg, char *why, size_t len)
{
    char run[4096];
    if (!cfg->nginx)
        return 0;
    nginx_conf_rundir(cfg, run, sizeof(run));
    const struct tend_cfg *t = &cfg->tend;
    uid_t uid = t->user ? t->uid : geteuid();
    gid_t gid = t->user ? t->gid : getegid();
    int fd = safepath_dir(run, uid, gid, uid == 0 ? 0711 : 0700, false, why, len);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

static void make_rundir(const struct config *cfg)
{
    char why[4096 + 256];
    if (nginx_prepare(cfg, why, sizeof(why)) < 0)
        log_error("nginx: %s", why);
}

void nginx_set_config(struct nginx *n, const struct config *cfg)
{
    n->cfg = cfg;
    make_rundir(cfg);
    if (!cfg->nginx || !n->applied_to || strcmp(n->applied_to, cfg->nginx->config)) {
        free(n->applied); /* a new file: write it again, even with the same text */
        n->applied = NULL;
    } /* else the same text is not applied again: a reload resets idle clients */
    request(n);
}

struct nginx *nginx_new(uv_loop_t *loop, struct supervisor *sup, const struct config *cfg)
{
    struct nginx *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->loop = loop;
    n->sup = sup;
    n->cfg = cfg;
    n->check_fd = n->check_status = -1;
    uv_timer_init(loop, &n->coalesce);
    uv_timer_init(loop, &n->grace);
    uv_timer_init(loop, &n->poll);
    n->coalesce.data = n->grace.data = n->poll.data = n;
    make_rundir(cfg);
    supervisor_observe(sup, on_change, n);
    apply(n); /* the file exists before nginx starts */
    return n;
}

static void on_closed(uv_handle_t *h)
{
    struct nginx *n = h->data;
    if (--n->closing == 0)
        free(n);
}

void nginx_free(struct nginx *n)
{
    if (!n)
        return;
    supervisor_unobserve(n->sup, on_change, n);
    for (struct drain *d = n->drains, *next; d; d = next) { /* their owners are gone */
        next = d->next;
        drain_free(d);
    }
    if (n->check_fd >= 0)
        close(n->check_fd);
    if (n->check_status >= 0)
        close(n->check_status);
    free(n->applied);
    free(n->applied_to);
    free(n->candidate);
    clear(&n->in);
    clear(&n->cand_in);
    /* libuv runs close callbacks in no promised order (1.44: the last closed first) */
    n->closing = 3;
    uv_close((uv_handle_t *)&n->coalesce, on_closed);
    uv_close((uv_handle_t *)&n->grace, on_closed);
    uv_close((uv_handle_t *)&n->poll, on_closed);
}
