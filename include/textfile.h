/* textfile: a whole file in memory, bounded: configs, Procfiles, .env files. */
#ifndef TEND_TEXTFILE_H
#define TEND_TEXTFILE_H

#include <stddef.h>

/* Returns 0 with a malloc'd, NUL-terminated *buf of *len bytes, or -errno: -EFBIG past
 * max bytes, -EISDIR for a directory. Pipes work (no size is asked for). */
int textfile_read(const char *path, size_t max, char **buf, size_t *len);

#endif
