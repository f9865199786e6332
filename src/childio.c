/* childio: pipe readers that cut lines, and the sinks they write to. */
#include "childio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logfile.h"

enum { BATCH = 256 << 10, READ_SIZE = 256 << 10, PIPE_SIZE = 1 << 20 };

struct dest {
    struct output *out;   /* tend's stdout or stderr, or NULL */
    struct logfile *file; /* or a log file, or neither */
};

struct listener {
    childio_line_cb *cb;
    void *ctx;
    struct listener *next;
};

struct childio_sink {
    struct childio *io;
    int refs;
    char *name;
    char *program; /* for its color in tend dev */
    char *prefix; /* "name   | " */
    size_t prefix_len;
    unsigned prefix_style; /* the io's style_gen it was made in */
    struct dest dest[2];
    struct ring ring[2];
    struct listener *listeners;
    struct reader *readers; /* its own open pipes (childio_sink_drain) */
};

struct reader {
    uv_pipe_t pipe;
    struct childio_sink *sink;
    enum childio_stream stream;
    char *partial; /* the start of a line whose end has not arrived */
    size_t plen;
    bool cont; /* the partial line continues a split one */
    bool reading; /* not paused by a slow destination of its own */
    struct reader *prev, *next;
    struct reader *sprev, *snext; /* in its sink's list */
};

struct childio {
    uv_loop_t *loop;
    struct output *out[2];
    /* A copy, changed only through childio_set_style: the sinks' cached prefixes
     * depend on it, and the setter is where they learn (by style_gen) that they
     * are stale. A pointer to the owner's style would change under them unseen. */
    struct line_style style;
    unsigned style_gen;
    struct reader *readers; /* every open pipe, for pause and resume */
    char batch[BATCH]; /* formatted lines on their way to one output */
    size_t batch_len;
    struct output *batch_out;
    char readbuf[READ_SIZE]; /* one read at a time: the loop is single-threaded */
};

struct childio *childio_new(uv_loop_t *loop, struct output *out, struct output *err,
                            const struct line_style *style)
{
    struct childio *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->loop = loop;
    c->out[CHILDIO_STDOUT] = out;
    c->out[CHILDIO_STDERR] = err;
    c->style = *style;
    return c;
}

void childio_free(struct childio *c)
{
    free(c);
}

void childio_set_style(struct childio *c, const struct line_style *style)
{
    c->style = *style;
    c->style_gen++;
}

/* ---- sinks ---- */

static void open_file(struct dest *d, const struct program_cfg *p, const struct proc_cfg *c,
                      const struct log_cfg *log, enum childio_stream stream)
{
    char why[4096 + 256];
    struct logfile_opts o = {.path = log->path, .auto_name = log->auto_name, .kind = log->kind,
                             .maxbytes = log->maxbytes, .backups = log->backups,
                             .owner = p->user ? p->uid : (uid_t)-1,
                             .group = p->user ? p->gid : (gid_t)-1};
    if (!(d->file = logfile_open(&o, why, sizeof(why))))
        log_error("%s: open log file %s", c->name, why);
    else if (log->auto_name)
        log_info("%s: %s goes to %s", c->name, stream ? "stderr" : "stdout",
                 logfile_path(d->file));
}

static void open_dest(struct childio *io, struct dest *d, const struct program_cfg *p,
                      const struct proc_cfg *c, const struct log_cfg *log,
                      enum childio_stream stream)
{
    switch (log->target) {
    case LOG_TO_TEND:
        d->out = io->out[stream];
        break;
    case LOG_TO_STDOUT:
        d->out = io->out[CHILDIO_STDOUT];
        break;
    case LOG_TO_STDERR:
        d->out = io->out[CHILDIO_STDERR];
        break;
    case LOG_TO_FILE:
        open_file(d, p, c, log, stream);
        break;
    case LOG_TO_NONE:
        break;
    }
}

struct childio_sink *childio_sink_new(struct childio *io, const struct program_cfg *p,
                                      const struct proc_cfg *c)
{
    struct childio_sink *s = calloc(1, sizeof(*s));
    if (!s || !(s->name = strdup(c->name)) || !(s->program = strdup(p->name))) {
        if (s)
            free(s->name);
        free(s);
        return NULL;
    }
    s->io = io;
    s->refs = 1;
    open_dest(io, &s->dest[0], p, c, &c->out, CHILDIO_STDOUT);
    open_dest(io, &s->dest[1], p, c, &c->err, CHILDIO_STDERR);
    ring_init(&s->ring[0], CHILDIO_RING);
    ring_init(&s->ring[1], CHILDIO_RING);
    return s;
}

void childio_sink_unref(struct childio_sink *s)
{
    if (!s || --s->refs > 0)
        return;
    for (int i = 0; i < 2; i++) {
        logfile_unref(s->dest[i].file);
        ring_free(&s->ring[i]);
    }
    free(s->name);
    free(s->program);
    free(s->prefix);
    free(s);
}

const struct ring *childio_ring(const struct childio_sink *s, enum childio_stream stream)
{
    return &s->ring[stream];
}

void childio_clear(struct childio_sink *s)
{
    ring_clear(&s->ring[CHILDIO_STDOUT]);
    ring_clear(&s->ring[CHILDIO_STDERR]);
}

void childio_sink_ref(struct childio_sink *s)
{
    s->refs++;
}

int childio_listen(struct childio_sink *s, childio_line_cb *cb, void *ctx)
{
    struct listener *l = malloc(sizeof(*l));
    if (!l)
        return -ENOMEM;
    *l = (struct listener){cb, ctx, s->listeners};
    s->listeners = l;
    s->refs++;
    return 0;
}

void childio_unlisten(struct childio_sink *s, childio_line_cb *cb, void *ctx)
{
    for (struct listener **p = &s->listeners; *p; p = &(*p)->next)
        if ((*p)->cb == cb && (*p)->ctx == ctx) {
            struct listener *l = *p;
            *p = l->next;
            free(l);
            childio_sink_unref(s);
            return;
        }
}

/* ---- lines ---- */

static void flush_batch(struct childio *io)
{
    if (io->batch_len)
        output_write(io->batch_out, io->batch, io->batch_len);
    io->batch_len = 0;
}

/* "name   | ", made again only when the style changes. */
static const char *prefix_of(struct childio_sink *s, bool cont, size_t *len)
{
    struct childio *io = s->io;
    if (s->prefix_style != io->style_gen || !s->prefix) {
        const char *color = log_color_of(&io->style, s->program);
        free(s->prefix);
        s->prefix_len = (size_t)asprintf(&s->prefix, "%s%-*s%s | ", color, io->style.width,
                                         s->name, *color ? "\033[0m" : "");
        if ((int)s->prefix_len < 0)
            s->prefix = NULL, s->prefix_len = 0;
        s->prefix_style = io->style_gen;
    }
    if (s->prefix)
        s->prefix[s->prefix_len - 2] = cont ? '+' : '|';
    *len = s->prefix_len;
    return s->prefix ? s->prefix : "";
}

/* One line to tend's stream, in the io's style; in the batch when it fits. */
static void line_out(struct childio_sink *s, struct output *o, enum childio_stream stream,
                     bool cont, const char *line, size_t len)
{
    struct childio *io = s->io;
    enum log_format format = io->style.format;
    bool plain = !io->style.timestamps && format != LOG_FORMAT_JSON;
    size_t plen = 0;
    const char *prefix = plain && format == LOG_FORMAT_PREFIX ? prefix_of(s, cont, &plen) : "";
    size_t need = plain ? plen + len + 1 : len * 6 + 1024; /* JSON escapes grow text */
    if (io->batch_out != o || io->batch_len + need > BATCH)
        flush_batch(io);
    io->batch_out = o;
    if (need > BATCH && plain) { /* a huge line: in pieces, still whole on the stream */
        output_write(o, prefix, plen);
        output_write(o, line, len);
        output_write(o, "\n", 1);
        return;
    }
    char *at = io->batch + io->batch_len;
    if (plain) {
        memcpy(at, prefix, plen);
        memcpy(at + plen, line, len);
        at[plen + len] = '\n';
        io->batch_len += plen + len + 1;
    } else {
        io->batch_len += log_format_line(at, BATCH - io->batch_len, &io->style, s->name,
                                         stream ? "stderr" : "stdout", cont, line, len);
    }
}

static void tell_listeners(struct childio_sink *s, enum childio_stream stream, const char *line,
                           size_t len)
{
    for (struct listener *l = s->listeners, *next; l; l = next) {
        next = l->next; /* a listener may leave while told */
        l->cb(l->ctx, stream, line, len);
    }
}

static void emit(struct reader *r, const char *line, size_t len, bool cont)
{
    struct childio_sink *s = r->sink;
    struct dest *d = &s->dest[r->stream];
    ring_append(&s->ring[r->stream], line, len);
    ring_append(&s->ring[r->stream], "\n", 1);
    if (d->out)
        line_out(s, d->out, r->stream, cont, line, len);
    if (d->file) { /* one write: a rotation must not fall between a line and its end */
        char *whole = malloc(len + 1);
        if (whole) {
            memcpy(whole, line, len);
            whole[len] = '\n';
            logfile_write(d->file, whole, len + 1);
            free(whole);
        }
    }
    tell_listeners(s, r->stream, line, len);
}

/* The common case made tight: each line copied once, behind its prefix, into the
 * batch; the format is looked at once per read, not once per line. */
static void prefix_lines(struct childio_sink *s, struct output *o, const char *p, size_t n)
{
    struct childio *io = s->io;
    size_t plen;
    const char *prefix = prefix_of(s, false, &plen);
    if (io->batch_out != o)
        flush_batch(io);
    io->batch_out = o;
    for (const char *end = p + n, *nl; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)(nl - p) + 1; /* with its newline */
        if (io->batch_len + plen + len > BATCH) {
            flush_batch(io);
            if (plen + len > BATCH) { /* a huge line: in pieces, still whole on the stream */
                output_write(o, prefix, plen);
                output_write(o, p, len);
                continue;
            }
        }
        memcpy(io->batch + io->batch_len, prefix, plen);
        memcpy(io->batch + io->batch_len + plen, p, len);
        io->batch_len += plen + len;
    }
}

/* Whole lines straight from the read buffer: the ring and a log file take them in
 * one piece, and so does tend's stream when they go out raw. Most output is this. */
static void emit_region(struct reader *r, const char *p, size_t n)
{
    struct childio_sink *s = r->sink;
    struct dest *d = &s->dest[r->stream];
    int format = s->io->style.timestamps ? -1 : (int)s->io->style.format;
    ring_append(&s->ring[r->stream], p, n);
    if (d->file)
        logfile_write(d->file, p, n);
    if (d->out && format == LOG_FORMAT_RAW) {
        flush_batch(s->io);
        output_write(d->out, p, n);
    } else if (d->out && format == LOG_FORMAT_PREFIX) {
        prefix_lines(s, d->out, p, n);
    }
    bool each = d->out && format != LOG_FORMAT_RAW && format != LOG_FORMAT_PREFIX;
    if (!each && !s->listeners)
        return;
    for (const char *end = p + n, *nl; p < end; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (each) /* JSON, or timestamps */
            line_out(s, d->out, r->stream, false, p, (size_t)(nl - p));
        tell_listeners(s, r->stream, p, (size_t)(nl - p));
    }
}

static void keep_partial(struct reader *r, const char *data, size_t n)
{
    if (!r->partial && !(r->partial = malloc(CHILDIO_LINE_MAX)))
        return; /* the piece is lost, the stream goes on */
    memcpy(r->partial + r->plen, data, n);
    r->plen += n;
}

/* Adds to the line that started in an earlier read: out it goes at its newline, or
 * in pieces when it passes LINE_MAX. Returns how much of data it took. */
static size_t pending(struct reader *r, const char *data, size_t n)
{
    const char *nl = memchr(data, '\n', n);
    size_t seg = nl ? (size_t)(nl - data) : n;
    if (r->plen + seg > CHILDIO_LINE_MAX || (!nl && r->plen + seg == CHILDIO_LINE_MAX)) {
        /* too long: out goes a full piece */
        size_t piece = CHILDIO_LINE_MAX - r->plen;
        keep_partial(r, data, piece);
        emit(r, r->partial, r->plen, r->cont);
        r->plen = 0;
        r->cont = true;
        return piece;
    }
    keep_partial(r, data, seg);
    if (!nl)
        return seg;
    emit(r, r->partial, r->plen, r->cont);
    r->plen = 0;
    r->cont = false;
    return seg + 1;
}

/* How much of data, from its start, is whole lines none longer than LINE_MAX. */
static size_t short_lines(const char *data, size_t n)
{
    size_t k = 0;
    for (const char *nl; k < n && (nl = memchr(data + k, '\n', n - k)); k = (size_t)(nl - data) + 1)
        if ((size_t)(nl - data) - k > CHILDIO_LINE_MAX)
            break;
    return k;
}

/* Takes in what was read: the end of a pending line, then runs of whole lines in
 * one region each; a line longer than LINE_MAX, in one read or across several,
 * goes in pieces, and the start of the next line waits. */
static void take(struct reader *r, const char *data, size_t n)
{
    while (n > 0) {
        size_t k = r->plen || r->cont ? 0 : short_lines(data, n);
        if (k)
            emit_region(r, data, k);
        else
            k = pending(r, data, n);
        data += k;
        n -= k;
    }
    if (r->plen == 0) { /* nothing pending: give the buffer back */
        free(r->partial);
        r->partial = NULL;
    }
}

/* ---- readers ---- */

static void on_reader_closed(uv_handle_t *h)
{
    struct reader *r = h->data;
    childio_sink_unref(r->sink);
    free(r->partial);
    free(r);
}

static void reader_close(struct reader *r)
{
    struct childio *io = r->sink->io;
    if (r->plen) /* a last line without its newline */
        emit(r, r->partial, r->plen, r->cont);
    flush_batch(io);
    if (r->prev)
        r->prev->next = r->next;
    else
        io->readers = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->sprev)
        r->sprev->snext = r->snext;
    else
        r->sink->readers = r->snext;
    if (r->snext)
        r->snext->sprev = r->sprev;
    uv_close((uv_handle_t *)&r->pipe, on_reader_closed);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    struct childio *io = ((struct reader *)h->data)->sink->io;
    (void)size;
    *buf = uv_buf_init(io->readbuf, sizeof(io->readbuf));
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct reader *r = stream->data;
    if (n > 0) {
        take(r, buf->base, (size_t)n);
        flush_batch(r->sink->io);
    } else if (n < 0) {
        reader_close(r); /* EOF: every writer, the process and its children, is gone */
    }
}

/* A reader waits while a destination of its own is slow: its process blocks on the
 * pipe, and the others, whose output goes elsewhere, go on. */
static bool blocked(const struct reader *r)
{
    const struct dest *d = &r->sink->dest[r->stream];
    return (d->out && output_congested(d->out)) || (d->file && logfile_congested(d->file));
}

static void set_reading(struct reader *r)
{
    bool want = !blocked(r);
    if (want == r->reading)
        return;
    r->reading = want;
    if (want)
        uv_read_start((uv_stream_t *)&r->pipe, on_alloc, on_read);
    else
        uv_read_stop((uv_stream_t *)&r->pipe);
}

static void on_failed_close(uv_handle_t *h)
{
    free(h->data);
}

static void start_reader(struct childio_sink *s, int fd, enum childio_stream stream)
{
    struct childio *io = s->io;
    struct reader *r = calloc(1, sizeof(*r));
    int err = r ? uv_pipe_init(io->loop, &r->pipe, 0) : UV_ENOMEM;
    if (!err) {
        r->pipe.data = r;
        if ((err = uv_pipe_open(&r->pipe, fd)) < 0) /* the loop knows the handle now */
            uv_close((uv_handle_t *)&r->pipe, on_failed_close);
    } else {
        free(r);
    }
    if (err) {
        log_error("%s: cannot read its output: %s", s->name, uv_strerror(err));
        close(fd);
        return;
    }
    r->sink = s;
    r->stream = stream;
    s->refs++;
    r->next = io->readers;
    if (io->readers)
        io->readers->prev = r;
    io->readers = r;
    r->snext = s->readers;
    if (s->readers)
        s->readers->sprev = r;
    s->readers = r;
    set_reading(r);
}

int childio_pipes_open(struct childio_pipes *p, bool redirect_stderr)
{
    int fds[2];
    p->rd[1] = p->wr[1] = -1;
    for (int i = 0; i < (redirect_stderr ? 1 : 2); i++) {
        if (pipe2(fds, O_CLOEXEC) < 0) {
            int err = -errno;
            if (i == 1)
                close(p->rd[0]), close(p->wr[0]);
            return err;
        }
        p->rd[i] = fds[0];
        p->wr[i] = fds[1];
        /* A bigger pipe: the child blocks (and both switch) less often. Root only:
         * for other users the kernel counts pipe pages against a small soft limit,
         * past which every new pipe shrinks to one page. */
        if (geteuid() == 0)
            fcntl(fds[0], F_SETPIPE_SZ, PIPE_SIZE);
    }
    return 0;
}

void childio_child_fds(const struct childio_pipes *p, int fds[3])
{
    fds[0] = -1;
    fds[1] = p->wr[0];
    fds[2] = p->wr[1] >= 0 ? p->wr[1] : p->wr[0];
}

void childio_start(struct childio_sink *s, struct childio_pipes *p)
{
    for (int i = 0; i < 2; i++) {
        if (p->wr[i] >= 0)
            close(p->wr[i]);
        if (p->rd[i] >= 0)
            start_reader(s, p->rd[i], (enum childio_stream)i);
    }
}

void childio_congestion_changed(struct childio *c)
{
    for (struct reader *r = c->readers; r; r = r->next)
        set_reading(r);
}

/* What one pipe still holds, up to its end or to a writer that is still there, or
 * max bytes (a writer that is still there may write without end). */
static void drain_one(struct childio *io, struct reader *r, size_t max)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&r->pipe, &fd) < 0)
        return;
    for (size_t got = 0; got < max;) {
        ssize_t n = read(fd, io->readbuf, sizeof(io->readbuf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            take(r, io->readbuf, (size_t)n);
            flush_batch(io);
            got += (size_t)n;
            continue;
        }
        if (n == 0 || errno != EAGAIN)
            reader_close(r);
        return;
    }
}

/* The loop may not have read a pipe yet when its process is reaped: a line written
 * just before the exit would reach tend's stdout after it closed. Only r itself
 * leaves the list here (and is freed later, by its close callback). */
void childio_drain(struct childio *c)
{
    for (struct reader *r = c->readers, *next; r; r = next) {
        next = r->next;
        drain_one(c, r, SIZE_MAX);
    }
}

void childio_sink_drain(struct childio_sink *s)
{
    for (struct reader *r = s->readers, *next; r; r = next) {
        next = r->snext; /* r may close: it leaves the list, its memory stays till later */
        if (r->reading)
            drain_one(s->io, r, PIPE_SIZE);
    }
}
