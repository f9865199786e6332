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
    /* Reads the config anew and checks it, applying nothing: 0 and *next (the
     * caller's), or -1 with "FILE:LINE: error: message" in msg. Its warnings and
     * errors are added to d. */
    int (*load)(void *ctx, struct config **next, struct diag_list *d, char *msg, size_t len);
    /* Applies next, taken over whatever happens: 0 with the summary line in msg,
     * or -1 with why (the running config is kept). sum's fate hook hears of each
     * process as the supervisor decides. */
    int (*apply)(void *ctx, struct config *next, struct reload_summary *sum, char *msg,
                 size_t len);
    void (*shutdown)(void *ctx);
};

struct reload_wait;

struct commands {
    struct supervisor *sup;
    struct nginx *nginx;
    const struct commands_hooks *hooks;
    void *ctx;
    struct reload_wait *reload_wait; /* the reload --wait under way (reload_request.h) */
};

/* The control server's request callback; ctx is a struct commands. */
void commands_run(void *ctx, struct request *r);

#endif
