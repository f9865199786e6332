/* envlist: supervisord's `environment = KEY="value",KEY2=value2` lists. */
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

#endif
