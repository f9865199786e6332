/* ring: the most recent bytes of a stream, for `tendctl tail`. Memory is taken
 * on first use and never grows past the capacity. Pure data structure. */
#ifndef TEND_RING_H
#define TEND_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
    char *buf;
    size_t cap, start, len;
    uint64_t total; /* bytes ever appended: a reader's position for `tail -f` */
    uint64_t cleared; /* total when last cleared: what came before is gone whole */
};

void ring_init(struct ring *r, size_t cap);
void ring_append(struct ring *r, const char *data, size_t n);
/* Copies the last `lines` whole lines (all that is kept when lines < 0) into
 * out, at most outlen bytes (the most recent ones). Returns the length. */
size_t ring_tail(const struct ring *r, int lines, char *out, size_t outlen);
/* Copies what was appended after position `from` (see total); returns the
 * length, and sets *from to the new position. Bytes lost to wrap-around are skipped. */
size_t ring_since(const struct ring *r, uint64_t *from, char *out, size_t outlen);
/* Forgets what is kept (tendctl clear); positions go on from where they were. */
void ring_clear(struct ring *r);
void ring_free(struct ring *r);

#endif
