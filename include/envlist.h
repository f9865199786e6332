/* envlist: lists of "KEY=value" strings, NULL-terminated: supervisord's
 * `environment = KEY="value",KEY2=value2`, and a child's environment. */
#ifndef TEND_ENVLIST_H
#define TEND_ENVLIST_H

#include "arena.h"

/* Parses s into a NULL-terminated array of "KEY=value" strings in the arena.
 * Values may be quoted with ' or " (to hold commas); unquoted ones run to the
 * next comma, trimmed. A key given twice keeps the last value. Returns 0, or
 * -EINVAL with *err set. */
int envlist_parse(struct arena *a, const char *s, const char ***out, const char **err);
/* Sets "KEY=value" in a NULL-terminated list, replacing KEY if present; the
 * result is a new array in the arena. */
const char **envlist_set(struct arena *a, const char **list, const char *kv);
/* Sets "KEY=value" in env, an array with room for one more entry and the NULL:
 * in the place of the entry with that KEY, else at the end. */
void envlist_put(const char **env, const char *kv);
/* A child's environment to start from: a copy of env (tend's environ) without
 * systemd's NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID, which are for tend, with
 * room for `room` more entries (envlist_put) and the NULL. The caller frees the
 * array, not the strings; NULL when out of memory. */
const char **envlist_inherit(char *const *env, size_t room);

#endif
