/* control: tend's control socket (protocol in proto.h and tendctl(1)). */
#ifndef TEND_CONTROL_H
#define TEND_CONTROL_H

#include <stddef.h>
#include <uv.h>

#include "config.h"
#include "nginx.h"
#include "supervisor.h"

struct control;

/* What only the loop owner can do. */
struct control_hooks {
    /* Re-reads the config and applies it; -1 with "FILE:LINE: message" in err. */
    int (*reload)(void *ctx, char *msg, size_t len);
    void (*shutdown)(void *ctx);
};

/* Creates the socket (mode, owner; a stale one is replaced, a live tend's is not)
 * and serves it. Returns NULL with a message in err. */
struct control *control_start(uv_loop_t *loop, const struct tend_cfg *t, struct supervisor *sup,
                              struct nginx *ng, const struct control_hooks *hooks, void *ctx,
                              char *err, size_t len);
/* A process changed state: requests waiting on one look again (c may be NULL). */
void control_changed(struct control *c);
/* Closes the socket and every connection; removes the socket file. */
void control_stop(struct control *c);

#endif
