/* commands: what each tendctl command means. Commands that take time (start,
 * stop, restart, scale, tail -f) wait for the supervisor's news; the stops of
 * workers nginx routes to are drained through nginx first. */
#ifndef TEND_COMMANDS_H
#define TEND_COMMANDS_H

#include "control.h"
#include "nginx.h"
#include "supervisor.h"

/* What only the loop owner can do. */
struct commands_hooks {
    /* Re-reads the config and applies it; -1 with "FILE:LINE: message" in msg. */
    int (*reload)(void *ctx, char *msg, size_t len);
    void (*shutdown)(void *ctx);
};

struct commands {
    struct supervisor *sup;
    struct nginx *nginx;
    const struct commands_hooks *hooks;
    void *ctx;
};

/* The control server's request callback; ctx is a struct commands. */
void commands_run(void *ctx, struct request *r);

#endif
