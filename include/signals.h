/* signals: the only place that installs signal handlers. Each signal becomes an
 * event on the loop (libuv's self-pipe), delivered to one callback. A signal at
 * its default action would be dropped by the kernel for PID 1, so everything
 * tend must act on is listed here. */
#ifndef TEND_SIGNALS_H
#define TEND_SIGNALS_H

#include <signal.h>
#include <uv.h>

typedef void signals_cb(void *ctx, int signo);

struct signals;

/* Watches every signal in set, but one the runtime keeps for itself (EINVAL: valgrind
 * does). Returns NULL and *err (negative errno) on failure.
 * SIGPIPE, SIGTTIN and SIGTTOU in set are ignored and blocked in tend for good, and
 * read from a signalfd: tend is neither stopped nor killed by them, its writes to a
 * terminal it lost to the child go through, and one sent by another process is still
 * reported. One the kernel raises for tend's own write is not. A child started by
 * spawn gets its own dispositions and mask back before exec. */
struct signals *signals_start(uv_loop_t *loop, const sigset_t *set, signals_cb *cb, void *ctx,
                              int *err);
/* Closes the handles; the struct is freed by their close callbacks. */
void signals_stop(struct signals *s);

/* The signals `tend -- CMD` forwards: every catchable one but SIGCHLD and the
 * synchronous faults (as tini), SIGPIPE, SIGTTIN and SIGTTOU included. */
void signals_forwardable(sigset_t *set);

#endif
