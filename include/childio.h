/* childio: the output of supervised processes. Each spawn gets pipes for stdout
 * and stderr (one, with redirect_stderr); they are read on the loop until EOF,
 * even after the process is gone (its children may still write), cut into whole
 * lines, and sent where the config says: tend's stdout or stderr (formatted in
 * the line style it is given), a log file or stream, or nowhere. A pipe is not
 * read while one of its destinations is slow (its process blocks; others go on).
 * Every line also goes into the process's ring for `tendctl tail`, and to
 * listeners (`tail -f`). A line longer than LINE_MAX is split; the pieces after
 * the first are marked as continuations. */
#ifndef TEND_CHILDIO_H
#define TEND_CHILDIO_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "log.h"
#include "output.h"
#include "ring.h"

enum { CHILDIO_LINE_MAX = 16 << 10, CHILDIO_RING = 16 << 10 };
enum childio_stream { CHILDIO_STDOUT, CHILDIO_STDERR };

/* The output of every supervised process: where tend's streams are, the style of
 * lines on them, the pipes being read. One per run, made and freed by its owner. */
struct childio;
/* Where one process's lines go. Reference-counted: readers of old pipes keep it.
 * It points at the childio it was made by. */
struct childio_sink;

typedef void childio_line_cb(void *ctx, enum childio_stream stream, const char *line, size_t len);

struct childio_pipes {
    int rd[2], wr[2]; /* per stream; with redirect_stderr, index 1 is -1 */
};

/* Pipes are read on loop; lines for tend's stdout and stderr go to out and err
 * (which it does not own), in style (copied). */
struct childio *childio_new(uv_loop_t *loop, struct output *out, struct output *err,
                            const struct line_style *style);
/* Once the loop has closed every reader (uv_run has returned): its sinks are gone. */
void childio_free(struct childio *c);
/* The config changed: lines from now on look as style says (copied). */
void childio_set_style(struct childio *c, const struct line_style *style);

struct childio_sink *childio_sink_new(struct childio *io, const struct program_cfg *p,
                                      const struct proc_cfg *c);
void childio_sink_unref(struct childio_sink *s);
const struct ring *childio_ring(const struct childio_sink *s, enum childio_stream stream);
/* Empties both rings (tendctl clear); log files and followers are not touched. */
void childio_clear(struct childio_sink *s);
/* Lines as they arrive (tail -f). A listener holds a reference to the sink until
 * it is removed. */
int childio_listen(struct childio_sink *s, childio_line_cb *cb, void *ctx);
void childio_unlisten(struct childio_sink *s, childio_line_cb *cb, void *ctx);
void childio_sink_ref(struct childio_sink *s);

int childio_pipes_open(struct childio_pipes *p, bool redirect_stderr);
/* The descriptors the child gets as 0, 1, 2 (stdin is /dev/null). */
void childio_child_fds(const struct childio_pipes *p, int fds[3]);
/* After the spawn (or its failure): closes the child's ends and reads ours. */
void childio_start(struct childio_sink *s, struct childio_pipes *p);

/* Backpressure: an output or log stream became slow, or caught up. Each pipe is read
 * only while every destination of its own keeps up. */
void childio_congestion_changed(struct childio *c);

/* What s's pipes hold now goes to its ring and destinations, as if read (at most
 * a pipe's worth each; a pipe paused for a slow destination is left as it is): a
 * process was reaped, and the lines it wrote just before may not have been read
 * yet. Its listeners (tail -f) are told of those lines from inside this call. */
void childio_sink_drain(struct childio_sink *s);

/* At the end, every process gone, before tend's stdout closes: reads what the pipes
 * still hold, so that no last line is lost. */
void childio_drain(struct childio *c);

#endif
