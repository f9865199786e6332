/* backoff: exponential, capped, jittered. */
#include "backoff.h"

uint64_t backoff_next(struct backoff *b, const struct backoff_cfg *c, uint64_t uptime_ms,
                      uint32_t rnd)
{
    if (uptime_ms >= c->reset_ms)
        b->failures = 0;
    int n = b->failures++;
    if (n == 0 || c->delay_ms == 0)
        return 0;
    uint64_t d = c->delay_ms;
    for (int i = 1; i < n && d < c->max_ms; i++)
        d *= 2;
    if (d > c->max_ms)
        d = c->max_ms;
    d = d * (900 + rnd % 201) / 1000; /* +-10%, so crashed siblings do not restart in step */
    return d > c->max_ms ? c->max_ms : d;
}

void backoff_reset(struct backoff *b)
{
    b->failures = 0;
}
