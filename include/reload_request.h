/* reload_request: `tendctl reload [--dry-run | --wait]`. Loads the config anew and
 * replies, program by program, with what the reload changes (`+ NAME: added`,
 * `- NAME: removed`, `~ NAME: changed (KEYS): ...`), then the config's warnings as
 * `tend check` prints them, then the summary line. --dry-run applies nothing. --wait
 * applies, then follows the changed processes from the supervisor's news, one line
 * each, until every one runs the new config and is ready (exit 0), one fails (the
 * rollout halts: exit 1), its deadline passes, its client leaves, or another
 * reload supersedes it. At most one reload --wait is under way: each reload ends
 * the one before. */
#ifndef TEND_RELOAD_REQUEST_H
#define TEND_RELOAD_REQUEST_H

#include "commands.h"

/* The reload command (r->ctx is e). */
void reload_request_run(struct commands *e, struct request *r);
/* A config was applied some other way (SIGHUP): a reload --wait under way ends,
 * superseded. From the loop, never from inside a request of e's. */
void reload_request_supersede(struct commands *e);

#endif
