/* strbuf: a growing text buffer. Out of memory it stops growing and remembers
 * (failed): the caller checks once, at the end, and fails its own operation;
 * tend never aborts for lack of memory. */
#ifndef TEND_STRBUF_H
#define TEND_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *p; /* NUL-terminated once anything was added; NULL before */
    size_t len, cap;
    bool failed;
};

void strbuf_add(struct strbuf *b, const char *s, size_t n);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text, now the caller's to free; NULL when out of memory (b is emptied). */
char *strbuf_take(struct strbuf *b);
void strbuf_free(struct strbuf *b);

#endif
