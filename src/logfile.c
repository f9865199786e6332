/* logfile: a registry of open log targets by path: rotated files, and streams
 * (pipes, terminals, devices) written through an output. */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "safepath.h"

enum { RETRY_MS = 1000, AUTO_TRIES = 100, AUTO_RANDOM = 12 };

struct logfile {
    char *path;
    enum log_kind kind;
    bool auto_name;
    int fd, refs, backups; /* fd: a file's */
    uint64_t maxbytes, size;
    uid_t owner;
    gid_t group;
    struct output *out; /* a stream's: its own, or tend's stdout or stderr (shared) */
    bool shared;        /* out is tend's own stream, not to be closed here */
    bool ended;         /* the end: a stream is not opened again */
    uint64_t retry_at;  /* a stream that could not be opened is tried again then */
    size_t lost;        /* a stream's lines dropped while it was not open */
    bool failing;   /* the last write or open failed: said once, until one succeeds */
    bool unrotated; /* a rotation failed: it grows until the next reopen */
    bool torn;      /* a write failed midway and could not be undone: a line is open */
    struct logfile *next;
};

static struct {
    uv_loop_t *loop;
    output_congestion_cb *cb;
    void *ctx;
    struct output *std[2]; /* tend's stdout and stderr */
    struct logfile *files;
} L;

void logfile_setup(uv_loop_t *loop, output_congestion_cb *cb, void *ctx, struct output *out,
                   struct output *err)
{
    L.loop = loop;
    L.cb = cb;
    L.ctx = ctx;
    L.std[0] = out;
    L.std[1] = err;
}

/* ---- opening ---- */

static const struct safepath_opts *file_opts(const struct logfile *f, bool truncate,
                                             struct safepath_opts *o)
{
    *o = (struct safepath_opts){.kind = SAFEPATH_FILE, .owner = f->owner, .group = f->group,
                                .mode = f->auto_name ? 0600 : 0644, .create = true,
                                .truncate = truncate, .append = true};
    return o;
}

static int open_file(struct logfile *f, bool truncate, char *why, size_t len)
{
    struct safepath_opts o;
    struct stat st;
    int fd = safepath_open(f->path, file_opts(f, truncate, &o), NULL, why, len);
    if (fd < 0)
        return fd;
    fcntl(fd, F_SETFL, O_WRONLY | O_APPEND); /* a regular file: blocking is brief */
    f->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    f->fd = fd;
    f->torn = false;
    return 0;
}

/* An AUTO file: a name nobody can guess (as supervisord's mktemp), made anew. */
static int open_auto(struct logfile *f, const char *start, char *why, size_t len)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct safepath_opts o;
    unsigned char rnd[AUTO_RANDOM];
    char name[AUTO_RANDOM + 1];
    int r = -EEXIST;
    for (int i = 0; i < AUTO_TRIES && r == -EEXIST; i++) {
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            return snprintf(why, len, "getrandom: %s", strerror(errno)), -errno;
        for (int j = 0; j < AUTO_RANDOM; j++)
            name[j] = chars[rnd[j] % (sizeof(chars) - 1)];
        name[AUTO_RANDOM] = '\0';
        free(f->path);
        if (asprintf(&f->path, "%s%s.log", start, name) < 0)
            return f->path = NULL, -ENOMEM;
        file_opts(f, false, &o);
        o.exclusive = true;
        r = safepath_open(f->path, &o, NULL, why, len);
    }
    if (r < 0)
        return r;
    f->fd = r;
    f->size = 0;
    fcntl(r, F_SETFL, O_WRONLY | O_APPEND);
    return 0;
}

/* tend's own stdout or stderr, met through a path (/proc/1/fd/1 when tend is PID 1):
 * the same stream, so its lines go through the same writer, never between. */
static struct output *own_stream(int fd)
{
    struct stat a, b;
    if (fstat(fd, &a) < 0)
        return NULL;
    for (int i = 0; i < 2; i++)
        if (L.std[i] && fstat(i + 1, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            return L.std[i];
    return NULL;
}

static int open_stream(struct logfile *f, char *why, size_t len)
{
    struct safepath_opts o = {.kind = f->kind == LOG_KIND_FIFO ? SAFEPATH_FIFO : SAFEPATH_DEVICE};
    int fd = safepath_open(f->path, &o, NULL, why, len);
    if (fd < 0)
        return fd;
    if ((f->out = own_stream(fd))) {
        close(fd);
        f->shared = true;
        return 0;
    }
    f->shared = false;
    f->out = output_adopt(L.loop, fd, f->path, L.cb, L.ctx);
    return f->out ? 0 : (snprintf(why, len, "'%s': out of memory", f->path), -ENOMEM);
}

static int open_target(struct logfile *f, bool truncate, char *why, size_t len)
{
    return f->kind == LOG_KIND_FILE ? open_file(f, truncate, why, len) : open_stream(f, why, len);
}

struct logfile *logfile_open(const struct logfile_opts *o, char *why, size_t len)
{
    for (struct logfile *f = L.files; f && !o->auto_name; f = f->next)
        if (!f->auto_name && !strcmp(f->path, o->path)) {
            f->refs++;
            return f;
        }
    struct logfile *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(o->path))) {
        free(f);
        snprintf(why, len, "out of memory");
        return NULL;
    }
    *f = (struct logfile){.path = f->path, .kind = o->kind, .auto_name = o->auto_name, .fd = -1,
                          .backups = o->backups, .maxbytes = o->maxbytes, .owner = o->owner,
                          .group = o->group};
    int r = o->auto_name ? open_auto(f, o->path, why, len) : open_target(f, false, why, len);
    if (r < 0 && f->kind != LOG_KIND_FILE && L.loop) {
        /* a log shipper may start after tend: its FIFO is tried again as lines come */
        log_error("open %s: lines for it are dropped until it opens", why);
        f->failing = true;
        f->retry_at = uv_now(L.loop) + RETRY_MS;
    } else if (r < 0) {
        free(f->path);
        free(f);
        return NULL;
    }
    f->refs = 1;
    f->next = L.files;
    L.files = f;
    return f;
}

const char *logfile_path(const struct logfile *f)
{
    return f->path;
}

/* ---- files ---- */

/* path.N-1 -> path.N ... path -> path.1, then a fresh path. With no backups the
 * file starts over. Done between whole lines, so no line is split or repeated.
 * Renamed within the directory reached by a safe walk. A rename that fails stops
 * the chain (a later one would overwrite a backup): the file then grows past its
 * maximum until SIGUSR1, said once. Returns -errno when the fresh file does not open. */
static int rotate(struct logfile *f, char *why, size_t len)
{
    char from[NAME_MAX + 16], to[NAME_MAX + 16];
    const char *base;
    int dir = safepath_parent(f->path, &base, why, len);
    for (int i = f->backups - 1; dir >= 0 && i >= 0; i--) {
        snprintf(to, sizeof(to), "%s.%d", base, i + 1);
        if (i == 0)
            snprintf(from, sizeof(from), "%s", base);
        else
            snprintf(from, sizeof(from), "%s.%d", base, i);
        if (renameat(dir, from, dir, to) < 0 && errno != ENOENT) {
            f->unrotated = true;
            log_warn("rotate '%s' to '%s.%d': %s: '%s' is not rotated until SIGUSR1", f->path,
                     f->path, i + 1, strerror(errno), f->path);
            close(dir);
            return 0;
        }
    }
    if (dir < 0) {
        f->unrotated = true;
        log_warn("rotate %s: '%s' is not rotated until SIGUSR1", why, f->path);
        return 0;
    }
    close(dir);
    close(f->fd);
    f->fd = -1;
    return open_file(f, f->backups == 0, why, len);
}

static void report(struct logfile *f, const char *verb, const char *why)
{
    if (f->failing)
        return;
    f->failing = true; /* first: the message may come back here (tend's own logfile) */
    log_error("%s %s: lines for it are dropped until a write succeeds", verb, why);
}

/* How much of buf goes in the current file: all of it, the whole lines that fit
 * under maxbytes, or nothing (rotate first). A single line longer than maxbytes
 * goes whole into a fresh file. */
static size_t fitting(const struct logfile *f, const char *buf, size_t len)
{
    if (!f->maxbytes || f->unrotated || f->size + len <= f->maxbytes)
        return len;
    size_t room = f->size < f->maxbytes ? (size_t)(f->maxbytes - f->size) : 0;
    const char *cut = room ? memrchr(buf, '\n', room < len ? room : len) : NULL;
    if (cut)
        return (size_t)(cut - buf) + 1;
    if (f->size > 0)
        return 0;
    const char *nl = memchr(buf, '\n', len);
    return nl ? (size_t)(nl - buf) + 1 : len;
}

/* All of buf, or none of it: a write that fails midway (the disk is full) is taken
 * back, so that the next line does not continue half of this one. */
static int write_all(struct logfile *f, const char *buf, size_t len)
{
    if (f->torn) { /* a half line that could not be taken back: ended first */
        if (write(f->fd, "\n", 1) != 1)
            return errno ? -errno : -EIO;
        f->size++;
        f->torn = false;
    }
    uint64_t start = f->size;
    size_t done;
    int r = fd_write_all(f->fd, buf, len, &done);
    f->size += done;
    if (r < 0) {
        if (f->size > start && ftruncate(f->fd, (off_t)start) == 0)
            f->size = start;
        f->torn = f->size > start;
    }
    return r;
}

static void file_write(struct logfile *f, const char *buf, size_t len)
{
    char why[PATH_MAX + 256];
    while (len > 0) {
        int r = f->fd < 0 ? open_file(f, false, why, sizeof(why)) : 0;
        if (r < 0)
            return report(f, "open", why);
        size_t n = fitting(f, buf, len);
        if (n == 0) {
            if (rotate(f, why, sizeof(why)) < 0)
                return report(f, "open", why);
            continue;
        }
        if ((r = write_all(f, buf, n)) < 0) {
            snprintf(why, sizeof(why), "'%s': %s", f->path, strerror(-r));
            return report(f, "write", why);
        }
        buf += n;
        len -= n;
    }
    if (f->failing) {
        f->failing = false;
        log_info("write '%s': working again", f->path);
    }
}

/* ---- streams ---- */

static size_t count_lines(const char *buf, size_t len)
{
    size_t n = 0;
    for (const char *p = buf, *end = buf + len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        n++;
    return n;
}

static void drop_stream(struct logfile *f)
{
    if (f->out && !f->shared)
        output_close(f->out, NULL, NULL); /* what it holds goes out, within a bound */
    f->out = NULL;
    f->shared = false;
}

/* A stream whose reader went away (a log shipper restarting) is opened again, at
 * most once a second; what comes meanwhile is counted, and told once it works. */
static void reopen_stream(struct logfile *f)
{
    char why[PATH_MAX + 256];
    uint64_t now = uv_now(L.loop);
    if (f->ended || now < f->retry_at)
        return;
    f->retry_at = now + RETRY_MS;
    if (open_stream(f, why, sizeof(why)) < 0 && !f->failing) {
        f->failing = true;
        log_error("open %s: lines for it are dropped until it opens", why);
    }
}

/* Its reader went away, or the device refused: said once, until it works again. */
static void check_gone(struct logfile *f)
{
    if (!f->out || !output_dead(f->out))
        return;
    if (!f->failing)
        log_error("write '%s': %s: lines for it are dropped until a write succeeds", f->path,
                  strerror(-output_error(f->out)));
    f->failing = true;
    drop_stream(f);
}

static void stream_write(struct logfile *f, const char *buf, size_t len)
{
    check_gone(f);
    if (!f->out)
        reopen_stream(f);
    if (!f->out) {
        f->lost += count_lines(buf, len);
        return;
    }
    output_write(f->out, buf, len);
    check_gone(f);
    if (f->out && f->failing && output_written(f->out) > 0) {
        log_info("write '%s': working again (%zu lines were dropped)", f->path, f->lost);
        f->failing = false;
        f->lost = 0;
    }
}

/* ---- every kind ---- */

void logfile_write(struct logfile *f, const char *buf, size_t len)
{
    if (f->kind == LOG_KIND_FILE)
        file_write(f, buf, len);
    else
        stream_write(f, buf, len);
}

bool logfile_congested(const struct logfile *f)
{
    return f->out && output_congested(f->out);
}

static void close_target(struct logfile *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    drop_stream(f);
}

void logfile_unref(struct logfile *f)
{
    if (!f || --f->refs > 0)
        return;
    for (struct logfile **p = &L.files; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    close_target(f);
    free(f->path);
    free(f);
}

/* Files are closed and opened again (logrotate moved them); a stream only when it
 * is not open: reopening a live one would put a second writer on it. */
void logfile_reopen_all(void)
{
    char why[PATH_MAX + 256];
    for (struct logfile *f = L.files; f; f = f->next) {
        if (f->kind != LOG_KIND_FILE) {
            if (f->out && output_dead(f->out))
                drop_stream(f);
            f->retry_at = 0;
            if (!f->out)
                reopen_stream(f);
            continue;
        }
        close_target(f);
        f->unrotated = false;
        if (open_file(f, false, why, sizeof(why)) < 0) {
            f->failing = true;
            log_error("reopen %s", why);
        }
    }
}

void logfile_end_streams(void)
{
    for (struct logfile *f = L.files; f; f = f->next) {
        f->ended = true;
        drop_stream(f);
        if (f->lost)
            log_warn("'%s': %zu lines dropped while it could not be written", f->path, f->lost);
        f->lost = 0;
    }
}
