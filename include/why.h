/* why: `tendctl why NAME...`, for a person: how each named process last ended
 * (its exit, the cause, when), its stderr then, and its last restarts. The
 * record is the supervisor's (proc_last_exit); this words it. */
#ifndef TEND_WHY_H
#define TEND_WHY_H

#include <stdint.h>

#include "supervisor.h"

struct strbuf;

/* p's block of text, ages reckoned from now_ms (wall clock, ms since the epoch).
 * Bounded: a few lines, the record's stderr lines and restart times. */
void why_text(struct strbuf *t, const struct proc *p, int64_t now_ms);

#endif
