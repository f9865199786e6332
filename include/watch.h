/* watch: calls back when files matching some globs change, for `tend dev --watch`
 * and `watch=`. A burst of changes (an editor's save, a `git checkout`) gives one
 * callback, debounce_ms after the last of them.
 *
 * Globs are relative to base_dir, or absolute, in fnmatch(3) syntax matched one
 * path component at a time: `server.js`, `*.py`, `lib/[a-m]*.rb`. A component
 * that is exactly `**` matches any number of directories, zero included: `src`,
 * `**` and `*.js` joined by '/' is every .js file below src. A glob ending in
 * '/' means everything below that directory; ".." is resolved as text.
 * As in the shell, a wildcard does not match a leading '.', and `**` does not
 * enter hidden directories or node_modules. Symbolic links to directories are
 * followed, never twice around a loop.
 *
 * Changes are seen through inotify (uv_fs_event_t), one watch per directory on
 * the way to a possible match, so nothing wakes up while nothing changes.
 * Relative globs are watched from base_dir down, so their directories may
 * appear, vanish and come back later (`git checkout`); an absolute glob outside
 * base_dir is watched from the deepest existing directory it names. A directory
 * that appears is watched at once, and files already in it count as a change.
 * At most 4096 directories are watched; past that, or when inotify refuses a
 * watch, a warning is logged once. Editor droppings are ignored: names ending
 * in '~', .swp, .swx, .swo or .tmp, starting with ".#", and vim's probe file 4913. */
#ifndef TEND_WATCH_H
#define TEND_WATCH_H

#include <uv.h>

struct watch;
typedef void watch_cb(void *ctx);

/* Starts watching; globs is NULL-terminated and copied. cb runs on the loop,
 * debounce_ms after the last matching change of a burst. Returns NULL with errno
 * set: EINVAL for no globs, an empty one or one deeper than 256 components;
 * ENOENT or ENOTDIR for base_dir; why inotify would not watch a starting
 * directory (ENOSPC, EMFILE, EACCES). Handles made before such a failure close
 * on the loop's next turn. */
struct watch *watch_start(uv_loop_t *loop, const char *base_dir, const char *const *globs,
                          unsigned debounce_ms, watch_cb *cb, void *ctx);
/* Stops watching; no callback runs after this. The watch frees itself once its
 * handles are closed (the loop must run for that). NULL is fine. */
void watch_stop(struct watch *w);

#endif
