/* output: uv streams for pipes, ttys and sockets; plain write() for files. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"

/* Past HIGH_WATER the children's pipes pause (backpressure); MAX_QUEUED bounds what
 * still comes, tend's own messages above all: past it lines are counted, not kept. */
enum { HIGH_WATER = 256 << 10, LOW_WATER = 64 << 10, MAX_QUEUED = 1 << 20, CLOSE_WAIT_MS = 5000 };

struct output {
    uv_loop_t *loop;
    int fd;
    char *label;  /* for messages: "stdout", "stderr", or a log target's path */
    bool adopted; /* the descriptor is the output's own (a log target), closed with it */
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tty_t tty;
    } h;
    bool is_stream, congested, dead, closing;
    size_t queued, queued_lines;
    size_t dropped; /* lines refused past MAX_QUEUED (or by a full device), to be told */
    uint64_t written; /* bytes the reader took */
    int error;        /* why it is dead */
    uv_timer_t give_up; /* closing: what nobody reads by then is dropped */
    output_congestion_cb *cb;
    void *ctx;
    output_closed_cb *closed;
    void *closed_ctx;
};

struct wreq {
    uv_write_t req;
    size_t len, lines;
    char data[];
};

static size_t lines_in(const char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = buf, *end = buf + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        n++;
    return n ? n : len > 0;
}

static void gone(struct output *o, int err)
{
    if (o->dead)
        return;
    o->dead = true;
    o->error = err;
    /* said once; on stderr, unless stderr is the stream that is gone; a log target's
     * owner says it (it opens it again) */
    if (!o->adopted && o->fd != STDERR_FILENO)
        log_error("%s: %s: its output is dropped from now on", o->label, uv_strerror(err));
}

static void set_congested(struct output *o, bool on)
{
    if (o->congested != on) {
        o->congested = on;
        if (o->cb)
            o->cb(o->ctx, on);
    }
}

static void tell_dropped(struct output *o)
{
    if (!o->dropped)
        return;
    log_warn("%s: %zu lines dropped: nobody read them in time", o->label, o->dropped);
    o->dropped = 0;
}

static void output_free(struct output *o)
{
    free(o->label);
    free(o);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct output *o = h->data;
    o->dropped += o->queued_lines; /* what nobody read before the end */
    tell_dropped(o); /* never blocks: see log.c */
    if (o->closed)
        o->closed(o->closed_ctx);
    output_free(o);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct output *o = h->data;
    int flags = o->adopted ? -1 : fcntl(o->fd, F_GETFL);
    if (flags >= 0) /* leave the descriptor as tend found it */
        fcntl(o->fd, F_SETFL, flags & ~O_NONBLOCK);
    uv_close((uv_handle_t *)&o->give_up, on_timer_closed);
}

static void close_now(struct output *o)
{
    if (!uv_is_closing(&o->h.handle))
        uv_close(&o->h.handle, on_handle_closed);
}

/* A reader that stopped reading must not keep PID 1 from exiting. */
static void on_give_up(uv_timer_t *t)
{
    struct output *o = t->data;
    o->dead = true;
    close_now(o);
}

static void on_written(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct output *o = req->handle->data;
    o->queued -= w->len;
    o->queued_lines -= w->lines;
    if (status < 0) /* not written: the reader went away, or nobody read it in time */
        o->dropped += w->lines;
    if (status < 0 && status != UV_ECANCELED)
        gone(o, status);
    else if (status == 0)
        o->written += w->len;
    free(w);
    if (o->queued < LOW_WATER)
        set_congested(o, false);
    if (o->queued < LOW_WATER && !o->closing) /* closing: told once, at the end */
        tell_dropped(o);
    if (o->closing && o->queued == 0)
        close_now(o);
}

/* A file, or a device that cannot be polled: a log target's never blocks (it was
 * opened O_NONBLOCK): what it does not take now is counted, not waited for. */
static void write_sync(struct output *o, const char *buf, size_t len)
{
    size_t done;
    int r = fd_write_all(o->fd, buf, len, &done);
    o->written += done;
    if (r == -EAGAIN)
        o->dropped += lines_in(buf + done, len - done);
    else if (r < 0)
        gone(o, r);
}

void output_write(struct output *o, const char *buf, size_t len)
{
    if (o->dead || len == 0)
        return;
    if (!o->is_stream) {
        write_sync(o, buf, len);
        if (!o->dead)
            tell_dropped(o);
        return;
    }
    if (o->queued == 0) {
        uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
        int n = uv_try_write(&o->h.stream, &b, 1);
        o->written += n > 0 ? (uint64_t)n : 0;
        if (n == (int)len)
            return;
        if (n < 0 && n != UV_EAGAIN)
            return gone(o, n);
        if (n > 0)
            buf += n, len -= (size_t)n;
    }
    if (o->queued + len > MAX_QUEUED) {
        o->dropped += lines_in(buf, len);
        return;
    }
    struct wreq *w = malloc(sizeof(*w) + len);
    if (!w)
        return gone(o, UV_ENOMEM);
    memcpy(w->data, buf, len);
    w->len = len;
    w->lines = lines_in(buf, len);
    o->queued_lines += w->lines;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int r = uv_write(&w->req, &o->h.stream, &b, 1, on_written);
    if (r < 0) {
        free(w);
        return gone(o, r);
    }
    o->queued += len;
    if (o->queued > HIGH_WATER)
        set_congested(o, true);
}

static void ready_stream(struct output *o)
{
    o->h.handle.data = o;
    o->is_stream = true;
    uv_timer_init(o->loop, &o->give_up);
    o->give_up.data = o;
}

static int open_stream(struct output *o, int fd)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3), r;
    if (dup_fd < 0)
        return -errno;
    switch (uv_guess_handle(dup_fd)) {
    case UV_TTY:
        r = uv_tty_init(o->loop, &o->h.tty, dup_fd, 0);
        break;
    case UV_NAMED_PIPE:
        if (geteuid() == 0) /* fewer wake-ups for the reader and tend (see childio.c) */
            fcntl(dup_fd, F_SETPIPE_SZ, 1 << 20);
        if ((r = uv_pipe_init(o->loop, &o->h.pipe, 0)) == 0)
            r = uv_pipe_open(&o->h.pipe, dup_fd);
        break;
    default: /* a regular file never blocks for long: plain writes */
        close(dup_fd);
        return -ENOTSUP;
    }
    if (r < 0) {
        close(dup_fd);
        return r;
    }
    ready_stream(o);
    return 0;
}

static struct output *output_new(uv_loop_t *loop, int fd, const char *label,
                                 output_congestion_cb *cb, void *ctx)
{
    struct output *o = calloc(1, sizeof(*o));
    if (!o || !(o->label = strdup(label))) {
        free(o);
        return NULL;
    }
    o->loop = loop;
    o->fd = fd;
    o->cb = cb;
    o->ctx = ctx;
    return o;
}

struct output *output_open(uv_loop_t *loop, int fd, output_congestion_cb *cb, void *ctx)
{
    struct output *o = output_new(loop, fd, fd == STDERR_FILENO ? "stderr" : "stdout", cb, ctx);
    if (!o)
        return NULL;
    if (fcntl(fd, F_GETFL) < 0)
        o->dead = true; /* closed before tend started: nowhere to write */
    else
        open_stream(o, fd);
    return o;
}

/* A pipe, a terminal or a device is written as a stream, never blocking: a uv_pipe
 * over a descriptor of tend's own (its non-blocking mode concerns nobody else, and
 * libuv's tty would fall back to blocking writes on a console). A device that
 * cannot be polled is written directly. */
struct output *output_adopt(uv_loop_t *loop, int fd, const char *label, output_congestion_cb *cb,
                            void *ctx)
{
    struct stat st;
    struct output *o = output_new(loop, fd, label, cb, ctx);
    if (!o) {
        close(fd);
        return NULL;
    }
    o->adopted = true;
    bool pollable = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
                                            isatty(fd));
    if (!pollable)
        return o; /* plain writes, non-blocking (the descriptor was opened so) */
    int r = uv_pipe_init(loop, &o->h.pipe, 0);
    ready_stream(o); /* the loop knows the handle: it goes through close, whatever happens */
    if (r == 0)
        r = uv_pipe_open(&o->h.pipe, fd);
    if (r < 0) {
        close(fd);
        gone(o, r);
    }
    return o;
}

bool output_dead(const struct output *o)
{
    return o->dead;
}

int output_error(const struct output *o)
{
    return o->error;
}

uint64_t output_written(const struct output *o)
{
    return o->written;
}

bool output_congested(const struct output *o)
{
    return o->congested;
}

void output_close(struct output *o, output_closed_cb *cb, void *ctx)
{
    if (!o)
        return;
    o->closed = cb;
    o->closed_ctx = ctx;
    o->cb = NULL; /* closing: nobody waits on its congestion any more */
    if (!o->is_stream) {
        tell_dropped(o);
        if (o->adopted)
            close(o->fd);
        if (cb)
            cb(ctx);
        output_free(o);
        return;
    }
    o->closing = true;
    if (o->queued == 0 || o->dead)
        close_now(o);
    else
        uv_timer_start(&o->give_up, on_give_up, CLOSE_WAIT_MS, 0);
}
