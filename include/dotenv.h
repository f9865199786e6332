/* dotenv: `.env` files as foreman, honcho and docker compose read them.
 *
 *   # a comment
 *   export KEY=value           an optional `export ` prefix; blanks around '=' allowed
 *   KEY = unquoted value # x   trimmed; a '#' after a blank starts a comment
 *   KEY='literal $x \n'        single quotes: every byte as written
 *   KEY="a\nb \"q\" \\ \t"     double quotes: \n \t \" \\ are escapes, any other
 *                              backslash stays as written
 *
 * Keys are [A-Za-z_][A-Za-z0-9_.-]*. Quoted values, single or double, may span
 * lines until the closing quote (a CRLF inside becomes "\n"); after the closing
 * quote only blanks and a comment may follow. A later KEY replaces the earlier
 * one, keeping its place. CRLF line ends and a UTF-8 BOM are accepted.
 *
 * There is no variable interpolation: `$OTHER` and `${OTHER}` stay as written in
 * every kind of value. The tools disagree on it (foreman and honcho pass them
 * through, docker compose expands them outside single quotes); passing them
 * through keeps a value the same whoever reads the file, and a command that
 * wants expansion has its shell for that. */
#ifndef TEND_DOTENV_H
#define TEND_DOTENV_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "diag.h"

/* Parses len bytes of text into a NULL-terminated array of "KEY=value" strings in
 * the arena; path names it in messages. Every problem is added to d as
 * "PATH:LINE: message"; returns -EINVAL if there was any, else 0 with *env set
 * (left untouched on error). */
int dotenv_parse(struct arena *a, const char *path, const char *text, size_t len,
                 const char ***env, struct diag_list *d);
/* Reads and parses the file at path (a pipe works too). A file that cannot be
 * read is reported as "PATH: cannot read: REASON" and returns -errno (over 1 MiB:
 * -EFBIG), except that a missing file (ENOENT) when optional is true gives an
 * empty list and 0, and reports nothing. */
int dotenv_read(struct arena *a, const char *path, bool optional, const char ***env,
                struct diag_list *d);

#endif
