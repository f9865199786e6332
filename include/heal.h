/* heal: what follows a failed health check or watchdog. A process the supervisor
 * marks sick (proc_sick) is taken out of nginx's upstream by the drain engine, a
 * rollout of its own (so that a command's or a reload's rollout does not wait for
 * it, nor it for them); once nginx's new workers no longer route to it, it is
 * stopped (supervisor_heal) and restarted as after a crash; nginx has it again once
 * it is ready. Requests the old nginx workers still have on it end with its stop
 * and are retried on another worker (proxy_next_upstream): a frozen worker is not
 * waited for. */
#ifndef TEND_HEAL_H
#define TEND_HEAL_H

#include "nginx.h"
#include "supervisor.h"

struct heal;

/* Watches sup's news; sup and ng must outlive it. NULL: out of memory. */
struct heal *heal_new(struct supervisor *sup, struct nginx *ng);
/* Stops watching; what it holds out of nginx is let go. NULL is fine. */
void heal_free(struct heal *h);

#endif
