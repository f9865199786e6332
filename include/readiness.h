/* readiness: is a process ready yet? `tcp` connects to 127.0.0.1:PORT, `http`
 * sends GET PATH and wants a 2xx or 3xx answer. Attempts repeat with a growing
 * pause (25 ms up to 250 ms) until one succeeds or the probe is stopped; the
 * caller owns the deadline (ready_timeout). All on the loop, never blocking. */
#ifndef TEND_READINESS_H
#define TEND_READINESS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "proc_policy.h"

struct probe;
typedef void probe_ready_cb(void *ctx);
/* The port answers, but another process than owner's tree listens there: holder
 * names it ("pid 1234 (node)", or "another process"). Told once per such listener. */
typedef void probe_note_cb(void *ctx, const char *holder);

struct probe_target {
    enum ready_kind kind;
    int port;
    const char *path; /* READY_HTTP's */
    pid_t owner;      /* a connect counts only when the listener is its or a
                       * descendant's (ports.h); 0: any listener counts */
};

/* Starts probing; cb runs once, when ready. note may be NULL. */
struct probe *probe_start(uv_loop_t *loop, const struct probe_target *t, probe_ready_cb *cb,
                          probe_note_cb *note, void *ctx);
/* One attempt within timeout_ms, for a liveness check (t->kind READY_TCP or
 * READY_HTTP): cb runs once, from the loop, with why the attempt failed ("connection
 * refused", "GET /health answered 500", "no answer in time"), or "". Stop the probe
 * after (from cb too). */
typedef void probe_result_cb(void *ctx, bool ok, const char *why);
struct probe *probe_once(uv_loop_t *loop, const struct probe_target *t, uint64_t timeout_ms,
                         probe_result_cb *cb, void *ctx);
/* Who holds the port when the last connect reached another's listener, or "". */
const char *probe_holder(const struct probe *p);
/* Stops probing; the probe frees itself once its handles are closed. NULL is fine. */
void probe_stop(struct probe *p);

/* ready = notify: a datagram socket of the process's own, given to it as
 * NOTIFY_SOCKET (an abstract name: no file to clean up). Each message arrives with
 * its sender's pid and uid (SCM_CREDENTIALS); the caller decides whether it may speak. */
struct notify_listener;
typedef void notify_msg_cb(void *ctx, pid_t sender, uid_t uid, const char *msg, size_t len);

/* Returns NULL and *err (negative errno) on failure. */
struct notify_listener *readiness_listen(uv_loop_t *loop, notify_msg_cb *cb, void *ctx, int *err);
/* The NOTIFY_SOCKET value: "@tend-notify-...". */
const char *readiness_path(const struct notify_listener *l);
/* Closes the socket; NULL is fine. */
void readiness_unlisten(struct notify_listener *l);

#endif
