/* devnotes: an observer of the process table that tells a developer two things the
 * supervisor's log leaves implicit: a process is done for good, and a stop is slow. */
#include "devnotes.h"

#include <stdlib.h>

#include "log.h"

struct devnotes {
    uv_timer_t timer; /* first: the close callback frees the struct through it */
    struct supervisor *sup;
    /* every stop that began at or before this (loop time) has been looked at */
    uint64_t told_until;
};

static void say_slow(const struct proc *p)
{
    uint64_t wait = proc_program(p)->stopwait_ms, in = proc_state_ms(p);
    if (wait > in)
        log_info("waiting for %s to stop (SIGKILL in %llus)", proc_name(p),
                 (unsigned long long)((wait - in + 999) / 1000));
    else
        log_info("waiting for %s to stop (SIGKILL sent)", proc_name(p));
}

/* Says it of each stop that has lasted long enough and was not said yet, then waits
 * for the next stop to last as long: no polling. */
static void on_timer(uv_timer_t *t)
{
    struct devnotes *n = t->data;
    uint64_t now = uv_now(t->loop), next = UINT64_MAX;
    for (int i = 0; i < supervisor_count(n->sup); i++) {
        const struct proc *p = supervisor_proc(n->sup, i);
        uint64_t began = now - proc_state_ms(p);
        if (proc_state(p) != PROC_STOPPING || began <= n->told_until)
            continue;
        if (now - began >= DEVNOTES_SLOW_STOP_MS)
            say_slow(p);
        else if (began < next)
            next = began;
    }
    if (now >= DEVNOTES_SLOW_STOP_MS)
        n->told_until = now - DEVNOTES_SLOW_STOP_MS;
    if (next != UINT64_MAX)
        uv_timer_start(&n->timer, on_timer, next + DEVNOTES_SLOW_STOP_MS - now, 0);
}

static void on_change(void *ctx, struct proc *p, enum proc_state old)
{
    struct devnotes *n = ctx;
    if (!p || proc_state(p) == old)
        return;
    if (proc_state(p) == PROC_EXITED)
        log_info("%s: done, not restarted", proc_name(p));
    if (proc_state(p) != PROC_STOPPING || uv_is_active((uv_handle_t *)&n->timer))
        return; /* an armed timer looks at every stop when it fires */
    uint64_t in = proc_state_ms(p);
    uv_timer_start(&n->timer, on_timer, in < DEVNOTES_SLOW_STOP_MS ? DEVNOTES_SLOW_STOP_MS - in : 0,
                   0);
}

struct devnotes *devnotes_new(uv_loop_t *loop, struct supervisor *s)
{
    struct devnotes *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    uv_timer_init(loop, &n->timer);
    n->timer.data = n;
    n->sup = s;
    supervisor_observe(s, on_change, n);
    return n;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void devnotes_free(struct devnotes *n)
{
    if (!n)
        return;
    supervisor_unobserve(n->sup, on_change, n);
    uv_timer_stop(&n->timer);
    uv_close((uv_handle_t *)&n->timer, on_closed);
}
