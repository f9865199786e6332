/* why: a process's last exit, worded for tendctl why. */
#include "why.h"

#include <stdio.h>
#include <string.h>

#include "lastexit.h"
#include "strbuf.h"
#include "strconv.h"

/* "2026-12-05T19:03:20.123Z (12s ago)" */
static void add_when(struct strbuf *t, int64_t ms, int64_t now_ms)
{
    char when[40], ago[32];
    lastexit_time_text(ms, when, sizeof(when));
    strconv_format_duration(now_ms > ms ? (uint64_t)(now_ms - ms) : 0, ago, sizeof(ago));
    strbuf_printf(t, "%s (%s ago)\n", when, ago);
}

static void add_restarts(struct strbuf *t, const struct lastexit *e, int64_t now_ms)
{
    int64_t times[LASTEXIT_RESTARTS];
    int n = lastexit_restart_times(e, times);
    if (n == 0)
        return strbuf_printf(t, "  restarts:  none since tend began\n");
    if ((unsigned)n < e->nrestarts)
        strbuf_printf(t, "  restarts:  %u, the last %d at\n", e->nrestarts, n);
    else
        strbuf_printf(t, "  restarts:  %d, at\n", n);
    for (int i = n - 1; i >= 0; i--) { /* the latest first */
        strbuf_printf(t, "             ");
        add_when(t, times[i], now_ms);
    }
}

static void add_tail(struct strbuf *t, const struct lastexit *e, bool merged)
{
    const char *what = merged ? "output (stderr goes to stdout)" : "stderr";
    if (!e->tail_lines)
        return strbuf_printf(t, "  %s:%s nothing in this run\n", what, merged ? "" : "   ");
    strbuf_printf(t, "  %s, its last %d line%s then:\n", what, e->tail_lines,
                  e->tail_lines == 1 ? "" : "s");
    for (const char *p = e->tail, *end = p + e->tail_len, *nl; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        strbuf_printf(t, "    %.*s\n", (int)(nl - p), p);
    }
}

void why_text(struct strbuf *t, const struct proc *p, int64_t now_ms)
{
    const struct lastexit *e = proc_last_exit(p);
    char how[LASTEXIT_REASON_BYTES + 128];
    strbuf_printf(t, "%s: %s", proc_name(p), proc_state_name(proc_state(p)));
    if (proc_pid(p) > 0)
        strbuf_printf(t, ", pid %d", (int)proc_pid(p));
    strbuf_printf(t, "\n");
    if (e->cause == CAUSE_NONE) {
        strbuf_printf(t, "  last exit: none: it has not ended since tend began\n");
        return add_restarts(t, e, now_ms);
    }
    lastexit_describe(e, how, sizeof(how));
    strbuf_printf(t, "  last exit: %s\n  cause:     %s\n  ended:     ", how,
                  lastexit_cause_name(e->cause));
    add_when(t, e->ended_ms, now_ms);
    add_restarts(t, e, now_ms);
    if (e->cause != CAUSE_EXEC || e->tail_lines)
        add_tail(t, e, proc_program(p)->redirect_stderr);
}
