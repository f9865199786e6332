/* shellwords: split a command line into words the way supervisord does
 * (Python's shlex.split: quotes and backslashes, no expansion, no shell). */
#ifndef TEND_SHELLWORDS_H
#define TEND_SHELLWORDS_H

#include "arena.h"

/* On success *argv is a NULL-terminated array in the arena and *argc its length.
 * On error returns -EINVAL and *err names the problem. */
int shellwords_split(struct arena *a, const char *s, char ***argv, int *argc, const char **err);
/* Appends s to buf quoted so that shellwords_split reads it back as one word. */
void shellwords_quote(const char *s, char *buf, size_t len);

#endif
