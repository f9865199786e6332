/* Private to the supervisor (supervisor.c: events and actions; supervisor_admin.c:
 * commands, scaling and reloads). */
#ifndef TEND_SUPERVISOR_INT_H
#define TEND_SUPERVISOR_INT_H

#include "backoff.h"
#include "index.h"
#include "spawn.h"
#include "supervisor.h"

/* A config snapshot and the processes that still use it: an old one is freed
 * once the last process has moved to a newer one. A snapshot is never written to:
 * processes that `scale` adds past a program's numprocs get their config in an
 * overlay, a snapshot of its own whose arena holds them and which keeps its base
 * (whose programs they belong to) alive. */
struct snapshot {
    struct config *cfg;     /* owned, unless this is an overlay (then base's) */
    struct arena *extra;    /* an overlay's processes */
    struct snapshot *base;  /* an overlay's: referenced while the overlay lives */
    int refs;
    unsigned gen; /* one more with each reload; an overlay has its base's */
    struct snapshot *next;
};

enum { MAX_OBSERVERS = 8 };

/* A change to tell the observers: p went from old to its state now (or, gone, left
 * the table). Told from the loop, after the transition and its actions are done. */
struct news {
    struct proc *p;
    enum proc_state old;
};

/* A child's exec-status pipe, watched until it says exec'd or failed. Its own
 * allocation: it goes with its close callback, whenever the process goes. */
struct exec_watch {
    uv_poll_t poll;
    struct proc *p; /* NULL once let go */
    int fd;
};

/* A list of processes waiting for the next turn (each in a list once: its flag). */
struct plist {
    struct proc **v;
    int n, cap;
};

struct proc {
    struct supervisor *sup;
    struct snapshot *snap; /* holds prog and cfg */
    const struct program_cfg *prog;
    const struct proc_cfg *cfg;
    struct { /* a reload changed it: the config it restarts with */
        struct snapshot *snap;
        const struct program_cfg *prog;
        const struct proc_cfg *cfg;
    } pending;
    enum proc_state state;
    /* Wanted state (STYLE rule 14): commands write these and mark it dirty; only
     * reconcile turns them into events of the state machine. */
    bool wanted_up;
    bool put_down; /* wanted down by a command (tendctl stop), not by giving up */
    bool kick;  /* a command's start: now, from BACKOFF too, whatever its dependencies */
    bool cycle; /* a restart: a running process stops first, and starts again */
    bool failing;
    bool due; /* its zero-delay timer: handled on the next turn of the loop */
    /* in s->due, s->dirty, s->held: not freed while listed */
    bool on_due, on_dirty, on_held;
    bool removing; /* leaves the table once down (scaled down, or gone from the config) */
    bool gone;     /* out of the table: freed once the news of it has been told */
    int queued;    /* news items that name it, not yet told */
    pid_t pid;
    uint64_t started_ms, changed_ms, delay_ms;
    int failed_starts, last_status;
    int restarts; /* automatic ones only (ACT_COUNT_RESTART) */
    bool forced;  /* tend sent it SIGKILL: the stop it asked for did not come in time */
    int attempts; /* starts tried, failed ones (exec, chdir) too */
    struct backoff backoff;
    char *error; /* why it last failed, or NULL */
    uv_timer_t timer; /* the phase's: startsecs/ready_timeout, backoff, stopwaitsecs */
    struct probe *probe; /* ready = tcp or http, while STARTING */
    struct notify_listener *notify; /* ready = notify: its own NOTIFY_SOCKET */
    struct childio_sink *sink;
    struct exec_watch *exec; /* forked, its exec not yet confirmed */
    bool exec_failed;        /* a step before exec failed (error says which) */
    /* tend stops it for this reason (CAUSE_HEALTH, CAUSE_WATCHDOG): its exit is told
     * so, and restarts as a crash would; CAUSE_NONE otherwise */
    enum proc_cause kill_cause;
    struct health *health; /* its liveness checks and watchdog, when it has any */
    bool sick; /* failed them: out of nginx, then stopped and restarted as a crash */
    bool heal; /* the stop of a sick one is due (supervisor_heal) */
    bool health_passed; /* a health check passed in this run (supervisor_health) */
    bool said_held; /* the log said a failed dependency holds it (supervisor_deps) */
    struct lastexit last; /* why its last run ended (supervisor_lastexit.c) */
    uint64_t err_from;    /* where this run's stderr begins in its sink's ring */
};

struct supervisor {
    uv_loop_t *loop;
    struct supervisor_os os; /* the caller's or the system's; now_ms NULL: uv_now */
    struct childio *io; /* its processes' output; not its own */
    const struct config *cfg; /* the current snapshot's */
    struct snapshot *snaps;   /* the current one first, then older ones still in use */
    struct proc **procs;      /* in start order */
    int nprocs, cap;
    struct index by_name, by_pid; /* of the table's processes; by_pid while they run */
    struct index checks; /* exec health checks running, by pid */
    /* Of the table's processes, kept by account(): readiness and status for
     * systemd cost O(1) per change, not a walk of the table. */
    int in_state[PROC_FATAL + 1];
    int unready; /* autostart, not leaving the table, not RUNNING */
    bool stopping, freeing;
    bool stop_pass; /* shutting down, something changed: see what may stop now */
    bool full_pass; /* out of memory for a list: every process is looked at once */
    /* Each turn, after the I/O: zero-delay timers due, then the processes whose
     * wanted state changed; those held back by dependencies wait for news. */
    struct plist due, dirty, held;
    bool sweep; /* a process leaving the table may be down now */
    /* STYLE rule 12: observers never run inside a transition. Changes are queued
     * here and told by the idle handle `tell`, in order, on the next turn. */
    struct news *news;
    int nnews, capnews;
    uv_idle_t tell;
    uv_idle_cb tell_cb; /* tells the news: supervisor.c's */
    /* supervisor_deps.c's: a summary of each program's processes, by its index in
     * deps_cfg, valid while its epoch is deps_epoch (0 never is) */
    struct dep_memo *deps_memo;
    const struct config *deps_cfg;
    unsigned deps_epoch;
    /* Calls out (critical, stopped) can start a shutdown or free the supervisor:
     * they are made from this timer, never from inside an event being handled. */
    uv_timer_t notify;
    /* Zero delays (restart_delay = 0, startsecs = 0) wait for the next turn of the
     * loop, after its I/O: a crash loop at full speed still lets reaping happen. */
    uv_idle_t soon;
    int open_handles; /* notify, soon and tell: s is freed when all are closed */
    int critical_status; /* -1: none pending */
    supervisor_stopped_cb *stopped;
    void *stopped_ctx;
    supervisor_critical_cb *critical;
    void *critical_ctx;
    struct { supervisor_observer *cb; void *ctx; } observers[MAX_OBSERVERS];
    int nobservers;
    uint32_t rnd;
    /* the OOM killer's count when last read, to tell an OOM kill (it rose) */
    uint64_t oom_seen;
    bool oom_known;
};


/* A process joins the table (wanted up per autostart, or as told). */
struct proc *supervisor_add(struct supervisor *s, struct snapshot *snap,
                            const struct program_cfg *g, const struct proc_cfg *c);
void supervisor_sort(struct supervisor *s);
/* p is leaving the table, or stays after all (the counts follow). */
void supervisor_set_removing(struct proc *p, bool removing);
/* p's wanted state changed: reconcile looks at it on the next turn. */
void supervisor_mark(struct proc *p);
/* Moves p to its pending config (after a reload); keep_sink when its logs are the same. */
void supervisor_swap_pending(struct proc *p, bool keep_sink);
/* p leaves the table once it is down and its news is told. */
void supervisor_leave(struct proc *p);
void snapshot_release(struct supervisor *s, struct snapshot *snap);
/* supervisor_sys.c: what the supervisor asks of the system. */
/* given's members, the system's where it has none (the clock: supervisor_now). */
struct supervisor_os supervisor_os_of(const struct supervisor_os *given);
/* The loop's clock (or the test's), and a random number for jitter. */
uint64_t supervisor_now(const struct supervisor *s);
uint32_t supervisor_random(struct supervisor *s);

/* supervisor_news.c: news queued now, told from the loop by s->tell. */
/* p went from old to its state now. */
void supervisor_news_add(struct proc *p, enum proc_state old);
/* News that p changed without a transition (it became unhealthy, or healthy). */
void supervisor_tell(struct proc *p);

/* supervisor_deps.c: depends_on and its conditions. */
/* Whether every dependency of g is met, as its processes' news has told. */
bool supervisor_deps_met(struct supervisor *s, const struct program_cfg *g);
/* Something about p changed that a condition reads (its state, its wanted state,
 * its health, its leaving): what was judged of its program is judged again.
 * p NULL: of every program. */
void supervisor_deps_changed(struct supervisor *s, const struct proc *p);
void supervisor_deps_free(struct supervisor *s);
/* p waits for its dependencies: said in the log, once, when one of them failed. */
void supervisor_deps_held(struct proc *p);
/* p's environment as its program runs with (tend's, the program's, supervisord's
 * SUPERVISOR_*), with room for `more` entries; free() it. NULL: out of memory.
 * The entries tend makes live in names, which must outlive the list. */
struct env_names {
    char name[512], group[512];
};
const char **supervisor_env(struct proc *p, int more, struct env_names *names);
/* What p's child is started with, without environment and descriptors. */
struct spawn_opts supervisor_spawn_opts(const struct proc *p);

/* supervisor_health.c: liveness checks and the watchdog of RUNNING processes. */
/* p became RUNNING, or stopped being: checks begin or end. */
void supervisor_health_follow(struct proc *p);
/* The exit of an exec check: false when pid is none of them. */
bool supervisor_health_child_exited(struct supervisor *s, pid_t pid, int status);
/* A message from p's NOTIFY_SOCKET: WATCHDOG=1 (or WATCHDOG=trigger). */
void supervisor_health_notified(struct proc *p, const char *msg);
/* p goes: its checks end, its handles close. */
void supervisor_health_free(struct proc *p);
/* supervisor_lastexit.c: why each run ended, for status and tendctl why. */
/* The OOM killer's count now, to compare an unexplained SIGKILL's with. */
void supervisor_lastexit_start(struct supervisor *s);
/* p's child is about to start: its stderr from here on is this run's. */
void supervisor_lastexit_spawned(struct proc *p);
/* p's run ended (EV_EXIT, p->last_status set) or its start failed
 * (EV_SPAWN_FAILED): called before the state machine steps, p's state is the
 * one it ended in. */
void supervisor_lastexit_ended(struct proc *p, enum proc_event ev);
/* p restarts on its own (ACT_COUNT_RESTART). */
void supervisor_lastexit_restarted(struct proc *p);

/* Frees snap, out of the list already: an overlay lets go of its base. */
void snapshot_free(struct supervisor *s, struct snapshot *snap);

#endif
