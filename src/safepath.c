/* safepath: openat() walks that follow only the links root or tend could have made. */
#include "safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

enum { MAX_LINKS = 32 };

/* Where a walk is: an O_PATH descriptor of the directory reached, and what is left
 * of the path (a followed link puts its target in front of the rest). */
struct walk {
    int dir;
    int links;
    bool make; /* a directory on the way that is missing is made, 0755 */
    const char *path; /* as the caller gave it, for messages */
    char todo[2 * PATH_MAX];
    char name[NAME_MAX + 1];
    char *why;
    size_t len;
};

__attribute__((format(printf, 3, 4))) static int fail(struct walk *w, int err, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, w->len, fmt, ap);
    va_end(ap);
    return err;
}

static int syserr(struct walk *w, int err)
{
    return fail(w, -err, "'%s': %s", w->path, strerror(err));
}

static bool trusted_owner(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

static bool on_procfs(int dir)
{
    struct statfs s;
    return fstatfs(dir, &s) == 0 && s.f_type == PROC_SUPER_MAGIC;
}

static int start(struct walk *w, const char *path, char *why, size_t len)
{
    *w = (struct walk){.dir = -1, .path = path, .why = why, .len = len};
    if (!*path || strlen(path) >= PATH_MAX)
        return fail(w, -ENAMETOOLONG, "'%s': %s", path, *path ? "path too long" : "empty path");
    snprintf(w->todo, sizeof(w->todo), "%s", path);
    w->dir = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    return w->dir < 0 ? syserr(w, errno) : 0;
}

static void finish(struct walk *w)
{
    if (w->dir >= 0)
        close(w->dir);
    w->dir = -1;
}

/* Takes the next component off todo into w->name; returns whether it is the last. */
static bool next(struct walk *w)
{
    char *p = w->todo + strspn(w->todo, "/");
    size_t n = strcspn(p, "/");
    snprintf(w->name, sizeof(w->name), "%.*s", (int)(n < NAME_MAX ? n : NAME_MAX), p);
    p += n;
    memmove(w->todo, p, strlen(p) + 1);
    return w->todo[strspn(w->todo, "/")] == '\0';
}

/* w->name is a link in w->dir: its target goes in front of what is left, when
 * root or tend's user made it (it is theirs) in a directory of theirs. In /tmp,
 * root's but open to all, a link of another user's is not followed (the kernel's
 * protected_symlinks rule, whatever the kernel is told). */
static int follow(struct walk *w)
{
    struct stat dir, link;
    char target[PATH_MAX], rest[2 * PATH_MAX];
    if (fstat(w->dir, &dir) < 0 || fstatat(w->dir, w->name, &link, AT_SYMLINK_NOFOLLOW) < 0)
        return syserr(w, errno);
    if (!trusted_owner(link.st_uid) || !trusted_owner(dir.st_uid))
        return fail(w, -ELOOP,
                    "'%s': '%s' is a symbolic link of uid %d in a directory of uid %d: not "
                    "followed",
                    w->path, w->name, (int)link.st_uid, (int)dir.st_uid);
    if (++w->links > MAX_LINKS)
        return fail(w, -ELOOP, "'%s': too many symbolic links", w->path);
    ssize_t n = readlinkat(w->dir, w->name, target, sizeof(target) - 1);
    if (n < 0)
        return syserr(w, errno);
    target[n] = '\0';
    snprintf(rest, sizeof(rest), "%s", w->todo);
    if ((size_t)snprintf(w->todo, sizeof(w->todo), "%s/%s", target, rest) >= sizeof(w->todo))
        return fail(w, -ENAMETOOLONG, "'%s': path too long", w->path);
    if (target[0] == '/') {
        int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
            return syserr(w, errno);
        close(w->dir);
        w->dir = root;
    }
    return 0;
}

/* One step down: into a directory, or through a link. */
static int enter(struct walk *w)
{
    struct stat st;
    if (!strcmp(w->name, "."))
        return 0;
    int fd = openat(w->dir, w->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && w->make && mkdirat(w->dir, w->name, 0755) == 0)
        fd = openat(w->dir, w->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return syserr(w, errno);
    if (fstat(fd, &st) < 0) {
        close(fd);
        return syserr(w, errno);
    }
    if (S_ISLNK(st.st_mode)) {
        close(fd);
        return follow(w);
    }
    if (!S_ISDIR(st.st_mode)) {
        close(fd);
        return fail(w, -ENOTDIR, "'%s': '%s' is not a directory", w->path, w->name);
    }
    close(w->dir);
    w->dir = fd;
    return 0;
}

static bool is_dots(const char *name)
{
    return !*name || !strcmp(name, ".") || !strcmp(name, "..");
}

/* Walks every component but the last, which is left in w->name. */
static int walk_parent(struct walk *w)
{
    int r = 0;
    while (r == 0 && !next(w))
        r = enter(w);
    if (r == 0 && is_dots(w->name))
        r = fail(w, -EISDIR, "'%s': names a directory, not a file", w->path);
    return r;
}

static const char *type_name(mode_t m)
{
    return S_ISDIR(m)    ? "directory"
           : S_ISFIFO(m) ? "FIFO"
           : S_ISCHR(m)  ? "character device"
           : S_ISSOCK(m) ? "socket"
           : S_ISBLK(m)  ? "block device"
           : S_ISREG(m)  ? "regular file"
                         : "special file";
}

/* What the descriptor leads to must be what the config names. */
static int check(struct walk *w, int fd, const struct safepath_opts *o)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return syserr(w, errno);
    if (o->kind == SAFEPATH_FIFO && !S_ISFIFO(st.st_mode))
        return fail(w, -EINVAL, "'%s' is a %s, not a FIFO", w->path, type_name(st.st_mode));
    if (o->kind == SAFEPATH_DEVICE && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
        return fail(w, -EINVAL, "'%s' is a %s, not a terminal, device or pipe", w->path,
                    type_name(st.st_mode));
    if (o->kind != SAFEPATH_FILE)
        return 0;
    if (!S_ISREG(st.st_mode))
        return fail(w, -EINVAL, "'%s' is a %s, not a regular file", w->path,
                    type_name(st.st_mode));
    if (!trusted_owner(st.st_uid) && st.st_uid != o->owner)
        return fail(w, -EPERM,
                    "'%s' belongs to uid %d, neither root nor the user it is written for: "
                    "someone else made it",
                    w->path, (int)st.st_uid);
    if (st.st_nlink > 1)
        return fail(w, -EPERM, "'%s' has %d hard links: it may be another file", w->path,
                    (int)st.st_nlink);
    if (o->truncate && ftruncate(fd, 0) < 0)
        return syserr(w, errno);
    return 0;
}

/* The last component: made (O_EXCL) or opened, never through a link; in /proc a
 * FIFO or device may be reached through the kernel's own links. */
static int open_last(struct walk *w, const struct safepath_opts *o, bool *created)
{
    int flags = O_WRONLY | O_NONBLOCK | O_CLOEXEC | (o->append ? O_APPEND : 0);
    bool kernel_link = o->kind != SAFEPATH_FILE && on_procfs(w->dir);
    int fd = -1;
    if (o->kind == SAFEPATH_FILE && o->create) {
        fd = openat(w->dir, w->name, flags | O_NOFOLLOW | O_CREAT | O_EXCL, o->mode);
        *created = fd >= 0;
        if (fd < 0 && (errno != EEXIST || o->exclusive))
            return -errno;
    }
    if (fd < 0)
        fd = openat(w->dir, w->name, flags | (kernel_link ? 0 : O_NOFOLLOW));
    return fd < 0 ? -errno : fd;
}

/* The last component could not be opened: a link is followed where nobody else could
 * have made it; anything else is said. */
static int not_opened(struct walk *w, const struct safepath_opts *o, int err)
{
    if (err == -ELOOP)
        return follow(w);
    if (err == -ENXIO && o->kind == SAFEPATH_FIFO)
        return fail(w, err, "'%s': no process reads it", w->path);
    if (err == -ENXIO && o->kind == SAFEPATH_FILE) /* opened O_NONBLOCK: never waits */
        return fail(w, -EINVAL, "'%s' is a FIFO or a device, not a regular file", w->path);
    return syserr(w, -err);
}

int safepath_open(const char *path, const struct safepath_opts *o, bool *created, char *why,
                  size_t len)
{
    struct walk w;
    bool made = false;
    int fd = -1, r = start(&w, path, why, len);
    while (r == 0 && (r = walk_parent(&w)) == 0) {
        if ((fd = open_last(&w, o, &made)) >= 0)
            break;
        r = not_opened(&w, o, fd);
    }
    if (r == 0 && (r = check(&w, fd, o)) < 0 && made)
        unlinkat(w.dir, w.name, 0); /* ours, just made: nothing else refers to it */
    if (r == 0 && made && geteuid() == 0 && o->owner != (uid_t)-1)
        (void)!fchown(fd, o->owner, o->group);
    if (r < 0 && fd >= 0)
        close(fd);
    finish(&w);
    if (created)
        *created = r == 0 && made;
    return r < 0 ? r : fd;
}

static int parent_of(const char *path, const char **base, bool make, char *why, size_t len)
{
    struct walk w;
    int r = start(&w, path, why, len);
    w.make = make;
    if (r == 0 && (r = walk_parent(&w)) == 0) {
        const char *slash = strrchr(path, '/');
        *base = slash ? slash + 1 : path;
        if (strcmp(*base, w.name)) /* a trailing slash */
            r = fail(&w, -EISDIR, "'%s': names a directory, not a file", path);
    }
    if (r == 0) {
        r = w.dir;
        w.dir = -1;
    }
    finish(&w);
    return r;
}

int safepath_parent(const char *path, const char **base, char *why, size_t len)
{
    return parent_of(path, base, false, why, len);
}

__attribute__((format(printf, 4, 5))) static int say(int err, char *why, size_t len,
                                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return err;
}

/* Opens the directory made or found at base; a link there is not one. */
static int open_dir(int parent, const char *path, const char *base, bool *made, mode_t mode,
                    char *why, size_t len)
{
    struct stat st;
    *made = mkdirat(parent, base, mode) == 0;
    if (!*made && errno != EEXIST)
        return say(-errno, why, len, "'%s': %s", path, strerror(errno));
    int fd = openat(parent, base, (*made ? O_RDONLY : O_PATH) | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        return fd;
    int err = errno;
    if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return say(-ELOOP, why, len, "'%s' is a symbolic link, not a directory", path);
    return say(-err, why, len, "'%s': %s", path, strerror(err));
}

/* Root's or owner's, and nobody else may write in it (but in a sticky one). */
static int check_dir(int fd, const char *path, uid_t owner, bool sticky_ok, char *why, size_t len)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return say(-errno, why, len, "'%s': %s", path, strerror(errno));
    if (st.st_uid != owner && st.st_uid != 0)
        return say(-EPERM, why, len,
                   "'%s' belongs to uid %d: someone else made it (remove it, or choose another "
                   "place)",
                   path, (int)st.st_uid);
    if ((st.st_mode & 022) && !(sticky_ok && (st.st_mode & S_ISVTX)))
        return say(-EPERM, why, len,
                   "'%s' can be written by others (mode %04o): they could replace what tend "
                   "puts there",
                   path, (unsigned)(st.st_mode & 07777));
    return 0;
}

int safepath_dir(const char *path, uid_t owner, gid_t group, mode_t mode, bool sticky_ok,
                 char *why, size_t len)
{
    const char *base;
    bool made = false;
    int fd;
    if (!strcmp(path, "/") || !strcmp(path, ".")) { /* the root, or where tend runs */
        if ((fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
            return say(-errno, why, len, "'%s': %s", path, strerror(errno));
    } else {
        int parent = parent_of(path, &base, true, why, len); /* missing parents made 0755 */
        if (parent < 0)
            return parent;
        fd = open_dir(parent, path, base, &made, mode, why, len);
        close(parent);
        if (fd < 0)
            return fd;
    }
    owner = owner == (uid_t)-1 ? geteuid() : owner;
    if (made && geteuid() == 0 && owner != 0)
        (void)!fchown(fd, owner, group);
    if (made)
        (void)!fchmod(fd, mode); /* exactly: the umask may have taken a bit nginx needs */
    int r = check_dir(fd, path, owner, sticky_ok, why, len);
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}
