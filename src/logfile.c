/* logfile: a registry of open files by path, each with size-based rotation. */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

struct logfile {
    char *path;
    int fd, refs, backups;
    uint64_t maxbytes, size;
    uid_t owner;
    gid_t group;
    bool regular; /* only a regular file rotates: never rename /dev/null or a tty */
    bool failing;   /* the last write failed: said once, until one succeeds */
    bool unrotated; /* a rotation failed: it grows until the next reopen */
    struct logfile *next;
};

static struct logfile *files;

/* A file tend creates belongs to the program's user; one that was there keeps its
 * owner (tend running as root must not hand over a file a path merely names). */
static int open_fd(struct logfile *f, bool truncate)
{
    int flags = O_WRONLY | O_APPEND | O_CLOEXEC;
    int fd = open(f->path, flags | O_CREAT | O_EXCL, 0644);
    bool created = fd >= 0;
    if (fd < 0 && errno == EEXIST)
        fd = open(f->path, flags | (truncate ? O_TRUNC : 0));
    if (fd < 0)
        return -errno;
    struct stat st;
    f->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    f->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (created && geteuid() == 0 && f->owner != (uid_t)-1 && fchown(fd, f->owner, f->group) < 0)
        log_warn("chown '%s': %s", f->path, strerror(errno));
    f->fd = fd;
    return 0;
}

struct logfile *logfile_open(const char *path, uint64_t maxbytes, int backups, uid_t owner,
                             gid_t group, int *err)
{
    for (struct logfile *f = files; f; f = f->next)
        if (!strcmp(f->path, path)) {
            f->refs++;
            return f;
        }
    struct logfile *f = calloc(1, sizeof(*f));
    if (!f || !(f->path = strdup(path))) {
        free(f);
        *err = -ENOMEM;
        return NULL;
    }
    f->maxbytes = maxbytes;
    f->backups = backups;
    f->owner = owner;
    f->group = group;
    if ((*err = open_fd(f, false)) < 0) {
        free(f->path);
        free(f);
        return NULL;
    }
    f->refs = 1;
    f->next = files;
    files = f;
    return f;
}

/* path.N-1 -> path.N ... path -> path.1, then a fresh path. With no backups the
 * file starts over. Done between whole lines, so no line is split or repeated.
 * A rename that fails stops the chain (a later one would overwrite a backup):
 * the file then grows past its maximum until SIGUSR1, said once. Returns -errno
 * when the fresh file does not open. */
static int rotate(struct logfile *f)
{
    char from[PATH_MAX], to[PATH_MAX];
    for (int i = f->backups - 1; i >= 0; i--) {
        snprintf(to, sizeof(to), "%s.%d", f->path, i + 1);
        if (i == 0)
            snprintf(from, sizeof(from), "%s", f->path);
        else
            snprintf(from, sizeof(from), "%s.%d", f->path, i);
        if (rename(from, to) < 0 && errno != ENOENT) {
            log_warn("rotate '%s' to '%s': %s: '%s' is not rotated until SIGUSR1", from, to,
                     strerror(errno), f->path);
            f->unrotated = true;
            return 0;
        }
    }
    close(f->fd);
    f->fd = -1;
    return open_fd(f, f->backups == 0);
}

static void report(struct logfile *f, int err)
{
    if (!f->failing)
        log_error("write '%s': %s: lines for it are dropped until a write succeeds", f->path,
                  strerror(err));
    f->failing = true;
}

/* How much of buf goes in the current file: all of it, the whole lines that fit
 * under maxbytes, or nothing (rotate first). A single line longer than maxbytes
 * goes whole into a fresh file. */
static size_t fitting(const struct logfile *f, const char *buf, size_t len)
{
    if (!f->regular || !f->maxbytes || f->unrotated || f->size + len <= f->maxbytes)
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

static int write_all(struct logfile *f, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(f->fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        f->size += (uint64_t)n;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* buf is whole lines: a rotation never splits one. */
void logfile_write(struct logfile *f, const char *buf, size_t len)
{
    while (len > 0) {
        int r = f->fd < 0 ? open_fd(f, false) : 0;
        if (r < 0)
            return report(f, -r);
        size_t n = fitting(f, buf, len);
        if (n == 0) {
            if ((r = rotate(f)) < 0)
                return report(f, -r);
            continue;
        }
        if ((r = write_all(f, buf, n)) < 0)
            return report(f, -r);
        buf += n;
        len -= n;
    }
    if (f->failing)
        log_info("write '%s': working again", f->path);
    f->failing = false;
}

void logfile_unref(struct logfile *f)
{
    if (!f || --f->refs > 0)
        return;
    for (struct logfile **p = &files; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f);
}

void logfile_reopen_all(void)
{
    for (struct logfile *f = files; f; f = f->next) {
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
        f->unrotated = false;
        int r = open_fd(f, false);
        if (r < 0)
            log_error("reopen '%s': %s", f->path, strerror(-r));
    }
}
