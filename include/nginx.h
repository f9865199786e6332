/* nginx: keeps nginx's upstream list true to the workers that are ready.
 *
 * Watches the supervisor. A ready worker is added; one that is FATAL, STOPPED,
 * EXITED or in BACKOFF for more than a second is removed (a crash and restart
 * is left to nginx's own retries: reloading twice per crash costs more). Each
 * change: render, skip if unchanged, write a temp file, `nginx -t` it as the
 * running master would, rename it into place, SIGHUP the master, and confirm
 * new workers started. One reload in flight; bursts coalesced (250 ms to 2 s).
 * A config nginx rejects never goes live and is reported. */
#ifndef TEND_NGINX_H
#define TEND_NGINX_H

#include <stdbool.h>
#include <sys/types.h>
#include <uv.h>

#include "supervisor.h"

struct nginx;
typedef void nginx_drained_cb(void *ctx, int err);

struct nginx *nginx_new(uv_loop_t *loop, struct supervisor *sup, const struct config *cfg);
void nginx_free(struct nginx *n);
/* After a reload: the new config's [nginx] (routes, paths) from now on. */
void nginx_set_config(struct nginx *n, const struct config *cfg);
/* The exit of an `nginx -t` tend ran. False when pid is not one of them. */
bool nginx_child_exited(struct nginx *n, pid_t pid, int status);
/* A planned removal: take the named processes out of the upstream, reload, and
 * call cb once nginx's old workers (which may still use them) have exited. */
void nginx_drain(struct nginx *n, const char *const *names, int count, nginx_drained_cb *cb,
                 void *ctx);
/* Whether p is a worker nginx routes to, with nginx running: one to drain first. */
bool nginx_routes_to(const struct nginx *n, const struct proc *p);
/* Forgets the drains asked for with ctx, without calling them (their asker left). */
void nginx_cancel_drains(struct nginx *n, void *ctx);
/* Ends a drain: the processes may be added again once ready. */
void nginx_undrain(struct nginx *n, const char *const *names, int count);
/* The config nginx runs with now, and the last error ("" when none). */
const char *nginx_text(const struct nginx *n);
const char *nginx_error(const struct nginx *n);

#endif
