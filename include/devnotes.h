/* devnotes: what `tend dev` tells its user beyond the supervisor's own lines. */
#ifndef TEND_DEVNOTES_H
#define TEND_DEVNOTES_H

#include <stdint.h>
#include <uv.h>

#include "supervisor.h"

/* After a process's stop signal, this long before "waiting for NAME to stop". */
enum { DEVNOTES_SLOW_STOP_MS = 2000 };

struct devnotes;

/* Watches s (it must outlive the devnotes, or devnotes_free come first) and says:
 *   NAME: done, not restarted         a process that exited and stays EXITED (a
 *                                     one-shot's exit 0, a --can-die's any exit)
 *   waiting for NAME to stop (SIGKILL in Ns)
 *                                     once per stop, DEVNOTES_SLOW_STOP_MS after the
 *                                     stop signal, for a process still there then
 * One timer for the whole table, armed only while a process is stopping. */
struct devnotes *devnotes_new(uv_loop_t *loop, struct supervisor *s);
/* Stops observing; the memory goes with the timer's close callback (from the loop). */
void devnotes_free(struct devnotes *n);

#endif
