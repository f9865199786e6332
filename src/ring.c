/* ring: a circular byte buffer with line-aware reads. */
#include "ring.h"

#include <stdlib.h>
#include <string.h>

void ring_init(struct ring *r, size_t cap)
{
    *r = (struct ring){.cap = cap};
}

void ring_append(struct ring *r, const char *data, size_t n)
{
    r->total += n;
    if (n >= r->cap) { /* only the tail of a huge write survives */
        data += n - r->cap;
        n = r->cap;
    }
    if (!r->buf && !(r->buf = malloc(r->cap)))
        return;
    size_t end = (r->start + r->len) % r->cap;
    size_t first = n < r->cap - end ? n : r->cap - end;
    memcpy(r->buf + end, data, first);
    memcpy(r->buf, data + first, n - first);
    r->len += n;
    if (r->len > r->cap) {
        r->start = (r->start + r->len - r->cap) % r->cap;
        r->len = r->cap;
    }
}

static char at(const struct ring *r, size_t i)
{
    return r->buf[(r->start + i) % r->cap];
}

static size_t copy_out(const struct ring *r, size_t from, char *out, size_t outlen)
{
    size_t n = r->len - from;
    if (n > outlen) {
        from += n - outlen;
        n = outlen;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = at(r, from + i);
    return n;
}

size_t ring_tail(const struct ring *r, int lines, char *out, size_t outlen)
{
    size_t from = 0;
    if (!r->buf)
        return 0;
    if (lines >= 0) {
        size_t i = r->len;
        if (i > 0 && at(r, i - 1) == '\n')
            i--; /* the newline ending the last line */
        for (int seen = 0; i > 0; i--)
            if (at(r, i - 1) == '\n' && ++seen == lines)
                break;
        from = i;
    }
    if (from == 0 && r->total - r->cleared > r->len) /* its start lost to wrap-around */
        while (from < r->len && at(r, from++) != '\n')
            ;
    return copy_out(r, from, out, outlen);
}

size_t ring_since(const struct ring *r, uint64_t *from, char *out, size_t outlen)
{
    uint64_t oldest = r->total - r->len;
    if (*from < oldest) /* overwritten before it was read */
        *from = oldest;
    if (!r->buf || *from >= r->total)
        return 0;
    size_t avail = (size_t)(r->total - *from), off = (size_t)(*from - oldest);
    size_t n = avail < outlen ? avail : outlen;
    for (size_t i = 0; i < n; i++)
        out[i] = at(r, off + i);
    *from += n;
    return n;
}

void ring_clear(struct ring *r)
{
    r->start = r->len = 0; /* total stays: a follower's position still means the same */
    r->cleared = r->total;
}

void ring_free(struct ring *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = r->start = 0;
}
