/* lastexit: the record of a process's last exit, kept within its bounds. */
#include "lastexit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "json.h"
#include "strbuf.h"
#include "strconv.h"

void lastexit_init(struct lastexit *e)
{
    *e = (struct lastexit){.status = -1};
}

void lastexit_free(struct lastexit *e)
{
    free(e->reason);
    free(e->tail);
    lastexit_init(e);
}

/* How much of s (n bytes) fits in max without splitting a UTF-8 character. */
static size_t whole_chars(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    for (int back = 0; k > 0 && back < 3 && ((unsigned char)s[k] & 0xc0) == 0x80; back++)
        k--;
    return k;
}

void lastexit_set(struct lastexit *e, enum proc_cause cause, int status, int64_t ended_ms,
                  const char *reason)
{
    e->cause = cause;
    e->status = status;
    e->ended_ms = ended_ms;
    free(e->reason);
    e->reason = NULL;
    if (reason && *reason) /* out of memory: without its words, not without its cause */
        e->reason = strndup(reason, whole_chars(reason, strlen(reason),
                                                LASTEXIT_REASON_BYTES - 1));
}

/* A line as kept: cut to LINE_BYTES with the mark, or whole; returns its length. */
static size_t kept_len(size_t len)
{
    return len < LASTEXIT_LINE_BYTES ? len : LASTEXIT_LINE_BYTES - 1;
}

static size_t put_line(char *out, const char *line, size_t len)
{
    size_t mark = sizeof(LASTEXIT_CUT) - 1;
    if (len < LASTEXIT_LINE_BYTES) {
        memcpy(out, line, len);
        out[len] = '\n';
        return len + 1;
    }
    size_t k = whole_chars(line, len, LASTEXIT_LINE_BYTES - 1 - mark);
    memcpy(out, line, k);
    memcpy(out + k, LASTEXIT_CUT, mark);
    out[k + mark] = '\n';
    return k + mark + 1;
}

void lastexit_keep_tail(struct lastexit *e, const char *text, size_t n, bool start_lost)
{
    const char *starts[LASTEXIT_LINES];
    size_t lens[LASTEXIT_LINES], total = 0;
    int count = 0;
    size_t end = n > 0 && text[n - 1] == '\n' ? n - 1 : n;
    bool more = n > 0;
    /* from the newest line back, while the lines and the bytes allow */
    while (more && count < LASTEXIT_LINES) {
        size_t i = end;
        while (i > 0 && text[i - 1] != '\n')
            i--;
        if (i == 0 && start_lost)
            break; /* the oldest line's start was lost */
        size_t len = end - i, need = kept_len(len) + 1;
        if (total + need > LASTEXIT_TAIL_BYTES)
            break;
        starts[count] = text + i;
        lens[count++] = len;
        total += need;
        more = i > 0;
        end = more ? i - 1 : 0;
    }
    free(e->tail);
    e->tail = NULL;
    e->tail_len = 0;
    e->tail_lines = 0;
    if (count == 0 || !(e->tail = malloc(total)))
        return;
    for (int k = count - 1; k >= 0; k--)
        e->tail_len += put_line(e->tail + e->tail_len, starts[k], lens[k]);
    e->tail_lines = count;
}

void lastexit_restarted(struct lastexit *e, int64_t ms)
{
    e->restarts[e->nrestarts % LASTEXIT_RESTARTS] = ms;
    e->nrestarts++;
}

int lastexit_restart_times(const struct lastexit *e, int64_t *out)
{
    unsigned n = e->nrestarts < LASTEXIT_RESTARTS ? e->nrestarts : LASTEXIT_RESTARTS;
    for (unsigned i = 0; i < n; i++)
        out[i] = e->restarts[(e->nrestarts - n + i) % LASTEXIT_RESTARTS];
    return (int)n;
}

const char *lastexit_cause_name(enum proc_cause c)
{
    static const char *const names[] = {NULL,     "exited",   "signal", "stopped",  "health",
                                        "watchdog", "oom",    "exec",   "not_ready"};
    return (unsigned)c < sizeof(names) / sizeof(names[0]) ? names[c] : NULL;
}

/* "exited with status 3", "killed by SIGTERM", "killed by signal 99". */
static void status_text(int st, char *buf, size_t len)
{
    const char *sig = WIFSIGNALED(st) ? strconv_signal_name(WTERMSIG(st)) : NULL;
    const char *core = WIFSIGNALED(st) && WCOREDUMP(st) ? " (core dumped)" : "";
    if (sig)
        snprintf(buf, len, "killed by SIG%s%s", sig, core);
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "killed by signal %d%s", WTERMSIG(st), core);
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
}

void lastexit_describe(const struct lastexit *e, char *buf, size_t len)
{
    char how[64] = "";
    const char *why = e->reason ? e->reason : "";
    if (e->status >= 0)
        status_text(e->status, how, sizeof(how));
    switch (e->cause) {
    case CAUSE_NONE:
        snprintf(buf, len, "%s", "");
        break;
    case CAUSE_EXITED:
    case CAUSE_SIGNALED:
        snprintf(buf, len, "%s", how);
        break;
    case CAUSE_OOM:
        snprintf(buf, len, "%s (out of memory)", how);
        break;
    case CAUSE_STOPPED:
        snprintf(buf, len, "stopped by tend (%s)", how);
        break;
    case CAUSE_EXEC:
        snprintf(buf, len, "could not start: %s", *why ? why : "exec failed");
        break;
    case CAUSE_HEALTH:
    case CAUSE_WATCHDOG:
    case CAUSE_NOT_READY:
        snprintf(buf, len, "stopped by tend: %s (%s)",
                 *why ? why : e->cause == CAUSE_HEALTH     ? "health check failed"
                            : e->cause == CAUSE_WATCHDOG ? "no WATCHDOG=1 in time"
                                                           : "not ready in time",
                 how);
        break;
    }
}

void lastexit_time_text(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || !gmtime_r(&secs, &tm)) {
        snprintf(buf, len, "-");
        return;
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static void add_quoted(struct strbuf *t, const char *s, size_t n)
{
    char buf[LASTEXIT_LINE_BYTES * 6 + 8]; /* every byte escaped: \u00XX */
    json_quote(buf, sizeof(buf), s, n);
    strbuf_add(t, buf, strlen(buf));
}

static void add_time(struct strbuf *t, int64_t ms)
{
    char when[40];
    lastexit_time_text(ms, when, sizeof(when));
    strbuf_printf(t, "\"%s\"", when);
}

static void add_status(struct strbuf *t, int st)
{
    const char *sig = WIFSIGNALED(st) ? strconv_signal_name(WTERMSIG(st)) : NULL;
    if (st < 0)
        strbuf_printf(t, "null");
    else if (!WIFSIGNALED(st))
        strbuf_printf(t, "{\"code\":%d}", WEXITSTATUS(st));
    else if (sig)
        strbuf_printf(t, "{\"signal\":\"SIG%s\",\"core\":%s}", sig, WCOREDUMP(st) ? "true" : "false");
    else
        strbuf_printf(t, "{\"signal\":%d,\"core\":%s}", WTERMSIG(st), WCOREDUMP(st) ? "true" : "false");
}

void lastexit_json(struct strbuf *t, const struct lastexit *e)
{
    char why[LASTEXIT_REASON_BYTES + 128];
    int64_t times[LASTEXIT_RESTARTS];
    bool ended = e->cause != CAUSE_NONE;
    strbuf_printf(t, ",\"last_exit\":");
    add_status(t, ended ? e->status : -1);
    strbuf_printf(t, ended ? ",\"cause\":\"%s\",\"why\":" : ",\"cause\":null,\"why\":null",
                  lastexit_cause_name(e->cause));
    if (ended) {
        lastexit_describe(e, why, sizeof(why));
        add_quoted(t, why, strlen(why));
    }
    strbuf_printf(t, ",\"ended_at\":");
    if (ended)
        add_time(t, e->ended_ms);
    else
        strbuf_printf(t, "null");
    strbuf_printf(t, ",\"stderr_tail\":[");
    for (const char *p = e->tail, *end = p + e->tail_len, *nl; p && p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        strbuf_printf(t, p == e->tail ? "" : ",");
        add_quoted(t, p, (size_t)(nl - p));
    }
    strbuf_printf(t, "],\"restart_times\":[");
    for (int i = 0, n = lastexit_restart_times(e, times); i < n; i++) {
        strbuf_printf(t, i ? "," : "");
        add_time(t, times[i]);
    }
    strbuf_printf(t, "]");
}
