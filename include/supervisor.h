/* supervisor: the process table. Keeps each process's wanted state (up or down)
 * apart from its actual state (proc_fsm), performs what the state machine asks
 * for, starts programs in order (depends_on, then priority) and stops them in the
 * reverse, and tells observers (nginx, sd_notify, tendctl) about every change.
 * Exits come in from the reaper; the supervisor never waits for a child itself. */
#ifndef TEND_SUPERVISOR_H
#define TEND_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "lastexit.h" /* enum proc_cause: why a run ended */
#include "proc_fsm.h"

struct supervisor;
struct proc;
struct childio;

/* Told from the loop after each transition, in order, never from inside one: an
 * observer may ask anything of the supervisor. A process that left the table is
 * told once more with old equal to its state; p is valid during the call only.
 * After each batch of news, p is NULL: work that reads the whole table (status
 * for systemd, waiting requests) is done once per batch, not once per change. */
typedef void supervisor_observer(void *ctx, struct proc *p, enum proc_state old);
typedef void supervisor_stopped_cb(void *ctx);
/* A critical program gave up: tend should shut down and exit with status. */
typedef void supervisor_critical_cb(void *ctx, int status);

struct spawn_opts;

/* What the supervisor asks of the system, passed in so that its logic can be tested
 * without forking (tests/unit/test_supervisor.c). A NULL member is the system's:
 * spawn_start and spawn_result (spawn.h), kill(2), the loop's clock (uv_now),
 * ports_holder (ports.h), the wall clock (CLOCK_REALTIME), oom_kills (oom.h). */
struct supervisor_os {
    int (*spawn_start)(void *ctx, const struct spawn_opts *o, pid_t *pid, int *status_fd,
                       char *err, size_t len);
    int (*spawn_result)(void *ctx, int status_fd, const struct spawn_opts *o, char *err,
                        size_t len);
    int (*kill)(void *ctx, pid_t pid, int sig); /* 0 or -errno */
    uint64_t (*now_ms)(void *ctx);
    void *ctx;
    /* ports_holder (ports.h): asked before a process with a port starts */
    int (*port_holder)(void *ctx, int port, char *desc, size_t len);
    /* when a run ended, for people: milliseconds since the epoch */
    int64_t (*wall_ms)(void *ctx);
    /* the OOM killer's count in tend's cgroup (oom.h): asked only when a child is
     * killed by a SIGKILL tend did not send; 0 or -errno (not known) */
    int (*oom_kills)(void *ctx, uint64_t *count);
};

/* The supervisor owns cfg from here on (and every config given to supervisor_reload).
 * Its processes' output goes through io, which the caller owns and frees after it.
 * os may be NULL: the system's. */
struct supervisor *supervisor_new(uv_loop_t *loop, struct config *cfg,
                                  supervisor_critical_cb *critical, void *ctx,
                                  struct childio *io, const struct supervisor_os *os);
/* Starts every autostart program, in order. */
void supervisor_start(struct supervisor *s);
/* A child exited (from the reaper). Returns false when the pid is not a
 * supervised process (an orphan). */
bool supervisor_child_exited(struct supervisor *s, pid_t pid, int status);
/* Stops everything in stop order; cb runs once every process is down. */
void supervisor_shutdown(struct supervisor *s, supervisor_stopped_cb *cb, void *ctx);
/* SIGKILL to every process now (a second Ctrl-C, or shutdown_timeout). */
void supervisor_kill_all(struct supervisor *s);
void supervisor_free(struct supervisor *s);
void supervisor_observe(struct supervisor *s, supervisor_observer *cb, void *ctx);
/* Every autostart process is RUNNING (for READY=1 and tendctl health). */
bool supervisor_all_ready(const struct supervisor *s);
/* How many processes of the table are in st (O(1)). */
int supervisor_in_state(const struct supervisor *s, enum proc_state st);
void supervisor_unobserve(struct supervisor *s, supervisor_observer *cb, void *ctx);

/* What tendctl asks for. want_up starts p afresh (failure counts reset); restart
 * stops it and starts it again; remove stops it and takes it out of the table. */
void supervisor_want_up(struct supervisor *s, struct proc *p);
void supervisor_want_down(struct supervisor *s, struct proc *p);
void supervisor_restart(struct supervisor *s, struct proc *p);
void supervisor_remove(struct supervisor *s, struct proc *p);
/* p failed its health checks (proc_sick) and nginx routes to it no more: stop it;
 * its exit counts as a crash's (autorestart, backoff, critical). */
void supervisor_heal(struct supervisor *s, struct proc *p);
/* Adds processes to a program until it has n; their ports follow on. Returns 0,
 * or -errno with a message in err. Fewer: see supervisor_scale_victims(). */
int supervisor_scale_up(struct supervisor *s, const char *program, int n, char *err, size_t len);
/* The processes that go when program shrinks to n (the highest numbered first). */
int supervisor_scale_victims(const struct supervisor *s, const char *program, int n,
                             struct proc **out, int max);
/* The live number of processes of a program (numprocs changed by scale). */
int supervisor_numprocs(const struct supervisor *s, const char *program);

/* What a reload does to one process. */
enum reload_fate {
    RELOAD_UNCHANGED,  /* nothing that shapes it changed: kept, in place */
    RELOAD_RESTART,    /* changed and running: restarts now */
    RELOAD_IN_TURN,    /* changed and running: restarted later by hold's taker */
    RELOAD_STARTED,    /* changed and down (or in backoff): starts afresh */
    RELOAD_NEXT_START, /* changed and down, not wanted up: the new config when started */
    RELOAD_ADDED,      /* new in the config */
    RELOAD_REMOVED,    /* gone from the config: stops and leaves now */
    RELOAD_DROP_IN_TURN, /* gone from the config, running: removed later by hold's taker */
};
/* Told of each process a reload looks at, in table order, then of those it adds;
 * program is its program's name (in the new config when added). */
typedef void supervisor_fate_cb(void *ctx, const char *program, const char *name,
                                enum reload_fate f);

struct reload_summary {
    int added, removed, restarted, unchanged;
    int held; /* of the removed and restarted: taken over by hold */
    supervisor_fate_cb *fate; /* may be NULL; set by the caller */
    void *fate_ctx;
};
/* Asked of each running process a reload would restart or remove: true takes the
 * change over (it restarts or removes p later, itself), false lets it happen now. */
typedef bool supervisor_hold_cb(void *ctx, struct proc *p, bool removing);
/* Applies a new config: new processes start, removed ones stop and go, changed
 * ones restart (under the new config from their next start), unchanged ones are
 * not touched. The supervisor owns next from here on; the config it replaces may
 * be freed. hold may be NULL. Returns 0, or -ENOMEM before anything changed (next
 * stays the caller's, the running config is kept). sum's counts are set; its fate
 * hook is read, not set: zero sum when there is none. */
int supervisor_reload(struct supervisor *s, struct config *next, supervisor_hold_cb *hold,
                      void *ctx, struct reload_summary *sum);
/* What supervisor_reload would do with next, doing nothing (tendctl reload
 * --dry-run): the same counts and fates. hold only answers here; next stays the
 * caller's. */
void supervisor_reload_plan(struct supervisor *s, const struct config *next,
                            supervisor_hold_cb *hold, void *ctx, struct reload_summary *sum);

/* Reading the table (status, nginx, tendctl). */
int supervisor_count(const struct supervisor *s);
struct proc *supervisor_proc(const struct supervisor *s, int i);
struct proc *supervisor_find(const struct supervisor *s, const char *name);
const struct config *supervisor_config(const struct supervisor *s);

const char *proc_name(const struct proc *p);
const struct program_cfg *proc_program(const struct proc *p);
const struct proc_cfg *proc_config(const struct proc *p);
enum proc_state proc_state(const struct proc *p);
pid_t proc_pid(const struct proc *p);
int proc_port(const struct proc *p);
uint64_t proc_uptime_ms(const struct proc *p);
uint64_t proc_state_ms(const struct proc *p); /* time in the current state */
int proc_restarts(const struct proc *p);
/* How many starts were tried, failed ones (exec, chdir) too: a request that waits
 * for a start compares it with the count when it asked. */
int proc_attempts(const struct proc *p);
/* Starts that failed since it was last RUNNING or asked up: a start retried after a
 * failure counts even when nobody saw it in BACKOFF. */
int proc_failed_starts(const struct proc *p);
int proc_last_status(const struct proc *p); /* a wait status, -1 when none yet */
const char *proc_error(const struct proc *p); /* why it last failed, or "" */
bool proc_wanted_up(const struct proc *p);
/* Wanted down by a command (tendctl stop, scale down), not down for giving up. */
bool proc_put_down(const struct proc *p);
bool proc_removing(const struct proc *p);
/* It runs under an older config than the one loaded: a reload changed it and it has
 * not restarted yet (its turn in a rollout, or a rollout that halted), or it is gone
 * from the config and not stopped yet. O(1): a generation, not a comparison. */
bool proc_config_old(const struct proc *p);
/* It failed its health checks or its watchdog: to be taken out of nginx, then
 * restarted (see supervisor_heal). Cleared when that run ends. */
bool proc_sick(const struct proc *p);
/* Its liveness for status: "" without health nor watchdog, else "ok", "unknown"
 * (no check passed yet), "failing N of M", or "unhealthy" (proc_sick); in buf. */
const char *proc_health(const struct proc *p, char *buf, size_t len);
struct childio_sink *proc_sink(const struct proc *p);
/* Its last exit is one of its program's exitcodes (a one-shot that succeeded). */
bool proc_exit_expected(const struct proc *p);

/* What a process that is wanted up but not started waits for: the first of its
 * dependencies (depends_on = NAME:CONDITION) not met, and whether it failed (a
 * one-shot that exited otherwise than with its exitcodes, a FATAL one): then the
 * process stays down until the dependency is run again and meets it. */
struct proc_wait {
    const char *program; /* the dependency */
    enum dep_cond cond;
    bool failed;
    char text[256]; /* "migrate:succeeded failed (migrate exited 1)" */
};
/* Fills w and returns true when p waits; false (w zeroed) when it does not. */
bool proc_waiting(const struct proc *p, struct proc_wait *w);
/* Why its last run ended, its stderr then, its last restarts (lastexit.h). */
const struct lastexit *proc_last_exit(const struct proc *p);

#endif
