/* nginx: keeps nginx's upstream list true to the workers that are ready.
 *
 * Watches the supervisor. A ready worker is added; one that is FATAL, STOPPED,
 * EXITED or in BACKOFF for more than a second is removed (a crash and restart
 * is left to nginx's own retries: reloading twice per crash costs more). Each
 * change: render, skip if unchanged, write a temp file, `nginx -t` it as the
 * running master would, rename it into place, SIGHUP the master, and confirm
 * new workers started. One reload in flight; bursts coalesced (250 ms to 2 s).
 * A config nginx rejects never goes live and is reported; a failed apply is tried
 * again, backing off from 1 s to 30 s, with what changed meanwhile. */
#ifndef TEND_NGINX_H
#define TEND_NGINX_H

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "supervisor.h"

struct nginx;
typedef void nginx_drained_cb(void *owner, int err);

/* The directory of cfg's nginx config (its pid and temp files too): made 0700 (0711
 * for root: nginx's workers pass through), or checked when it is there (safepath_dir:
 * not a link, root's or tend's, writable by nobody else). Before nginx_new, and
 * before a reload is taken: a directory someone else controls could hand nginx their
 * nginx.conf. Returns 0, or -errno and why. */
int nginx_prepare(const struct config *cfg, char *why, size_t len);
/* One manager for the whole run: idle while the config has no [nginx] section. */
struct nginx *nginx_new(uv_loop_t *loop, struct supervisor *sup, const struct config *cfg);
void nginx_free(struct nginx *n);
/* After a reload: the new config's [nginx] (routes, paths, or none) from now on. */
void nginx_set_config(struct nginx *n, const struct config *cfg);
/* The exit of an `nginx -t` tend ran. False when pid is not one of them. */
bool nginx_child_exited(struct nginx *n, pid_t pid, int status);
/* A planned removal: holds the named processes out of the upstream for owner until
 * nginx_release(owner), and calls cb, from the loop and once, when nginx's old
 * workers (which may still use them) have exited, or with live as soon as the
 * reload without them took (new requests go elsewhere): err 0; or -EIO when the
 * reload without them failed (it is retried; the caller goes on). -ENOMEM: nothing
 * held. */
int nginx_drain(struct nginx *n, const char *const *names, int count, bool live,
                nginx_drained_cb *cb, void *owner);
/* Lets go of everything owner holds, drained or not: its callbacks are not called
 * any more, and the processes may be routed to again once ready. */
void nginx_release(struct nginx *n, void *owner);
/* Whether p is a worker nginx routes to, with nginx running: one to drain first. */
bool nginx_routes_to(const struct nginx *n, const struct proc *p);
/* The config nginx runs with now, and the last error ("" when none). */
const char *nginx_text(const struct nginx *n);
const char *nginx_error(const struct nginx *n);

#endif
