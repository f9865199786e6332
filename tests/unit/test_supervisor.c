/* Unit tests: the supervisor's logic (reconcile, depends_on, critical, backoff, the
 * reload diff) through its seam, struct supervisor_os: spawning, signals and the
 * clock are this file's, so nothing is forked and no time passes. The loop is a real
 * libuv loop; a process's timer (startsecs, backoff) is fired by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "childio.h"
#include "config.h"
#include "diag.h"
#include "log.h"
#include "output.h"
#include "spawn.h"
#include "supervisor.h"
#include "../../src/supervisor_int.h"
#include "config_lines.h"

enum { MAX_CALLS = 64 };

struct call {
    char name[64]; /* the process's (SUPERVISOR_PROCESS_NAME), or "" for a kill */
    char argv0[64];
    pid_t pid;
    int sig;
};

/* The system as the tests see it. */
struct fake {
    struct call spawns[MAX_CALLS], kills[MAX_CALLS];
    int nspawns, nkills;
    pid_t next_pid;
    uint64_t now;
    int exec_error; /* what the next exec says: 0 it worked, else an errno */
    int critical_status, criticals;
    int held_port; /* a port someone else listens on, or 0 */
    int64_t wall;       /* the wall clock, ms since the epoch */
    uint64_t oom_kills; /* the OOM killer's count in tend's cgroup */
    int oom_error;      /* what reading it says: 0, or -errno (not known) */
    int oom_reads;
};

static struct fake F;

static const char *env_value(char *const *envp, const char *key)
{
    size_t n = strlen(key);
    for (; envp && *envp; envp++)
        if (!strncmp(*envp, key, n) && (*envp)[n] == '=')
            return *envp + n + 1;
    return "";
}

/* The exec-status pipe the supervisor watches: already at end-of-file (or holding
 * the errno of a failed exec), as a child's is once it exec'd. */
static int fake_spawn_start(void *ctx, const struct spawn_opts *o, pid_t *pid, int *status_fd,
                            char *err, size_t len)
{
    struct fake *f = ctx;
    int fds[2];
    (void)err, (void)len;
    assert_true(f->nspawns < MAX_CALLS);
    assert_int_equal(pipe(fds), 0);
    if (f->exec_error)
        assert_int_equal(write(fds[1], &f->exec_error, sizeof(int)), sizeof(int));
    close(fds[1]);
    struct call *c = &f->spawns[f->nspawns++];
    snprintf(c->name, sizeof(c->name), "%s", env_value(o->envp, "SUPERVISOR_PROCESS_NAME"));
    snprintf(c->argv0, sizeof(c->argv0), "%s", o->argv[0]);
    c->pid = *pid = f->next_pid++;
    *status_fd = fds[0];
    return 0;
}

static int fake_spawn_result(void *ctx, int status_fd, const struct spawn_opts *o, char *err,
                             size_t len)
{
    int e = 0;
    (void)ctx;
    ssize_t n = read(status_fd, &e, sizeof(e));
    close(status_fd);
    if (n <= 0)
        return 0;
    snprintf(err, len, "exec '%s': %s", o->argv[0], strerror(e));
    return -e;
}

static int fake_kill(void *ctx, pid_t pid, int sig)
{
    struct fake *f = ctx;
    assert_true(f->nkills < MAX_CALLS);
    f->kills[f->nkills++] = (struct call){.pid = pid, .sig = sig};
    return 0;
}

static uint64_t fake_now(void *ctx)
{
    return ((struct fake *)ctx)->now;
}

static int fake_port_holder(void *ctx, int port, char *desc, size_t len)
{
    struct fake *f = ctx;
    snprintf(desc, len, "pid 4242 (squatter)");
    return port == f->held_port;
}

static int64_t fake_wall(void *ctx)
{
    return ((struct fake *)ctx)->wall;
}

static int fake_oom_kills(void *ctx, uint64_t *count)
{
    struct fake *f = ctx;
    f->oom_reads++;
    *count = f->oom_kills;
    return f->oom_error;
}

static const struct supervisor_os fake_os = {fake_spawn_start, fake_spawn_result, fake_kill,
                                             fake_now,         &F,                fake_port_holder,
                                             fake_wall,        fake_oom_kills};

static void on_critical(void *ctx, int status)
{
    struct fake *f = ctx;
    f->critical_status = status;
    f->criticals++;
}

/* ---- a supervisor on a loop ---- */

struct world {
    uv_loop_t loop;
    struct output *out;
    struct childio *io;
    struct supervisor *s;
};

static struct line_style style = {.format = LOG_FORMAT_PREFIX};

/* The counts kept per change (account()) are what a walk of the table finds. */
static void check_counts(struct supervisor *s)
{
    int in_state[PROC_FATAL + 1] = {0}, unready = 0;
    for (int i = 0; i < supervisor_count(s); i++) {
        const struct proc *p = supervisor_proc(s, i);
        in_state[proc_state(p)]++;
        unready += proc_program(p)->autostart && !proc_removing(p) &&
                   proc_state(p) != PROC_RUNNING &&
                   !(proc_state(p) == PROC_EXITED && proc_exit_expected(p));
    }
    for (int st = 0; st <= PROC_FATAL; st++)
        if (supervisor_in_state(s, st) != in_state[st])
            fail_msg("%s: counted %d, kept %d", proc_state_name(st), in_state[st],
                     supervisor_in_state(s, st));
    assert_int_equal(supervisor_all_ready(s), unready == 0);
}

static void turn(struct world *w)
{
    for (int i = 0; i < 8; i++) /* the due, reconcile and news passes, and exec pipes */
        uv_run(&w->loop, UV_RUN_NOWAIT);
    check_counts(w->s);
}

static void world_start(struct world *w, const char *const *lines)
{
    int exec_error = F.exec_error, held = F.held_port; /* set by the test, for the first start too */
    uint64_t oom = F.oom_kills;
    memset(&F, 0, sizeof(F));
    F.exec_error = exec_error;
    F.held_port = held;
    F.oom_kills = oom;
    F.next_pid = 1000;
    F.now = 1000000;
    F.wall = 1700000000000;
    log_setup(LOG_CRIT, &style);
    assert_int_equal(uv_loop_init(&w->loop), 0);
    w->out = output_open(&w->loop, STDOUT_FILENO, NULL, NULL);
    w->io = childio_new(&w->loop, w->out, w->out, &style);
    w->s = supervisor_new(&w->loop, config_of(lines), on_critical, &F, w->io, &fake_os);
    assert_non_null(w->s);
    supervisor_start(w->s);
    turn(w);
}

static void world_end(struct world *w)
{
    supervisor_free(w->s);
    output_close(w->out, NULL, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    childio_free(w->io);
    assert_int_equal(uv_loop_close(&w->loop), 0);
    F.exec_error = 0;
    F.held_port = 0;
    F.oom_kills = 0;
}

static struct proc *find(struct world *w, const char *name)
{
    struct proc *p = supervisor_find(w->s, name);
    if (!p)
        fail_msg("no process %s", name);
    return p;
}

static void expect_state(struct world *w, const char *name, enum proc_state st)
{
    struct proc *p = find(w, name);
    if (proc_state(p) != st)
        fail_msg("%s: %s, want %s", name, proc_state_name(proc_state(p)), proc_state_name(st));
}

/* The child exited with this wait status (the reaper's call). */
static void exits(struct world *w, const char *name, int status)
{
    assert_true(supervisor_child_exited(w->s, proc_pid(find(w, name)), status));
    turn(w);
}

/* Its timer (startsecs, backoff, stopwaitsecs) goes off now; the clock moves on by
 * what was left of it. */
static uint64_t fire(struct world *w, const char *name)
{
    struct proc *p = find(w, name);
    assert_true(uv_is_active((uv_handle_t *)&p->timer));
    uint64_t left = uv_timer_get_due_in(&p->timer);
    F.now += left;
    uv_timer_start(&p->timer, p->timer.timer_cb, 0, 0);
    turn(w);
    return left;
}

static int spawns_of(const char *name)
{
    int n = 0;
    for (int i = 0; i < F.nspawns; i++)
        n += !strcmp(F.spawns[i].name, name);
    return n;
}

static int signals_to(pid_t pid, int sig)
{
    int n = 0;
    for (int i = 0; i < F.nkills; i++)
        n += F.kills[i].pid == pid && F.kills[i].sig == sig;
    return n;
}

/* ---- tests ---- */

static const char *const two_programs[] = {
    "program:b command=/bin/b", "program:b startsecs=0", "program:b priority=20",
    "program:b numprocs=2", "program:b process_name=%(program_name)s_%(process_num)d",
    "program:a command=/bin/a", "program:a startsecs=0", "program:a priority=10", NULL};

static void test_start_in_priority_order(void **state)
{
    struct world w;
    (void)state;
    world_start(&w, two_programs);
    assert_int_equal(F.nspawns, 3);
    assert_string_equal(F.spawns[0].name, "a");
    assert_string_equal(F.spawns[1].name, "b_0");
    assert_string_equal(F.spawns[2].name, "b_1");
    expect_state(&w, "a", PROC_RUNNING);
    expect_state(&w, "b_1", PROC_RUNNING);
    assert_true(supervisor_all_ready(w.s));
    world_end(&w);
}

/* Commands write the wanted state; reconcile acts on it once per turn: down and up
 * again before the turn is nothing at all. */
static void test_reconcile_acts_on_wanted_state(void **state)
{
    struct world w;
    (void)state;
    world_start(&w, two_programs);
    struct proc *b0 = find(&w, "b_0");
    pid_t pid = proc_pid(b0);
    supervisor_want_down(w.s, b0);
    supervisor_want_up(w.s, b0);
    turn(&w);
    assert_int_equal(F.nkills, 0);
    assert_int_equal(proc_pid(b0), pid);

    supervisor_want_down(w.s, b0);
    assert_int_equal(F.nkills, 0); /* not inside the command: from the loop */
    turn(&w);
    assert_int_equal(signals_to(pid, SIGTERM), 1); /* its stopsignal, then SIGCONT */
    assert_int_equal(signals_to(pid, SIGCONT), 1);
    assert_int_equal(F.nkills, 2);
    expect_state(&w, "b_0", PROC_STOPPING);
    exits(&w, "b_0", SIGTERM);
    expect_state(&w, "b_0", PROC_STOPPED);
    assert_int_equal(spawns_of("b_0"), 1);

    supervisor_want_up(w.s, b0);
    turn(&w);
    assert_int_equal(spawns_of("b_0"), 2);
    expect_state(&w, "b_0", PROC_RUNNING);
    world_end(&w);
}

static void test_depends_on_waits_for_running(void **state)
{
    static const char *const lines[] = {
        "program:db command=/bin/db", "program:db startsecs=2s",
        "program:web command=/bin/web", "program:web startsecs=0",
        "program:web depends_on=db", NULL};
    struct world w;
    (void)state;
    world_start(&w, lines);
    assert_int_equal(F.nspawns, 1);
    assert_string_equal(F.spawns[0].name, "db");
    expect_state(&w, "db", PROC_STARTING);
    expect_state(&w, "web", PROC_STOPPED);
    assert_int_equal(fire(&w, "db"), 2000); /* startsecs */
    expect_state(&w, "db", PROC_RUNNING);
    assert_int_equal(spawns_of("web"), 1);
    expect_state(&w, "web", PROC_RUNNING);
    world_end(&w);
}

/* A one-shot (a migration) that web workers wait for: depends_on = NAME:succeeded. */
static const char *const migration[] = {
    "program:migrate command=/bin/migrate", "program:migrate startsecs=0",
    "program:migrate autorestart=false",   "program:web command=/bin/web",
    "program:web startsecs=0",             "program:web numprocs=2",
    "program:web process_name=web_%(process_num)d",
    "program:web depends_on=migrate:succeeded", NULL};

static void expect_waiting(struct world *w, const char *name, const char *text, bool failed)
{
    struct proc_wait wait;
    assert_true(proc_waiting(find(w, name), &wait));
    if (strcmp(wait.text, text))
        fail_msg("%s waits for '%s', want '%s'", name, wait.text, text);
    assert_int_equal(wait.failed, failed);
}

static void test_succeeded_waits_for_a_one_shot(void **state)
{
    struct world w;
    (void)state;
    world_start(&w, migration);
    assert_int_equal(F.nspawns, 1);
    expect_state(&w, "migrate", PROC_RUNNING); /* startsecs = 0 */
    expect_state(&w, "web_0", PROC_STOPPED);
    expect_waiting(&w, "web_0", "migrate:succeeded (migrate RUNNING)", false);
    assert_false(supervisor_all_ready(w.s));
    exits(&w, "migrate", 0);
    expect_state(&w, "migrate", PROC_EXITED);
    assert_int_equal(spawns_of("web_0"), 1);
    assert_int_equal(spawns_of("web_1"), 1);
    expect_state(&w, "web_1", PROC_RUNNING);
    struct proc_wait wait;
    assert_false(proc_waiting(find(&w, "web_0"), &wait));
    assert_true(supervisor_all_ready(w.s)); /* the one-shot is done, not unready */
    world_end(&w);
}

/* It failed: the workers stay down, not retried, until it is run again and passes. */
static void test_a_failed_one_shot_holds_its_dependents(void **state)
{
    struct world w;
    (void)state;
    world_start(&w, migration);
    exits(&w, "migrate", 1 << 8);
    expect_state(&w, "migrate", PROC_EXITED);
    for (int i = 0; i < 3; i++)
        turn(&w);
    assert_int_equal(F.nspawns, 1);
    expect_state(&w, "web_0", PROC_STOPPED);
    expect_waiting(&w, "web_1", "migrate:succeeded failed (migrate exited 1)", true);
    assert_false(supervisor_all_ready(w.s));

    supervisor_want_up(w.s, find(&w, "migrate")); /* tendctl start migrate */
    turn(&w);
    assert_int_equal(spawns_of("migrate"), 2);
    expect_waiting(&w, "web_0", "migrate:succeeded (migrate RUNNING)", false);
    assert_int_equal(spawns_of("web_0"), 0);
    exits(&w, "migrate", SIGKILL);
    expect_waiting(&w, "web_0", "migrate:succeeded failed (migrate killed by SIGKILL)", true);

    supervisor_want_up(w.s, find(&w, "migrate"));
    turn(&w);
    exits(&w, "migrate", 0);
    assert_int_equal(spawns_of("web_0"), 1);
    expect_state(&w, "web_0", PROC_RUNNING);
    assert_true(supervisor_all_ready(w.s));
    world_end(&w);
}

static void test_completed_takes_any_exit_and_started_any_start(void **state)
{
    static const char *const lines[] = {
        "program:seed command=/bin/seed", "program:seed startsecs=0",
        "program:seed autorestart=false", "program:seed exitcodes=0",
        "program:db command=/bin/db",     "program:db startsecs=5s",
        "program:app command=/bin/app",   "program:app startsecs=0",
        "program:app depends_on=seed:completed db:started", NULL};
    struct world w;
    (void)state;
    world_start(&w, lines);
    expect_state(&w, "db", PROC_STARTING); /* started: enough for db:started */
    expect_waiting(&w, "app", "seed:completed (seed RUNNING)", false);
    exits(&w, "seed", 3 << 8);
    expect_state(&w, "seed", PROC_EXITED);
    expect_state(&w, "db", PROC_STARTING);
    assert_int_equal(spawns_of("app"), 1);
    world_end(&w);
}

/* healthy: RUNNING is not enough while it has a health check that has not passed. */
static void test_healthy_waits_for_a_passed_check(void **state)
{
    static const char *const lines[] = {
        "program:db command=/bin/db",   "program:db startsecs=0",
        "program:db port=5432",         "program:db health=tcp",
        "program:web command=/bin/web", "program:web startsecs=0",
        "program:web depends_on=db:healthy", NULL};
    struct world w;
    (void)state;
    world_start(&w, lines);
    expect_state(&w, "db", PROC_RUNNING);
    expect_waiting(&w, "web", "db:healthy (db RUNNING, no health check passed yet)", false);
    struct proc *db = find(&w, "db");
    db->health_passed = true; /* what supervisor_health does when a check passes */
    supervisor_deps_changed(w.s, db);
    supervisor_tell(db);
    turn(&w);
    assert_int_equal(spawns_of("web"), 1);
    world_end(&w);
}

/* Without health, healthy is ready; shutdown still stops dependents first. */
static void test_healthy_without_health_is_ready_and_stops_in_order(void **state)
{
    static const char *const lines[] = {
        "program:db command=/bin/db",   "program:db startsecs=1s",
        "program:web command=/bin/web", "program:web startsecs=0",
        "program:web depends_on=db:healthy", NULL};
    struct world w;
    (void)state;
    world_start(&w, lines);
    expect_waiting(&w, "web", "db:healthy (db STARTING)", false);
    fire(&w, "db");
    assert_int_equal(spawns_of("web"), 1);
    pid_t db = proc_pid(find(&w, "db")), web = proc_pid(find(&w, "web"));
    supervisor_shutdown(w.s, NULL, NULL);
    turn(&w);
    assert_int_equal(signals_to(web, SIGTERM), 1);
    assert_int_equal(signals_to(db, SIGTERM), 0); /* after its dependent */
    exits(&w, "web", SIGTERM);
    assert_int_equal(signals_to(db, SIGTERM), 1);
    exits(&w, "db", SIGTERM);
    world_end(&w);
}

static void test_critical_exit_is_reported_with_its_status(void **state)
{
    static const char *const lines[] = {
        "program:app command=/bin/app", "program:app startsecs=0",
        "program:app autorestart=false", "program:app critical=true",
        "program:side command=/bin/side", "program:side startsecs=0", NULL};
    struct world w;
    (void)state;
    world_start(&w, lines);
    exits(&w, "side", 3 << 8); /* not critical: nothing */
    assert_int_equal(F.criticals, 0);
    exits(&w, "app", 3 << 8);
    expect_state(&w, "app", PROC_EXITED);
    assert_int_equal(F.criticals, 1);
    assert_int_equal(F.critical_status, 3);
    world_end(&w);
}

/* startretries = 2: the first retry at once, the second after restart_delay, then
 * FATAL with the reason the exec gave. */
static void test_exec_failure_gives_up_after_startretries(void **state)
{
    static const char *const lines[] = {
        "program:x command=/bin/x", "program:x startretries=2",
        "program:x restart_delay=1s", NULL};
    struct world w;
    (void)state;
    F.exec_error = ENOENT;
    world_start(&w, lines);
    exits(&w, "x", 127 << 8);
    expect_state(&w, "x", PROC_STARTING);
    assert_int_equal(spawns_of("x"), 2);
    exits(&w, "x", 127 << 8);
    expect_state(&w, "x", PROC_BACKOFF);
    uint64_t d = fire(&w, "x");
    assert_true(d >= 900 && d <= 1100);
    exits(&w, "x", 127 << 8);
    expect_state(&w, "x", PROC_FATAL);
    assert_int_equal(spawns_of("x"), 3);
    assert_non_null(strstr(proc_error(find(&w, "x")), "No such file"));
    world_end(&w);
}

/* Crashes in a row wait longer each time (+-10% jitter); a crash after a run longer
 * than restart_delay_reset starts again from no delay. */
static void test_backoff_doubles_and_resets(void **state)
{
    static const char *const lines[] = {
        "program:w command=/bin/w", "program:w startsecs=0",
        "program:w restart_delay=1s", "program:w restart_delay_max=60s",
        "program:w restart_delay_reset=10s", NULL};
    struct world w;
    (void)state;
    world_start(&w, lines);
    exits(&w, "w", 1 << 8); /* the first crash: again at once */
    expect_state(&w, "w", PROC_RUNNING);
    assert_int_equal(spawns_of("w"), 2);
    uint64_t want[] = {1000, 2000, 4000, 8000};
    for (int i = 0; i < 4; i++) {
        exits(&w, "w", 1 << 8);
        expect_state(&w, "w", PROC_BACKOFF);
        uint64_t d = fire(&w, "w");
        if (d < want[i] * 9 / 10 || d > want[i] * 11 / 10)
            fail_msg("crash %d: delay %llu ms, want %llu +-10%%", i + 2, (unsigned long long)d,
                     (unsigned long long)want[i]);
        expect_state(&w, "w", PROC_RUNNING);
    }
    F.now += 10000; /* a healthy run */
    exits(&w, "w", 1 << 8);
    expect_state(&w, "w", PROC_RUNNING);
    assert_int_equal(spawns_of("w"), 7);
    world_end(&w);
}

/* What run.c's hold does through nginx: reads the config being replaced, which must
 * stay valid for the whole reload (it was freed once the last process moved off
 * it: a use-after-free under ASan, chaos seed 502). */
static bool hold_reads_old(void *ctx, struct proc *p, bool removing)
{
    const struct config *old = ctx;
    (void)p, (void)removing;
    for (int i = 0; i < old->nprograms; i++)
        assert_non_null(old->programs[i].name);
    return false;
}

/* A reload adds, removes and restarts only what changed. */
static void test_reload_diff(void **state)
{
    static const char *const before[] = {
        "program:keep command=/bin/keep", "program:keep startsecs=0",
        "program:change command=/bin/old", "program:change startsecs=0",
        "program:drop command=/bin/drop", "program:drop startsecs=0", NULL};
    static const char *const after[] = {
        "program:keep command=/bin/keep", "program:keep startsecs=0",
        "program:change command=/bin/new", "program:change startsecs=0",
        "program:add command=/bin/add", "program:add startsecs=0", NULL};
    struct world w;
    struct reload_summary sum = {0};
    (void)state;
    world_start(&w, before);
    pid_t keep = proc_pid(find(&w, "keep")), change = proc_pid(find(&w, "change"));
    pid_t drop = proc_pid(find(&w, "drop"));
    const struct config *old = supervisor_config(w.s);
    assert_int_equal(supervisor_reload(w.s, config_of(after), hold_reads_old, (void *)old, &sum),
                     0);
    assert_int_equal(sum.added, 1);
    assert_int_equal(sum.removed, 1);
    assert_int_equal(sum.restarted, 1);
    assert_int_equal(sum.unchanged, 1);
    turn(&w);
    assert_int_equal(spawns_of("add"), 1);
    assert_int_equal(signals_to(change, SIGTERM), 1);
    assert_int_equal(signals_to(drop, SIGTERM), 1);
    assert_int_equal(signals_to(keep, SIGTERM), 0);
    exits(&w, "change", SIGTERM);
    assert_int_equal(spawns_of("change"), 2);
    assert_string_equal(F.spawns[F.nspawns - 1].argv0, "/bin/new");
    expect_state(&w, "change", PROC_RUNNING);
    exits(&w, "drop", SIGTERM);
    assert_null(supervisor_find(w.s, "drop"));
    assert_int_equal(proc_pid(find(&w, "keep")), keep);
    assert_int_equal(spawns_of("keep"), 1);
    world_end(&w);
}

static bool hold_takes(void *ctx, struct proc *p, bool removing)
{
    (void)ctx, (void)p, (void)removing;
    return true;
}

/* The rollout takes "held" (as run.c's hold takes the workers nginx routes to). */
static bool hold_only(void *ctx, struct proc *p, bool removing)
{
    (void)ctx, (void)removing;
    return !strcmp(proc_name(p), "held");
}

/* A restart held by the first reload (the rollout's) still waits when a second one
 * comes: the config of the first, current until then, is what hold reads (nginx's
 * routes) while the second moves every process off it. */
static void test_reload_keeps_the_old_config_while_it_runs(void **state)
{
    static const char *const v1[] = {"program:a command=/bin/a1", "program:a startsecs=0", NULL};
    static const char *const v2[] = {"program:a command=/bin/a2", "program:a startsecs=0", NULL};
    static const char *const v3[] = {"program:a command=/bin/a3", "program:a startsecs=0", NULL};
    struct world w;
    struct reload_summary sum = {0};
    (void)state;
    world_start(&w, v1);
    assert_int_equal(supervisor_reload(w.s, config_of(v2), hold_takes, NULL, &sum), 0);
    assert_int_equal(sum.held, 1);
    const struct config *current = supervisor_config(w.s);
    assert_int_equal(
        supervisor_reload(w.s, config_of(v3), hold_reads_old, (void *)current, &sum), 0);
    assert_int_equal(sum.restarted, 1);
    world_end(&w);
}

/* RESTARTS counts what tend did on its own (systemd's NRestarts): a crash, a
 * failed start; not a restart, stop or start asked for. */
static void test_restarts_count_automatic_ones_only(void **state)
{
    static const char *const lines[] = {"program:w command=/bin/w", "program:w startsecs=0",
                                        "program:w restart_delay=1s", NULL};
    struct world w;
    (void)state;
    world_start(&w, lines);
    struct proc *p = find(&w, "w");
    supervisor_restart(w.s, p);
    turn(&w);
    exits(&w, "w", SIGTERM); /* the restart asked for */
    expect_state(&w, "w", PROC_RUNNING);
    assert_int_equal(proc_restarts(p), 0);
    exits(&w, "w", SIGSEGV); /* a crash: at once (the first after a healthy run) */
    expect_state(&w, "w", PROC_RUNNING);
    assert_int_equal(proc_restarts(p), 1);
    exits(&w, "w", SIGSEGV); /* again: after restart_delay */
    expect_state(&w, "w", PROC_BACKOFF);
    fire(&w, "w");
    expect_state(&w, "w", PROC_RUNNING);
    assert_int_equal(proc_restarts(p), 2);
    supervisor_want_down(w.s, p);
    turn(&w);
    exits(&w, "w", SIGTERM);
    assert_true(proc_put_down(p));
    supervisor_want_up(w.s, p);
    turn(&w);
    assert_false(proc_put_down(p));
    assert_int_equal(proc_restarts(p), 2);
    world_end(&w);
}

/* A port someone else listens on fails the start, named, through backoff. */
static void test_a_port_in_use_fails_the_start(void **state)
{
    static const char *const lines[] = {"program:web command=/bin/web", "program:web startsecs=0",
                                        "program:web port=8001", "program:web startretries=2",
                                        NULL};
    struct world w;
    (void)state;
    F.held_port = 8001;
    world_start(&w, lines);
    assert_int_equal(spawns_of("web"), 0);
    expect_state(&w, "web", PROC_BACKOFF);
    assert_string_equal(proc_error(find(&w, "web")), "port 8001 is in use by pid 4242 (squatter)");
    F.held_port = 0; /* the squatter left */
    fire(&w, "web");
    expect_state(&w, "web", PROC_RUNNING);
    assert_int_equal(spawns_of("web"), 1);
    world_end(&w);
}

/* The table keeps the config's order through reloads that change, add and remove
 * programs, and scale-added processes sit with their program. */
static void test_order_survives_reloads_and_scaling(void **state)
{
    static const char *const v1[] = {
        "program:a command=/bin/a", "program:b command=/bin/b1", "program:b numprocs=2",
        "program:b process_name=b_%(process_num)d", "program:c command=/bin/c", NULL};
    static const char *const v2[] = {
        "program:a command=/bin/a", "program:b command=/bin/b2", "program:b numprocs=2",
        "program:b process_name=b_%(process_num)d", "program:n command=/bin/n",
        "program:c command=/bin/c2", NULL};
    static const char *const want1[] = {"a", "b_0", "b_1", "b_2", "c", NULL};
    static const char *const want2[] = {"a", "b_0", "b_1", "b_2", "n", "c", NULL};
    struct world w;
    struct reload_summary sum = {0};
    char err[128];
    (void)state;
    world_start(&w, v1);
    assert_int_equal(supervisor_scale_up(w.s, "b", 3, err, sizeof(err)), 0);
    turn(&w);
    for (int i = 0; want1[i]; i++)
        assert_string_equal(proc_name(supervisor_proc(w.s, i)), want1[i]);
    assert_int_equal(supervisor_reload(w.s, config_of(v2), NULL, NULL, &sum), 0);
    turn(&w); /* b and c restart: their old config stays theirs until they are down */
    for (int i = 0; want2[i]; i++)
        assert_string_equal(proc_name(supervisor_proc(w.s, i)), want2[i]);
    exits(&w, "c", SIGTERM);
    exits(&w, "b_0", SIGTERM);
    for (int i = 0; want2[i]; i++)
        assert_string_equal(proc_name(supervisor_proc(w.s, i)), want2[i]);
    world_end(&w);
}

/* Fates told, one letter each in table order: what tendctl reload's reply counts. */
struct fates {
    char seen[64];
    int n;
};

static void note_fate(void *ctx, const char *program, const char *name, enum reload_fate f)
{
    struct fates *t = ctx;
    (void)program, (void)name;
    assert_true(t->n < (int)sizeof(t->seen) - 1);
    t->seen[t->n++] = (char)('a' + f);
}

/* --dry-run's plan decides as the reload does (one function decides both), changes
 * nothing, and a running process a reload changed shows as on the old config until
 * its restart, one held by the rollout until the rollout restarts it. */
static void test_reload_plan_and_the_old_config_marker(void **state)
{
    static const char *const v1[] = {
        "program:keep command=/bin/keep", "program:keep startsecs=0",
        "program:now command=/bin/now1", "program:now startsecs=0",
        "program:held command=/bin/held1", "program:held startsecs=0",
        "program:drop command=/bin/drop", "program:drop startsecs=0", NULL};
    static const char *const v2[] = {
        "program:keep command=/bin/keep", "program:keep startsecs=0",
        "program:now command=/bin/now2", "program:now startsecs=0",
        "program:held command=/bin/held2", "program:held startsecs=0",
        "program:add command=/bin/add", "program:add startsecs=0", NULL};
    struct world w;
    struct fates planned = {{0}, 0}, done = {{0}, 0};
    struct reload_summary plan = {.fate = note_fate, .fate_ctx = &planned};
    struct reload_summary sum = {.fate = note_fate, .fate_ctx = &done};
    (void)state;
    world_start(&w, v1);
    struct config *next = config_of(v2);
    int spawned = F.nspawns;
    supervisor_reload_plan(w.s, next, hold_only, NULL, &plan);
    turn(&w);
    assert_int_equal(F.nspawns, spawned);
    assert_int_equal(F.nkills, 0);
    assert_false(proc_config_old(find(&w, "now")));
    assert_int_equal(supervisor_reload(w.s, next, hold_only, NULL, &sum), 0);
    assert_int_equal(planned.n, 5); /* keep, now, held, drop; then add */
    assert_string_equal(planned.seen, done.seen);
    assert_int_equal(plan.added, sum.added);
    assert_int_equal(plan.held, 1);
    assert_int_equal(sum.held, 1);
    assert_false(proc_config_old(find(&w, "keep")));
    assert_true(proc_config_old(find(&w, "now")));  /* restarts on the next turn */
    assert_true(proc_config_old(find(&w, "held"))); /* the rollout's, later */
    assert_true(proc_config_old(find(&w, "drop"))); /* gone from the config, still up */
    assert_false(proc_config_old(find(&w, "add")));
    turn(&w);
    exits(&w, "now", SIGTERM);
    expect_state(&w, "now", PROC_RUNNING);
    assert_false(proc_config_old(find(&w, "now")));
    assert_true(proc_config_old(find(&w, "held")));
    supervisor_restart(w.s, find(&w, "held")); /* what the rollout does in its turn */
    turn(&w);
    exits(&w, "held", SIGTERM);
    assert_string_equal(F.spawns[F.nspawns - 1].argv0, "/bin/held2");
    assert_false(proc_config_old(find(&w, "held")));
    world_end(&w);
}

/* A process scale was taking out (stopping, to leave the table) that a reload's config
 * keeps: it stays, and comes back up; it was left STOPPED, neither gone nor up (chaos
 * seed 7: scale web=2 racing a reload to numprocs = 4). */
static void test_a_reload_keeps_what_scale_was_taking_out(void **state)
{
    static const char *const v[] = {"program:a command=/bin/a", "program:a startsecs=0", NULL};
    struct world w;
    struct reload_summary sum = {0};
    (void)state;
    world_start(&w, v);
    pid_t pid = proc_pid(find(&w, "a"));
    supervisor_remove(w.s, find(&w, "a"));
    turn(&w);
    assert_int_equal(signals_to(pid, SIGTERM), 1);
    assert_int_equal(supervisor_reload(w.s, config_of(v), NULL, NULL, &sum), 0);
    assert_int_equal(sum.unchanged, 1);
    assert_false(proc_removing(find(&w, "a")));
    exits(&w, "a", SIGTERM);
    expect_state(&w, "a", PROC_RUNNING);
    assert_int_equal(spawns_of("a"), 2);
    world_end(&w);
}

/* ---- why a run ended (lastexit.h) ---- */

static const struct lastexit *last_of(struct world *w, const char *name)
{
    return proc_last_exit(find(w, name));
}

static const char *const crasher[] = {
    "program:c command=/bin/c", "program:c startsecs=0", "program:c restart_delay=0", NULL};

/* An exit of its own: its status and the wall-clock time; a signal tend did not
 * send: the signal, core dump and all. */
static void test_last_exit_has_the_status_and_the_time(void **state)
{
    struct world w;
    (void)state;
    world_start(&w, crasher);
    assert_int_equal(last_of(&w, "c")->cause, CAUSE_NONE);
    F.wall += 5000;
    exits(&w, "c", 3 << 8);
    const struct lastexit *e = last_of(&w, "c");
    assert_int_equal(e->cause, CAUSE_EXITED);
    assert_int_equal(e->status, 3 << 8);
    assert_int_equal(e->ended_ms, 1700000005000);
    assert_int_equal(e->tail_lines, 0); /* it wrote nothing */
    exits(&w, "c", SIGSEGV | 0x80); /* core dumped */
    assert_int_equal(e->cause, CAUSE_SIGNALED);
    assert_true(WCOREDUMP(e->status));
    char text[128];
    lastexit_describe(e, text, sizeof(text));
    assert_string_equal(text, "killed by SIGSEGV (core dumped)");
    assert_int_equal(F.oom_reads, 1); /* at the start only: no SIGKILL yet */
    world_end(&w);
}

/* A SIGKILL tend did not send is the OOM killer's when its count rose since tend
 * last looked; when it did not, or cannot be read, a signal, no more. A SIGKILL
 * tend sent (a stop past stopwaitsecs) is a stop: the count is not read. */
static void test_an_oom_kill_is_told_by_the_cgroup_count(void **state)
{
    struct world w;
    char text[64];
    (void)state;
    F.oom_kills = 7; /* kills before tend began are not this process's */
    world_start(&w, crasher);
    exits(&w, "c", SIGKILL);
    assert_int_equal(last_of(&w, "c")->cause, CAUSE_SIGNALED);
    F.oom_kills = 8;
    exits(&w, "c", SIGKILL);
    assert_int_equal(last_of(&w, "c")->cause, CAUSE_OOM);
    lastexit_describe(last_of(&w, "c"), text, sizeof(text));
    assert_string_equal(text, "killed by SIGKILL (out of memory)");
    exits(&w, "c", SIGKILL); /* the count as it was: not again */
    assert_int_equal(last_of(&w, "c")->cause, CAUSE_SIGNALED);
    F.oom_kills = 9;
    F.oom_error = -ENOENT; /* no memory cgroup to ask */
    exits(&w, "c", SIGKILL);
    assert_int_equal(last_of(&w, "c")->cause, CAUSE_SIGNALED);
    int reads = F.oom_reads;
    supervisor_want_down(w.s, find(&w, "c"));
    turn(&w);
    fire(&w, "c"); /* stopwaitsecs: SIGKILL */
    exits(&w, "c", SIGKILL);
    assert_int_equal(last_of(&w, "c")->cause, CAUSE_STOPPED);
    assert_int_equal(F.oom_reads, reads);
    world_end(&w);
}

/* tend stopped it for its health: the cause says so, with the check's words. */
static void test_a_health_stop_is_told_as_such(void **state)
{
    struct world w;
    char text[256];
    (void)state;
    world_start(&w, crasher);
    struct proc *p = find(&w, "c");
    p->sick = true; /* as supervisor_health.c has it fail */
    p->kill_cause = CAUSE_HEALTH;
    free(p->error);
    p->error = strdup("health check failed 3 times in a row: connection refused");
    supervisor_heal(w.s, p);
    turn(&w);
    expect_state(&w, "c", PROC_STOPPING);
    exits(&w, "c", SIGTERM);
    const struct lastexit *e = last_of(&w, "c");
    assert_int_equal(e->cause, CAUSE_HEALTH);
    lastexit_describe(e, text, sizeof(text));
    assert_string_equal(text, "stopped by tend: health check failed 3 times in a row: "
                              "connection refused (killed by SIGTERM)");
    assert_int_equal(p->kill_cause, CAUSE_NONE); /* that run is over */
    world_end(&w);
}

/* A start that failed before exec: the cause is exec, with its reason; there
 * was no run to have a status. */
static void test_an_exec_failure_has_its_reason(void **state)
{
    static const char *const lines[] = {"program:x command=/bin/x", "program:x startretries=0",
                                        NULL};
    struct world w;
    (void)state;
    F.exec_error = ENOENT;
    world_start(&w, lines);
    exits(&w, "x", 127 << 8);
    expect_state(&w, "x", PROC_FATAL);
    const struct lastexit *e = last_of(&w, "x");
    assert_int_equal(e->cause, CAUSE_EXEC);
    assert_int_equal(e->status, -1);
    assert_string_equal(e->reason, "exec '/bin/x': No such file or directory");
    world_end(&w);
}

/* Each automatic restart is timed; the last 10 are kept, oldest first. A start
 * asked for (tendctl start, restart) is not one. */
static void test_restart_times_keep_the_last_ten(void **state)
{
    struct world w;
    int64_t times[LASTEXIT_RESTARTS];
    (void)state;
    world_start(&w, crasher);
    for (int i = 0; i < 12; i++) { /* restart_delay = 0: each at once */
        F.wall = 1700000000000 + 1000 * (i + 1);
        exits(&w, "c", 1 << 8);
    }
    const struct lastexit *e = last_of(&w, "c");
    assert_int_equal(proc_restarts(find(&w, "c")), 12);
    assert_int_equal(lastexit_restart_times(e, times), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(times[i], 1700000000000 + 1000 * (i + 3));
    supervisor_restart(w.s, find(&w, "c"));
    turn(&w);
    exits(&w, "c", SIGTERM);
    assert_int_equal(last_of(&w, "c")->cause, CAUSE_STOPPED);
    assert_int_equal(e->nrestarts, 12);
    world_end(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_in_priority_order),
        cmocka_unit_test(test_reconcile_acts_on_wanted_state),
        cmocka_unit_test(test_depends_on_waits_for_running),
        cmocka_unit_test(test_critical_exit_is_reported_with_its_status),
        cmocka_unit_test(test_exec_failure_gives_up_after_startretries),
        cmocka_unit_test(test_backoff_doubles_and_resets),
        cmocka_unit_test(test_reload_diff),
        cmocka_unit_test(test_reload_keeps_the_old_config_while_it_runs),
        cmocka_unit_test(test_restarts_count_automatic_ones_only),
        cmocka_unit_test(test_a_port_in_use_fails_the_start),
        cmocka_unit_test(test_order_survives_reloads_and_scaling),
        cmocka_unit_test(test_reload_plan_and_the_old_config_marker),
        cmocka_unit_test(test_a_reload_keeps_what_scale_was_taking_out),
        cmocka_unit_test(test_succeeded_waits_for_a_one_shot),
        cmocka_unit_test(test_a_failed_one_shot_holds_its_dependents),
        cmocka_unit_test(test_completed_takes_any_exit_and_started_any_start),
        cmocka_unit_test(test_healthy_waits_for_a_passed_check),
        cmocka_unit_test(test_healthy_without_health_is_ready_and_stops_in_order),
        cmocka_unit_test(test_last_exit_has_the_status_and_the_time),
        cmocka_unit_test(test_an_oom_kill_is_told_by_the_cgroup_count),
        cmocka_unit_test(test_a_health_stop_is_told_as_such),
        cmocka_unit_test(test_an_exec_failure_has_its_reason),
        cmocka_unit_test(test_restart_times_keep_the_last_ten),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
