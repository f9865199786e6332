/* health: `tendctl health [--live] [--min-ready PROGRAM=N|P%]...`, for Docker's
 * HEALTHCHECK and Kubernetes' probes. Without options, every autostart process must
 * be RUNNING, stopped on purpose, or done (exited with one of its exitcodes, not to
 * be restarted); a program named by --min-ready needs only that many of its
 * processes RUNNING; --live asks only that tend answers and nginx, when there is
 * one, is RUNNING. Replies at once: exit 0 and "ok", or 3 and what is wrong. */
#ifndef TEND_HEALTH_H
#define TEND_HEALTH_H

#include "control.h"
#include "supervisor.h"

void health_run(struct supervisor *sup, struct request *r);

#endif
