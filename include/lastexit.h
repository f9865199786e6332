/* lastexit: why a process's last run ended, for `tendctl status` and `tendctl why`:
 * its wait status, the cause, the wall-clock time it ended, the last lines of its
 * stderr at that moment, and the times of its last automatic restarts. A record
 * per process, bounded (LASTEXIT_TAIL_BYTES of text, LASTEXIT_RESTARTS times);
 * each exit replaces the last. Pure: the supervisor gathers the facts
 * (supervisor_lastexit.c), this keeps and words them. */
#ifndef TEND_LASTEXIT_H
#define TEND_LASTEXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a process's last run ended (status, tendctl why). tend sets a stop's cause
 * before it stops a process for a reason of its own (a health check, the watchdog);
 * otherwise the exit says it (a status, a signal, the kernel's OOM killer). */
enum proc_cause {
    CAUSE_NONE,      /* it has not ended yet */
    CAUSE_EXITED,    /* it exited on its own, with a status */
    CAUSE_SIGNALED,  /* a signal tend did not send killed it */
    CAUSE_STOPPED,   /* tend stopped it as asked (tendctl, reload, scale, shutdown) */
    CAUSE_HEALTH,    /* its health check failed health_failures times in a row */
    CAUSE_WATCHDOG,  /* no WATCHDOG=1 within watchdog */
    CAUSE_OOM,       /* the kernel's OOM killer */
    CAUSE_EXEC,      /* it could not be started (exec, chdir, user, port in use) */
    CAUSE_NOT_READY, /* not ready within ready_timeout: tend stopped it */
};

enum {
    LASTEXIT_LINES = 20,        /* lines of stderr kept */
    LASTEXIT_TAIL_BYTES = 4096, /* their bytes at most: older lines go first */
    LASTEXIT_LINE_BYTES = 1024, /* one line's at most: a longer one is cut (LASTEXIT_CUT) */
    LASTEXIT_REASON_BYTES = 256,
    LASTEXIT_RESTARTS = 10,     /* restart times kept */
};
/* Ends a line cut to LASTEXIT_LINE_BYTES (its start is kept, whole characters). */
#define LASTEXIT_CUT " [cut]"

struct lastexit {
    enum proc_cause cause; /* CAUSE_NONE: it has not ended since tend began */
    int status;            /* the wait status; -1: there was no process to wait for */
    int64_t ended_ms;      /* when, wall clock: milliseconds since the epoch */
    char *reason;          /* tend's words for it (exec error, failed check), or NULL */
    char *tail;            /* stderr's last lines, each ending in '\n'; NULL: none */
    size_t tail_len;
    int tail_lines;
    int64_t restarts[LASTEXIT_RESTARTS]; /* a ring of wall-clock times */
    unsigned nrestarts;                  /* ever; the newest is at (n - 1) % RESTARTS */
};

void lastexit_init(struct lastexit *e);
void lastexit_free(struct lastexit *e);
/* A run ended: replaces the record's cause, status, time and reason (cut to
 * LASTEXIT_REASON_BYTES; NULL or "" for none). The tail is left as it was. */
void lastexit_set(struct lastexit *e, enum proc_cause cause, int status, int64_t ended_ms,
                  const char *reason);
/* Keeps the last LASTEXIT_LINES lines of text (n bytes of the stream, oldest
 * first), within the bounds above. start_lost: text does not begin at a line's
 * start (its beginning was overwritten), so its first line is not whole and is
 * dropped. A last line without its newline counts as a line. O(n). */
void lastexit_keep_tail(struct lastexit *e, const char *text, size_t n, bool start_lost);
/* An automatic restart happened at wall-clock time ms. O(1). */
void lastexit_restarted(struct lastexit *e, int64_t ms);
/* The kept restart times, oldest first, into out[LASTEXIT_RESTARTS]; returns how many. */
int lastexit_restart_times(const struct lastexit *e, int64_t *out);

/* "exited", "signal", "stopped", "health", "watchdog", "oom", "exec",
 * "not_ready"; NULL for CAUSE_NONE. */
const char *lastexit_cause_name(enum proc_cause c);
/* The exit for a person: "exited with status 3", "killed by SIGKILL (out of
 * memory)", "stopped for its health: health check failed ...". "" when none. */
void lastexit_describe(const struct lastexit *e, char *buf, size_t len);
struct strbuf;
/* The record as members of a JSON object (status --json), each after a comma:
 * "last_exit" ({"code":N}, {"signal":"SIGKILL","core":false}, or null), "cause"
 * (lastexit_cause_name, or null), "why" (lastexit_describe, or null), "ended_at"
 * (lastexit_time_text, or null), "stderr_tail" and "restart_times" (arrays,
 * oldest first; empty when none). Null: it has not ended since tend began. */
void lastexit_json(struct strbuf *t, const struct lastexit *e);
/* RFC 3339, UTC, milliseconds: "2026-12-05T19:03:20.123Z". */
void lastexit_time_text(int64_t ms, char *buf, size_t len);

#endif
