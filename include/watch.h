/* watch: calls back when files matching some globs change, for `tend dev --watch`
 * and `watch=`. A burst of changes (an editor's save, a `git checkout`) gives one
 * callback, debounce_ms after the last of them.
 *
 * Globs are relative to base_dir, or absolute, in fnmatch(3) syntax matched one
 * path component at a time, plus `**` for any number of directories
 * (`src/**` + `/*.js`, `*.py`, `server.js`); a glob ending in '/' means everything
 * under that directory. As in the shell, a wildcard does not match a leading '.',
 * and `**` does not enter hidden directories or node_modules.
 *
 * Changes are seen through inotify, one watch per directory that can hold a match
 * (and per directory a new matching directory could appear in), so nothing wakes
 * up while nothing changes. Directories created later are watched as they appear,
 * and files already in them count as a change. At most 4096 directories are
 * watched; beyond that a warning is logged once. Editor droppings are ignored:
 * names ending in '~', .swp, .swx, .swo or .tmp, starting with ".#", and vim's
 * probe file 4913. The directory an absolute glob names before its first
 * wildcard must exist when watching starts; relative globs are watched from
 * base_dir, so their directories may appear later. */
#ifndef TEND_WATCH_H
#define TEND_WATCH_H

#include <uv.h>

struct watch;
typedef void watch_cb(void *ctx);

/* Starts watching; globs is NULL-terminated and copied. Returns NULL with errno
 * set on error: EINVAL for no globs or an empty one, or why base_dir or the
 * first watch could not be opened. */
struct watch *watch_start(uv_loop_t *loop, const char *base_dir, const char *const *globs,
                          unsigned debounce_ms, watch_cb *cb, void *ctx);
/* Stops watching; no callback runs after this. The watch frees itself once its
 * handles are closed (the loop must run for that). NULL is fine. */
void watch_stop(struct watch *w);

#endif
