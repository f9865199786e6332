/* arena: a list of blocks carved front to back and released all at once. */
#include "arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK_SIZE = 16384 };

struct block {
    struct block *next;
    size_t used, size;
    max_align_t data[];
};

struct arena {
    struct block *head;
    jmp_buf *oom;
};

struct arena *arena_new(void)
{
    return calloc(1, sizeof(struct arena));
}

void arena_on_oom(struct arena *a, jmp_buf *to)
{
    a->oom = to;
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    for (struct block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *arena_alloc(struct arena *a, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    struct block *b = a->head;
    if (!b || b->size - b->used < size) {
        size_t cap = size > BLOCK_SIZE ? size : BLOCK_SIZE;
        if (!(b = malloc(sizeof(*b) + cap))) {
            if (!a->oom) { /* a builder without a place to fail to: a bug in tend */
                fputs("tend: out of memory in an arena with nowhere to go\n", stderr);
                abort();
            }
            longjmp(*a->oom, 1);
        }
        b->size = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    return memset(p, 0, size);
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list copy;
    char probe[1]; /* not NULL: gcc's -Wformat-truncation objects to that at -O1 */
    va_copy(copy, ap);
    int n = vsnprintf(probe, sizeof(probe), fmt, copy);
    va_end(copy);
    char *p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}
