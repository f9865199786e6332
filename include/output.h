/* output: tend's own stdout and stderr as asynchronous writers of whole lines.
 * Memory is bounded: past a high-water mark the writer reports congestion (the
 * caller stops reading children, so they block on their pipes) until it drains.
 * When the stream is gone (EPIPE), that is reported once and output is dropped
 * there; other destinations (log files, rings) are not affected. */
#ifndef TEND_OUTPUT_H
#define TEND_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct output;
typedef void output_congestion_cb(void *ctx, bool congested);
typedef void output_closed_cb(void *ctx);

/* fd is 1 or 2 (duplicated, so tend's own descriptor stays usable). */
struct output *output_open(uv_loop_t *loop, int fd, output_congestion_cb *cb, void *ctx);
/* buf holds whole lines; it is copied when it cannot be written at once. */
void output_write(struct output *o, const char *buf, size_t len);
bool output_congested(const struct output *o);
/* Flushes what is queued, then frees o and calls cb. */
void output_close(struct output *o, output_closed_cb *cb, void *ctx);

#endif
