/* Private to the control module: control.c (socket, connections, frames) and
 * commands.c (what each command does). */
#ifndef TEND_CONTROL_INT_H
#define TEND_CONTROL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "proto.h"

struct request;

/* A command that waits (start, stop, scale, tail -f...) keeps its state here;
 * cancel runs if the client goes away first. */
struct pending {
    void (*progress)(struct request *r); /* something changed: done yet? */
    void (*cancel)(struct request *r);   /* it ends unfinished: let go of state */
    void (*expire)(struct request *r);   /* before cancel at the deadline: say why */
    void *state;
    uint64_t bound_ms; /* how long it may wait; 0: until the client leaves (tail -f) */
};

struct request {
    struct control *ctl;
    struct conn *conn; /* NULL once the client is gone */
    int argc;
    char **argv;
    struct pending pending;
    uint64_t deadline; /* loop time; 0: none */
    unsigned walk;     /* the last commands_progress() walk that saw it */
    bool ended;
    struct request *prev, *next; /* the waiting ones */
};

struct control_env {
    struct supervisor *sup;
    struct nginx *nginx;
    const struct control_hooks *hooks;
    void *ctx;
};

const struct control_env *control_env(const struct control *c);

/* Replies: text for tendctl's stdout ('o') or stderr ('e'), then the end with
 * an exit status. After reply_end the request is finished. */
void reply(struct request *r, char stream, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reply_data(struct request *r, char stream, const char *buf, size_t len);
void reply_end(struct request *r, int status);
/* Bytes of r's reply not yet taken by the client: a stream (tail -f) drops what
 * would go past its bound, and says so, rather than queue without end. */
size_t reply_queued(const struct request *r);
/* Makes r wait: progress runs after every state change until it ends, the client
 * leaves (cancel), or p.bound_ms passes (expire, cancel, and exit status 1). */
void request_wait(struct request *r, struct pending p);

/* Runs argv; ends the request, or leaves it waiting. */
void commands_run(struct request *r);
/* A process changed state: waiting requests look again. */
void commands_progress(struct control *c);

#endif
