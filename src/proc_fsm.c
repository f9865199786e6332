/* proc_fsm: one small function per state; each says what every event does there. */
#include "proc_fsm.h"

#define STEP(state, acts) ((struct proc_step){(state), (acts)})

/* Not wanted up any more (shutting down, being stopped): an exit is the end of it. */
static struct proc_step restart(const struct proc_facts *f, unsigned extra)
{
    if (!f->wanted_up)
        return STEP(PROC_EXITED, extra);
    if (f->delay_zero)
        return STEP(PROC_STARTING, ACT_SPAWN | ACT_COUNT_RESTART | extra);
    return STEP(PROC_BACKOFF, ACT_ARM_BACKOFF | extra);
}

/* A start that did not reach RUNNING: retry with backoff, or give up. */
static struct proc_step failed_start(const struct proc_facts *f, unsigned extra)
{
    extra |= ACT_COUNT_FAILURE;
    return f->retry ? restart(f, extra) : STEP(PROC_FATAL, extra);
}

static struct proc_step down(enum proc_state s, enum proc_event ev)
{
    return ev == EV_START ? STEP(PROC_STARTING, ACT_SPAWN) : STEP(s, 0);
}

static struct proc_step starting(enum proc_event ev, const struct proc_facts *f)
{
    switch (ev) {
    case EV_SPAWN_FAILED:
    case EV_EXIT:
        return failed_start(f, ACT_DISARM);
    case EV_READY:
        return STEP(PROC_RUNNING, ACT_DISARM);
    case EV_TIMEOUT: /* not ready within ready_timeout */
        return STEP(PROC_STOPPING, ACT_DISARM | ACT_SIGNAL_STOP | ACT_MARK_FAILING);
    case EV_STOP:
        return STEP(PROC_STOPPING, ACT_DISARM | ACT_SIGNAL_STOP);
    case EV_KILL:
        return STEP(PROC_STOPPING, ACT_DISARM | ACT_SIGNAL_KILL);
    default:
        return STEP(PROC_STARTING, 0);
    }
}

/* A run ended on its own, or for its health: autorestart decides what follows. */
static struct proc_step ended(const struct proc_facts *f, unsigned extra)
{
    if (f->autorestart == AUTORESTART_TRUE ||
        (f->autorestart == AUTORESTART_UNEXPECTED && !f->expected))
        return restart(f, extra);
    return STEP(PROC_EXITED, extra);
}

static struct proc_step running(enum proc_event ev, const struct proc_facts *f)
{
    switch (ev) {
    case EV_EXIT:
        return ended(f, 0);
    case EV_SICK: /* SIGCONT follows the stop signal: a SIGSTOPped one can die */
        return STEP(PROC_STOPPING, ACT_SIGNAL_STOP);
    case EV_STOP:
        return STEP(PROC_STOPPING, ACT_SIGNAL_STOP);
    case EV_KILL:
        return STEP(PROC_STOPPING, ACT_SIGNAL_KILL);
    default:
        return STEP(PROC_RUNNING, 0);
    }
}

static struct proc_step backoff(enum proc_event ev, const struct proc_facts *f)
{
    switch (ev) {
    case EV_TIMEOUT:
        return f->wanted_up ? STEP(PROC_STARTING, ACT_SPAWN | ACT_COUNT_RESTART)
                            : STEP(PROC_STOPPED, 0);
    case EV_START:
        return STEP(PROC_STARTING, ACT_DISARM | ACT_SPAWN);
    case EV_STOP:
    case EV_KILL:
        return STEP(PROC_STOPPED, ACT_DISARM);
    default:
        return STEP(PROC_BACKOFF, 0);
    }
}

static struct proc_step stopping(enum proc_event ev, const struct proc_facts *f)
{
    switch (ev) {
    case EV_EXIT:
        if (f->failing)
            return failed_start(f, ACT_DISARM);
        if (f->sick && f->wanted_up) /* as a crash: autorestart, backoff, critical */
            return ended(f, ACT_DISARM);
        if (f->wanted_up) /* a restart: stopped, now start again */
            return STEP(PROC_STARTING, ACT_DISARM | ACT_SPAWN);
        return STEP(PROC_STOPPED, ACT_DISARM);
    case EV_TIMEOUT: /* stopwaitsecs passed */
    case EV_KILL:
        return STEP(PROC_STOPPING, ACT_SIGNAL_KILL);
    default:
        return STEP(PROC_STOPPING, 0);
    }
}

struct proc_step proc_fsm_step(enum proc_state state, enum proc_event ev,
                               const struct proc_facts *f)
{
    switch (state) {
    case PROC_STARTING:
        return starting(ev, f);
    case PROC_RUNNING:
        return running(ev, f);
    case PROC_BACKOFF:
        return backoff(ev, f);
    case PROC_STOPPING:
        return stopping(ev, f);
    default:
        return down(state, ev);
    }
}

const char *proc_state_name(enum proc_state s)
{
    static const char *const names[] = {"STOPPED",  "STARTING", "RUNNING", "BACKOFF",
                                        "STOPPING", "EXITED",   "FATAL"};
    return s <= PROC_FATAL ? names[s] : "UNKNOWN";
}

bool proc_state_is_down(enum proc_state s)
{
    return s == PROC_STOPPED || s == PROC_EXITED || s == PROC_FATAL;
}
