/* backoff: how long to wait before restarting a process that failed. Pure. */
#ifndef TEND_BACKOFF_H
#define TEND_BACKOFF_H

#include <stdint.h>

struct backoff {
    int failures; /* consecutive failures since the last healthy run */
};

struct backoff_cfg {
    uint64_t delay_ms, max_ms, reset_ms; /* restart_delay, _max, _reset */
};

/* The delay before the next start of a process that just ended after running
 * uptime_ms. The first restart after a healthy run (uptime >= reset) is
 * immediate; the next waits delay, then doubling up to max, each with +-10%
 * jitter drawn from rnd (any 32-bit random number). */
uint64_t backoff_next(struct backoff *b, const struct backoff_cfg *c, uint64_t uptime_ms,
                      uint32_t rnd);
void backoff_reset(struct backoff *b);

#endif
