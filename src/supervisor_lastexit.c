/* supervisor_lastexit: gathers why each run ended (the cause, its stderr then, the
 * time) into the process's record (lastexit.h), and the times of its restarts. */
#include "supervisor.h"
#include "supervisor_int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "childio.h"
#include "lastexit.h"
#include "log.h"
#include "ring.h"

static int64_t wall_ms(const struct supervisor *s)
{
    struct timespec ts;
    if (s->os.wall_ms)
        return s->os.wall_ms(s->os.ctx);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The stream its stderr goes to: stdout's with redirect_stderr. */
static enum childio_stream err_stream(const struct proc *p)
{
    return p->prog->redirect_stderr ? CHILDIO_STDOUT : CHILDIO_STDERR;
}

void supervisor_lastexit_start(struct supervisor *s)
{
    s->oom_known = s->os.oom_kills(s->os.ctx, &s->oom_seen) == 0;
}

void supervisor_lastexit_spawned(struct proc *p)
{
    p->err_from = p->sink ? childio_ring(p->sink, err_stream(p))->total : 0;
}

/* A SIGKILL tend did not send: the kernel's OOM killer, when its count rose since
 * tend last looked. Where the count cannot be read, it is not known: no guess. */
static bool oom_killed(struct supervisor *s)
{
    uint64_t now;
    if (s->os.oom_kills(s->os.ctx, &now) < 0)
        return false;
    bool rose = s->oom_known && now > s->oom_seen;
    s->oom_seen = now;
    s->oom_known = true;
    return rose;
}

static enum proc_cause cause_of(struct proc *p, enum proc_event ev)
{
    int st = p->last_status;
    if (ev == EV_SPAWN_FAILED)
        return CAUSE_EXEC;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && !p->forced && oom_killed(p->sup))
        return CAUSE_OOM;
    if (p->kill_cause != CAUSE_NONE)
        return p->kill_cause;
    if (p->state == PROC_STOPPING)
        return p->failing ? CAUSE_NOT_READY : CAUSE_STOPPED;
    return WIFSIGNALED(st) ? CAUSE_SIGNALED : CAUSE_EXITED;
}

/* This run's stderr, as the ring has it: the pipes are read to their end first
 * (the process is gone; what it wrote last may still be in them). */
static void keep_tail(struct proc *p)
{
    if (!p->sink)
        return lastexit_keep_tail(&p->last, "", 0, false);
    childio_sink_drain(p->sink);
    const struct ring *r = childio_ring(p->sink, err_stream(p));
    char *buf = malloc(CHILDIO_RING);
    uint64_t from = p->err_from;
    bool lost = from < r->total - r->len; /* overwritten: its first line is not whole */
    size_t n = buf ? ring_since(r, &from, buf, CHILDIO_RING) : 0;
    lastexit_keep_tail(&p->last, buf ? buf : "", n, lost);
    free(buf);
}

void supervisor_lastexit_ended(struct proc *p, enum proc_event ev)
{
    enum proc_cause c = cause_of(p, ev);
    bool tend_says = c == CAUSE_EXEC || c == CAUSE_HEALTH || c == CAUSE_WATCHDOG ||
                     c == CAUSE_NOT_READY;
    lastexit_set(&p->last, c, ev == EV_EXIT ? p->last_status : -1, wall_ms(p->sup),
                 tend_says ? p->error : NULL);
    keep_tail(p);
    if (c != CAUSE_OOM)
        return;
    log_warn("%s: the kernel's OOM killer killed it (out of memory)", p->cfg->name);
    char *text = strdup("killed by SIGKILL (out of memory)");
    if (text) { /* what status shows of it */
        free(p->error);
        p->error = text;
    }
}

void supervisor_lastexit_restarted(struct proc *p)
{
    lastexit_restarted(&p->last, wall_ms(p->sup));
}

const struct lastexit *proc_last_exit(const struct proc *p)
{
    return &p->last;
}
