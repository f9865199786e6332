/* arena: bump allocator for data that lives and dies together (a config snapshot).
 * Everything allocated from an arena is freed by arena_free(); nothing is freed alone. */
#ifndef TEND_ARENA_H
#define TEND_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *a);
/* Zeroed memory; aborts on out-of-memory (a config is small; see arena.c). */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);

#endif
