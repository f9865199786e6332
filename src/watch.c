/* watch: an inotify watch per directory the globs can reach, and a debounce timer. */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arena.h"
#include "log.h"

/* MAX_DIRS keeps a `**` over a huge tree from using up the user's inotify watches
 * (8192 by default on many systems) and memory; MAX_PARTS bounds path depth. */
enum { MAX_DIRS = 4096, MAX_PARTS = 256 };

/* A glob or a path, split at '/': v[0..n), without empty or "." parts. */
struct parts {
    const char **v;
    int n;
};

struct dir {
    uv_fs_event_t event;
    struct watch *w;
    struct dir *next;
    char path[]; /* absolute, as built from a root and the names below it */
};

struct watch {
    uv_loop_t *loop;
    struct arena *a; /* the globs */
    struct parts *globs;
    int nglobs;
    struct dir *dirs;
    int ndirs, open; /* directories watched; handles not yet closed */
    unsigned debounce_ms;
    watch_cb *cb;
    void *ctx;
    uv_timer_t timer;
    bool stopped, warned_full, warned_failed;
};

/* A directory on the way down a walk, to notice a symbolic link back up. */
struct visit {
    dev_t dev;
    ino_t ino;
    const struct visit *up;
};

/* ---- matching ---- */

static bool is_star2(const char *part)
{
    return strcmp(part, "**") == 0;
}

/* `**` steps over hidden directories as the shell's globstar does, and over
 * node_modules, which is large, rarely edited, and changes under npm, not people. */
static bool crossable(const char *name)
{
    return name[0] != '.' && strcmp(name, "node_modules") != 0;
}

static bool part_match(const char *pat, const char *name)
{
    return fnmatch(pat, name, FNM_PERIOD) == 0;
}

enum path_test { MATCHES, MAY_HOLD };

/* Whether the path parts p match the glob parts g, all of them (MATCHES), or some
 * path below the directory p could (MAY_HOLD). By a table of the suffixes g[i..] and
 * p[j..] filled from the ends: ng x np steps whatever the globs, where trying each
 * way a `**` could go, one after the other, takes exponential time with many of them. */
static bool glob_test(const char **g, int ng, const char **p, int np, enum path_test test)
{
    size_t w = (size_t)np + 1;
    unsigned char *t = calloc(((size_t)ng + 1) * w, 1); /* t[i * w + j]: g[i..] vs p[j..] */
    if (!t) /* out of memory: a change goes unseen rather than restart anything */
        return false;
    for (int j = 0; j <= np; j++)
        t[(size_t)ng * w + (size_t)j] = test == MATCHES && j == np;
    for (int i = ng - 1; i >= 0; i--)
        for (int j = np; j >= 0; j--) {
            unsigned char *at = &t[(size_t)i * w + (size_t)j], *below = at + w;
            if (j == np && test == MAY_HOLD)
                *at = 1; /* the directory ends and glob parts remain: anything may come */
            else if (is_star2(g[i]))
                *at = below[0] || (j < np && crossable(p[j]) && at[1]);
            else
                *at = j < np && part_match(g[i], p[j]) && below[1];
        }
    bool yes = t[0];
    free(t);
    return yes;
}

/* Splits s in place at '/'. "." and empty parts go, ".." takes the part before it
 * away (a glob's "src/../lib" is "lib"), and `**` twice in a row counts once,
 * which keeps matching polynomial. Returns the number of parts, or -1 past max. */
static int split(char *s, const char **v, int max)
{
    int n = 0;
    for (char *save = NULL, *t = strtok_r(s, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (strcmp(t, ".") == 0 || (is_star2(t) && n > 0 && is_star2(v[n - 1])))
            continue;
        if (strcmp(t, "..") == 0) {
            n -= n > 0;
            continue;
        }
        if (n == max)
            return -1;
        v[n++] = t;
    }
    return n;
}

static bool test_path(const struct watch *w, const char *path, enum path_test test)
{
    const char *v[MAX_PARTS];
    char *copy = strdup(path);
    if (!copy) /* as in glob_test */
        return false;
    int n = split(copy, v, MAX_PARTS);
    bool yes = false;
    for (int i = 0; n >= 0 && i < w->nglobs && !yes; i++) {
        const struct parts *g = &w->globs[i];
        yes = glob_test(g->v, g->n, v, n, test);
    }
    free(copy);
    return yes;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Files editors write beside the one being saved; 4913 is vim's can-I-write probe,
 * #name# emacs's autosave. */
static bool editor_temp(const char *name)
{
    static const char *const suffixes[] = {"~", ".swp", ".swx", ".swo", ".tmp"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
        if (ends_with(name, suffixes[i]))
            return true;
    return strncmp(name, ".#", 2) == 0 || strcmp(name, "4913") == 0 ||
           (name[0] == '#' && ends_with(name, "#"));
}

/* ---- directories ---- */

static char *join(const char *dir, const char *name)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name) < 0)
        return NULL; /* out of memory: the caller skips the name */
    return s;
}

static void free_watch(struct watch *w)
{
    arena_free(w->a);
    free(w);
}

static void free_if_done(struct watch *w)
{
    if (w->stopped && w->open == 0)
        free_watch(w);
}

static void on_dir_closed(uv_handle_t *h)
{
    struct dir *d = h->data;
    struct watch *w = d->w;
    free(d);
    w->open--;
    free_if_done(w);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct watch *w = h->data;
    w->open--;
    free_if_done(w);
}

static struct dir *find_dir(const struct watch *w, const char *path)
{
    for (struct dir *d = w->dirs; d; d = d->next)
        if (strcmp(d->path, path) == 0)
            return d;
    return NULL;
}

/* Forgets path and everything under it: it is gone, and inotify watches the
 * inode, which may live on elsewhere under another name. */
static void unwatch(struct watch *w, const char *path)
{
    size_t n = strlen(path);
    for (struct dir **p = &w->dirs, *d; (d = *p);) {
        if (strncmp(d->path, path, n) == 0 && (d->path[n] == '\0' || d->path[n] == '/')) {
            *p = d->next;
            w->ndirs--;
            uv_close((uv_handle_t *)&d->event, on_dir_closed);
        } else {
            p = &d->next;
        }
    }
}

static void on_debounced(uv_timer_t *t)
{
    struct watch *w = t->data;
    w->cb(w->ctx);
}

/* Every matching change starts the timer again, so a burst ends in one callback. */
static void kick(struct watch *w)
{
    uv_timer_start(&w->timer, on_debounced, w->debounce_ms, 0);
}

static void warn_failed(struct watch *w, const char *path, int err)
{
    if (w->warned_failed)
        return;
    w->warned_failed = true;
    log_warn("watch: cannot watch '%s': %s%s", path, uv_strerror(err),
             err == UV_ENOSPC ? " (raise fs.inotify.max_user_watches)" : "");
}

static void on_event(uv_fs_event_t *h, const char *name, int events, int status);

/* Watches path. fresh: it just appeared, and may be a new directory under a name
 * already watched, whose watch is then renewed. Returns 0, 1 when past MAX_DIRS
 * (warned about once), or a negative errno from inotify. */
static int add_dir(struct watch *w, const char *path, bool fresh)
{
    struct dir *d = fresh ? find_dir(w, path) : NULL;
    if (d) {
        uv_fs_event_stop(&d->event);
        return uv_fs_event_start(&d->event, on_event, path, 0);
    }
    if (w->ndirs == MAX_DIRS) {
        if (!w->warned_full)
            log_warn("watch: more than %d directories; changes in the others go unseen", MAX_DIRS);
        w->warned_full = true;
        return 1;
    }
    d = malloc(sizeof(*d) + strlen(path) + 1);
    if (!d)
        return -ENOMEM;
    strcpy(d->path, path);
    d->w = w;
    uv_fs_event_init(w->loop, &d->event);
    d->event.data = d;
    w->open++;
    int r = uv_fs_event_start(&d->event, on_event, path, 0);
    if (r < 0) {
        uv_close((uv_handle_t *)&d->event, on_dir_closed);
        return r;
    }
    d->next = w->dirs;
    w->dirs = d;
    w->ndirs++;
    return 0;
}

/* d_type saves a stat per entry on most file systems; links are followed. */
static bool entry_is_dir(const struct dirent *e, const char *path)
{
    struct stat st;
    if (e->d_type == DT_DIR)
        return true;
    if (e->d_type != DT_LNK && e->d_type != DT_UNKNOWN)
        return false;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

struct names {
    char **v;
    size_t n, cap;
};

/* Takes s; out of memory, s is freed and false returned. */
static bool names_add(struct names *l, char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **more = realloc(l->v, cap * sizeof(*l->v));
        if (!more)
            return free(s), false;
        l->v = more;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return true;
}

/* The subdirectories of path that may hold a match. In a fresh directory a
 * matching file is a change: it may have been written before the watch began.
 * The directory is closed before the caller goes down, so deep trees do not
 * hold a descriptor per level. */
static struct names scan(struct watch *w, const char *path, bool fresh)
{
    struct names subdirs = {.n = 0};
    DIR *dh = opendir(path);
    for (struct dirent *e; dh && (e = readdir(dh));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || editor_temp(e->d_name))
            continue;
        char *child = join(path, e->d_name);
        if (!child) {
            warn_failed(w, path, -ENOMEM);
            continue;
        }
        bool dir = entry_is_dir(e, child);
        if (fresh && !dir && test_path(w, child, MATCHES))
            kick(w);
        if (dir && test_path(w, child, MAY_HOLD)) {
            if (!names_add(&subdirs, child))
                warn_failed(w, path, -ENOMEM);
        } else
            free(child);
    }
    if (dh)
        closedir(dh);
    return subdirs;
}

/* Watches path and every directory below it that may hold a match. Returns what
 * watching path itself gave (see add_dir); trouble below it is a warning. */
static int walk(struct watch *w, const char *path, bool fresh, const struct visit *up)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    struct visit me = {.dev = st.st_dev, .ino = st.st_ino, .up = up};
    for (const struct visit *v = up; v; v = v->up)
        if (v->dev == me.dev && v->ino == me.ino)
            return 0; /* a link back to a directory this walk is inside */
    int r = add_dir(w, path, fresh);
    if (r != 0)
        return r;
    struct names subdirs = scan(w, path, fresh);
    for (size_t i = 0; i < subdirs.n; i++) {
        int e = walk(w, subdirs.v[i], fresh, &me);
        if (e < 0 && e != -ENOENT)
            warn_failed(w, subdirs.v[i], e);
        free(subdirs.v[i]);
    }
    free(subdirs.v);
    return 0;
}

/* inotify says which directory and which name. A name can be a file that changed
 * or went away (a change, if it matches), a directory that appeared (to watch,
 * since inotify does not recurse; not a change in itself), or one that went away
 * (to forget). */
static void on_event(uv_fs_event_t *h, const char *name, int events, int status)
{
    struct dir *d = h->data;
    struct watch *w = d->w;
    struct stat st;
    (void)events;
    if (status < 0 || !name || editor_temp(name))
        return;
    char *path = join(d->path, name);
    if (!path)
        return warn_failed(w, d->path, -ENOMEM);
    int gone = stat(path, &st) < 0 ? errno : 0;
    if (gone == ENOENT || gone == ENOTDIR)
        unwatch(w, path);
    if (!gone && S_ISDIR(st.st_mode)) {
        int r = test_path(w, path, MAY_HOLD) ? walk(w, path, true, NULL) : 0;
        if (r < 0 && r != -ENOENT)
            warn_failed(w, path, r);
    } else if (test_path(w, path, MATCHES)) {
        kick(w);
    }
    free(path);
}

/* ---- starting and stopping ---- */

static bool literal(const char *part)
{
    return !strpbrk(part, "*?[\\");
}

/* Whether path is dir or below it. */
static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (strcmp(dir, "/") == 0)
        return true;
    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "/" followed by the first k parts of g. */
static char *parts_path(const struct parts *g, int k)
{
    size_t len = 2;
    for (int i = 0; i < k; i++)
        len += strlen(g->v[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    for (int i = 0; i < k; i++)
        p += sprintf(p, "/%s", g->v[i]);
    strcpy(p, k ? "" : "/");
    return s;
}

/* Where the walk for g starts: base_dir for a glob below it, so that the
 * directories it names may come and go; else the deepest existing directory
 * the glob names before its first wildcard. */
static char *root_of(const struct parts *g, const char *base)
{
    int k = 0;
    while (k < g->n - 1 && literal(g->v[k]))
        k++;
    char *path = parts_path(g, k);
    while (path && !under(path, base) && k > 0 && !is_dir(path)) {
        free(path);
        path = parts_path(g, --k);
    }
    if (!path || !under(path, base)) /* NULL: out of memory */
        return path;
    free(path);
    return strdup(base);
}

/* The globs as absolute, split paths; a trailing '/' stands for everything below. */
static int compile_globs(struct watch *w, const char *base, const char *const *globs)
{
    while (globs && globs[w->nglobs])
        w->nglobs++;
    if (w->nglobs == 0)
        return -EINVAL;
    w->globs = arena_alloc(w->a, sizeof(*w->globs) * (size_t)w->nglobs);
    for (int i = 0; i < w->nglobs; i++) {
        const char *g = globs[i];
        size_t n = strlen(g);
        if (n == 0)
            return -EINVAL;
        char *abs = arena_printf(w->a, "%s%s%s%s", g[0] == '/' ? "" : base, g[0] == '/' ? "" : "/",
                                 g, g[n - 1] == '/' ? "**" : "");
        w->globs[i].v = arena_alloc(w->a, sizeof(char *) * MAX_PARTS);
        w->globs[i].n = split(abs, w->globs[i].v, MAX_PARTS);
        if (w->globs[i].n < 0)
            return -EINVAL;
    }
    return 0;
}

/* compile_globs, with a place to go when the arena finds no memory. */
static int compile(struct watch *w, const char *base, const char *const *globs)
{
    jmp_buf oom;
    if (!w->a)
        return -ENOMEM;
    if (setjmp(oom)) {
        arena_on_oom(w->a, NULL);
        return -ENOMEM;
    }
    arena_on_oom(w->a, &oom);
    int r = compile_globs(w, base, globs);
    arena_on_oom(w->a, NULL);
    return r;
}

/* Walks from each glob's root, once: a root below another is reached from it. */
static int watch_roots(struct watch *w, const char *base)
{
    char **roots = calloc((size_t)w->nglobs, sizeof(*roots));
    int r = 0;
    if (!roots)
        return -ENOMEM;
    for (int i = 0; i < w->nglobs; i++)
        if (!(roots[i] = root_of(&w->globs[i], base)))
            r = -ENOMEM;
    for (int i = 0; i < w->nglobs && r >= 0; i++) {
        bool covered = false;
        for (int j = 0; j < w->nglobs; j++)
            covered |= j != i && under(roots[i], roots[j]) &&
                       (j < i || strcmp(roots[i], roots[j]) != 0);
        if (!covered)
            r = walk(w, roots[i], false, NULL);
    }
    for (int i = 0; i < w->nglobs; i++)
        free(roots[i]);
    free(roots);
    return r;
}

/* base_dir, absolute and without links, so that the globs and the paths inotify
 * reports are spelled alike. */
static char *real_dir(const char *path)
{
    char *real = realpath(path, NULL);
    if (real && !is_dir(real)) {
        free(real);
        errno = ENOTDIR;
        return NULL;
    }
    return real;
}

struct watch *watch_start(uv_loop_t *loop, const char *base_dir, const char *const *globs,
                          unsigned debounce_ms, watch_cb *cb, void *ctx)
{
    char *base = real_dir(base_dir);
    struct watch *w = base ? calloc(1, sizeof(*w)) : NULL;
    if (!w) {
        free(base);
        return NULL;
    }
    *w = (struct watch){.loop = loop, .a = arena_new(), .debounce_ms = debounce_ms, .cb = cb,
                        .ctx = ctx};
    int r = compile(w, base, globs);
    if (r == 0) {
        uv_timer_init(loop, &w->timer);
        w->timer.data = w;
        w->open = 1;
        r = watch_roots(w, base);
    }
    free(base);
    if (r >= 0)
        return w;
    if (w->open)
        watch_stop(w); /* frees w on the loop's next turn */
    else
        free_watch(w);
    errno = -r;
    return NULL;
}

void watch_stop(struct watch *w)
{
    if (!w)
        return;
    w->stopped = true;
    for (struct dir *d = w->dirs, *next; d; d = next) {
        next = d->next;
        uv_close((uv_handle_t *)&d->event, on_dir_closed);
    }
    w->dirs = NULL;
    w->ndirs = 0;
    uv_close((uv_handle_t *)&w->timer, on_timer_closed);
}
