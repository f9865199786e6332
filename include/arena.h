/* arena: bump allocator for data that lives and dies together (a config snapshot).
 * Everything allocated from an arena is freed by arena_free(); nothing is freed alone. */
#ifndef TEND_ARENA_H
#define TEND_ARENA_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

struct arena;

/* NULL when out of memory. */
struct arena *arena_new(void);
void arena_free(struct arena *a);
/* Where an allocation that finds no memory goes: longjmp(*to, 1). What an arena
 * holds is built from many small pieces (a config has hundreds); one place per
 * builder that frees the arena and reports "out of memory" keeps every piece free
 * of checks, and tend never aborts for memory. The builder's frame must outlive
 * the arena's use under `to`; NULL unsets it. */
void arena_on_oom(struct arena *a, jmp_buf *to);
/* Zeroed memory. Out of memory: to the place set by arena_on_oom (see above). */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);

#endif
