/* proc_fsm: a supervised process's lifecycle as a pure function,
 * (state, event, facts) -> (next state, actions). No fork, no I/O, no clock:
 * the supervisor gathers the facts, performs the actions, and keeps the
 * wanted state (up or down) apart from this actual one. supervisord's states. */
#ifndef TEND_PROC_FSM_H
#define TEND_PROC_FSM_H

#include <stdbool.h>

#include "proc_policy.h"

enum proc_state {
    PROC_STOPPED,
    PROC_STARTING,
    PROC_RUNNING, /* ready */
    PROC_BACKOFF,
    PROC_STOPPING,
    PROC_EXITED,
    PROC_FATAL,
};

enum proc_event {
    EV_START,        /* it is wanted up */
    EV_STOP,         /* it is wanted down */
    EV_KILL,         /* it is wanted down at once */
    EV_SPAWN_FAILED, /* fork or exec failed */
    EV_READY,        /* startsecs passed, the probe answered, or READY=1 */
    EV_EXIT,         /* the process exited */
    EV_TIMEOUT,      /* the phase's timer: backoff over, ready_timeout, stopwaitsecs */
    EV_SICK,         /* it failed its health checks (or its watchdog) and nginx is
                      * done with it: stopped, then restarted as after a crash */
};

enum proc_action {
    ACT_SPAWN = 1 << 0,         /* fork/exec, then watch for readiness */
    ACT_SIGNAL_STOP = 1 << 1,   /* send stopsignal, arm stopwaitsecs */
    ACT_SIGNAL_KILL = 1 << 2,   /* send SIGKILL */
    ACT_ARM_BACKOFF = 1 << 3,   /* arm the timer with the backoff delay */
    ACT_DISARM = 1 << 4,        /* cancel the phase's timer and readiness check */
    ACT_COUNT_FAILURE = 1 << 5, /* a failed start: counts towards startretries */
    ACT_MARK_FAILING = 1 << 6,  /* stopping because the start failed */
    /* an automatic restart (a crash, a failed start): counts in RESTARTS, as
     * systemd's NRestarts; a start asked for (tendctl, reload) does not */
    ACT_COUNT_RESTART = 1 << 7,
};

struct proc_facts {
    bool wanted_up;  /* the wanted state, after the command that caused the event */
    bool expected;   /* EV_EXIT: the status is one of exitcodes */
    bool retry;      /* another failed start is allowed (startretries) */
    bool delay_zero; /* the backoff delay for a restart now is zero */
    bool failing;    /* STOPPING because the start failed */
    bool sick;       /* STOPPING because it failed its health checks */
    enum autorestart autorestart;
};

struct proc_step {
    enum proc_state next;
    unsigned actions;
};

struct proc_step proc_fsm_step(enum proc_state state, enum proc_event ev,
                               const struct proc_facts *f);
const char *proc_state_name(enum proc_state s);
/* STOPPED, EXITED and FATAL: no process, nothing scheduled. */
bool proc_state_is_down(enum proc_state s);

#endif
