/* control: tend's control socket server (protocol in proto.h and tendctl(1)).
 * It accepts, checks the peer, reads one framed request per connection and hands
 * it to the request callback; replies go out as frames. It knows no command:
 * commands.c gives them their meaning. */
#ifndef TEND_CONTROL_H
#define TEND_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"

struct control;
struct request;

/* A request that waits (start, stop, scale, tail -f...) keeps its state here. */
struct pending {
    void (*progress)(struct request *r); /* something changed: done yet? */
    void (*cancel)(struct request *r);   /* it ends unfinished: let go of state */
    void (*expire)(struct request *r);   /* before cancel at the deadline: say why */
    void *state;
    uint64_t bound_ms; /* how long it may wait; 0: until the client leaves (tail -f) */
};

/* One request, from its arrival until reply_end (which frees it). */
struct request {
    struct control *ctl;
    void *ctx;         /* the request callback's */
    struct conn *conn; /* NULL once the client is gone */
    int argc;
    char **argv;
    struct pending pending;
    uint64_t deadline; /* loop time; 0: none */
    unsigned walk;     /* the last control_progress() walk that saw it */
    bool ended;
    struct request *prev, *next; /* the waiting ones */
};

/* Answers r: ends it with reply_end, or leaves it waiting with request_wait. */
typedef void control_request_cb(void *ctx, struct request *r);

/* Creates the socket and serves it. Its directory is checked (root's or tend's, and
 * writable by nobody else unless sticky) or made 0700 (0711 when the socket's owner
 * is another user); the file gets its mode at bind and its owner without following
 * links. A stale socket of tend's user is replaced, a live one is not (-EADDRINUSE);
 * another user's is removed when tend may, else refused (-EPERM). Returns NULL with
 * *error (negative errno) and a message in err. */
struct control *control_start(uv_loop_t *loop, const struct tend_cfg *t, control_request_cb *cb,
                              void *ctx, int *error, char *err, size_t len);
/* Something changed: each waiting request looks again (c may be NULL). */
void control_progress(struct control *c);
/* Ends every request, closes the socket and every connection; removes the file. */
void control_stop(struct control *c);

/* Replies: text for tendctl's stdout ('o') or stderr ('e'), then the end with
 * an exit status. After reply_end the request is finished. */
void reply(struct request *r, char stream, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reply_data(struct request *r, char stream, const char *buf, size_t len);
void reply_end(struct request *r, int status);
/* Bytes of r's reply not yet taken by the client: a stream (tail -f) drops what
 * would go past its bound, and says so, rather than queue without end. */
size_t reply_queued(const struct request *r);
/* Makes r wait: progress runs after every change until it ends, the client
 * leaves (cancel), or p.bound_ms passes (expire, cancel, and exit status 1). */
void request_wait(struct request *r, struct pending p);

#endif
