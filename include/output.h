/* output: tend's own stdout and stderr, and log targets that are pipes, terminals
 * or devices, as asynchronous writers of whole lines: a write never blocks.
 * Memory is bounded: past a high-water mark the writer reports congestion (the
 * caller stops reading children, so they block on their pipes) until it drains.
 * Lines that cannot be kept (past a hard bound, or left unread when it closes)
 * are counted and reported. When the stream is gone (EPIPE), that is reported
 * once and output is dropped there; other destinations are not affected. */
#ifndef TEND_OUTPUT_H
#define TEND_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct output;
typedef void output_congestion_cb(void *ctx, bool congested);
typedef void output_closed_cb(void *ctx);

/* fd is 1 or 2 (duplicated, so tend's own descriptor stays usable). */
struct output *output_open(uv_loop_t *loop, int fd, output_congestion_cb *cb, void *ctx);
/* A log target: fd (opened O_NONBLOCK by tend) becomes the output's, closed with it;
 * label names it in messages. On failure fd is closed and NULL returned. */
struct output *output_adopt(uv_loop_t *loop, int fd, const char *label, output_congestion_cb *cb,
                            void *ctx);
/* buf holds whole lines; it is copied when it cannot be written at once. */
void output_write(struct output *o, const char *buf, size_t len);
bool output_congested(const struct output *o);
/* Its reader is gone (EPIPE, ...): nothing more will be written there. A log
 * target's end is not logged here: its owner says it, with output_error (a
 * negative errno). */
bool output_dead(const struct output *o);
int output_error(const struct output *o);
/* Bytes the reader took so far. */
uint64_t output_written(const struct output *o);
/* Flushes what is queued, then frees o and calls cb. */
void output_close(struct output *o, output_closed_cb *cb, void *ctx);

#endif
