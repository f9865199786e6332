/* inifile: reads INI files (supervisord's dialect) into one merged document.
 *
 * inih does the line structure; values are taken from the raw line so they read
 * as supervisord reads them: inline comments start at ';' or '#' after whitespace,
 * indented lines continue the previous value (joined with '\n'), lines of any
 * length. Sections of the same name merge; a repeated key keeps the last value.
 * Keys are lower-cased. Everything lives in the document's arena. */
#ifndef TEND_INIFILE_H
#define TEND_INIFILE_H

#include "arena.h"
#include "diag.h"

struct ini_entry {
    const char *key;
    const char *value;
    const char *file;
    int line;
    struct ini_entry *next;
};

struct ini_section {
    const char *name;
    const char *file;
    int line;
    struct ini_entry *entries; /* in the order first seen */
    struct ini_section *next;
};

struct inidoc {
    struct arena *a;
    struct ini_section *sections; /* in the order first seen */
};

/* Adds the sections of path to doc. Returns 0, or -errno when the file cannot
 * be read (nothing reported) or -EINVAL after reporting a syntax error. */
int inidoc_read(struct inidoc *doc, const char *path, struct diag_list *diags);
struct ini_section *inidoc_section(const struct inidoc *doc, const char *name);
/* An entry made in code rather than read (tend dev's Procfile), as if at file:line. */
void inidoc_set(struct inidoc *doc, const char *section, const char *key, const char *value,
                const char *file, int line);
struct ini_entry *ini_get(const struct ini_section *s, const char *key);

#endif
