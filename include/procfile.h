/* procfile: foreman's Procfile, one `name: command` line per process type.
 *
 * A name is letters, digits, '_' and '-', followed by ':' and optional blanks;
 * the command is the rest of the line, trimmed, and must not be empty (it goes
 * to a shell as it stands, so a '#' inside it is the shell's business). Blank
 * lines and lines whose first non-blank character is '#' are skipped; leading
 * blanks before a name are allowed; CRLF line ends and a UTF-8 BOM are accepted.
 * Foreman skips lines it cannot read; tend reports them, so that a typo does not
 * silently drop a process. Everything lives in the caller's arena. */
#ifndef TEND_PROCFILE_H
#define TEND_PROCFILE_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"

struct procfile_entry {
    const char *name, *command;
    int line;
};

struct procfile {
    struct procfile_entry *entries; /* in file order */
    int n;
};

/* Parses len bytes of text; path names it in messages. Every problem is added
 * to d as "PATH:LINE: message"; returns -EINVAL if there was any, else 0 with
 * *out set (left untouched on error). */
int procfile_parse(struct arena *a, const char *path, const char *text, size_t len,
                   struct procfile **out, struct diag_list *d);
/* Reads and parses the file at path (a pipe works too). A file that cannot be
 * read is reported as "PATH: cannot read: REASON" and returns -errno; one over
 * 1 MiB gives -EFBIG. */
int procfile_read(struct arena *a, const char *path, struct procfile **out, struct diag_list *d);

/* How a command runs. Without shell syntax (Ruby's rule, which foreman follows:
 * none of  * ? { } [ ] < > ( ) ~ & | \ $ ; ' ` " # or a newline, no VAR=value
 * first, no shell keyword or builtin first) it is split at blanks and exec'd, so
 * that the pid and signals are the program's own: PROCFILE_EXEC. Else it goes to
 * /bin/sh -c, and *exec_at is where "exec " makes the shell replace itself with
 * the program: the command word of a single simple command (after its VAR=value
 * words; redirections allowed), or -1 for anything more (a pipe, a list, a
 * subshell, a command substitution, a shell keyword first). */
enum procfile_run { PROCFILE_EXEC, PROCFILE_SHELL };
enum procfile_run procfile_how(const char *command, int *exec_at);

#endif
