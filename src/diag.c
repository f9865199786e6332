/* diag: an append-only list of located messages. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory, a message is not kept; an error is still counted (lost), so that
 * a config with it is refused all the same. */
void diag_add(struct diag_list *l, enum diag_severity sev, enum diag_kind kind, const char *file,
              int line, const char *fmt, ...)
{
    sev = l->strict ? DIAG_ERROR : sev;
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        struct diag *more = realloc(l->items, sizeof(*l->items) * (size_t)cap);
        if (!more) {
            l->lost += sev == DIAG_ERROR;
            return;
        }
        l->items = more;
        l->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL, *where = strdup(file ? file : "-");
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (!msg || !where) {
        free(msg);
        free(where);
        l->lost += sev == DIAG_ERROR;
        return;
    }
    l->items[l->n++] = (struct diag){sev, kind, where, line, msg};
}

static int count(const struct diag_list *l, enum diag_severity sev)
{
    int n = 0;
    for (int i = 0; i < l->n; i++)
        n += l->items[i].severity == sev;
    return n;
}

int diag_errors(const struct diag_list *l)
{
    return count(l, DIAG_ERROR) + l->lost;
}

int diag_warnings(const struct diag_list *l)
{
    return count(l, DIAG_WARNING);
}

static const char *severity_name(const struct diag *d)
{
    return d->severity == DIAG_ERROR ? "error" : "warning";
}

static void format_one(const struct diag *d, char *buf, size_t len)
{
    if (d->line > 0)
        snprintf(buf, len, "%s:%d: %s: %s", d->file, d->line, severity_name(d), d->msg);
    else
        snprintf(buf, len, "%s: %s: %s", d->file, severity_name(d), d->msg);
}

/* An item seen through the order it is printed in: its file's rank (files in the
 * order first seen) and its place in the list, for a sort that keeps that order. */
struct seen {
    const struct diag *d;
    int file, index;
};

static int same_fact(const struct seen *a, const struct seen *b)
{
    int r = a->file - b->file;
    if (!r)
        r = (int)a->d->severity - (int)b->d->severity;
    return r ? r : strcmp(a->d->msg, b->d->msg);
}

/* The same message in the same file side by side, by line within it. */
static int by_fact(const void *x, const void *y)
{
    const struct seen *a = x, *b = y;
    int r = same_fact(a, b);
    if (!r)
        r = a->d->line - b->d->line;
    return r ? r : a->index - b->index;
}

/* Facts as a reader goes through the files: by file, then by first line. */
static int by_place(const void *x, const void *y)
{
    const struct seen *a = *(const struct seen *const *)x, *b = *(const struct seen *const *)y;
    int r = a->file - b->file;
    if (!r)
        r = a->d->line - b->d->line;
    return r ? r : a->index - b->index;
}

static int file_rank(const struct diag_list *l, int i)
{
    for (int j = 0; j < i; j++)
        if (!strcmp(l->items[j].file, l->items[i].file))
            return j;
    return i;
}

/* One fact: FILE:LINE for one place, FILE:LINE,LINE,...: for several (each line once,
 * at most DIAG_LINES of them, the rest counted). */
static void print_fact(const struct seen *run, int n, FILE *out)
{
    enum { DIAG_LINES = 8 };
    const struct diag *d = run[0].d;
    int shown = 0, more = 0, last = 0;
    fputs(d->file, out);
    for (int i = 0; i < n; i++) {
        int line = run[i].d->line;
        if (line <= 0 || line == last)
            continue;
        if (shown == DIAG_LINES)
            more++;
        else
            fprintf(out, "%c%d", shown++ ? ',' : ':', line);
        last = line;
    }
    fprintf(out, ": %s: %s", severity_name(d), d->msg);
    if (more)
        fprintf(out, " (and %d more line%s)", more, more > 1 ? "s" : "");
    fputc('\n', out);
}

/* Out of memory: each item as found, in the order found. */
static void print_each(const struct diag_list *l, FILE *out)
{
    char buf[4096];
    for (int i = 0; i < l->n; i++) {
        format_one(&l->items[i], buf, sizeof(buf));
        fprintf(out, "%s\n", buf);
    }
}

void diag_print(const struct diag_list *l, FILE *out)
{
    struct seen *all = calloc((size_t)l->n + 1, sizeof(*all));
    const struct seen **facts = calloc((size_t)l->n + 1, sizeof(*facts));
    int nfacts = 0;
    if (l->lost)
        fprintf(out, "error: out of memory: %d more errors are not shown\n", l->lost);
    if (!all || !facts) {
        print_each(l, out);
        goto free_all;
    }
    for (int i = 0; i < l->n; i++)
        all[i] = (struct seen){&l->items[i], file_rank(l, i), i};
    qsort(all, (size_t)l->n, sizeof(*all), by_fact);
    for (int i = 0; i < l->n; i++)
        if (i == 0 || same_fact(&all[i - 1], &all[i]))
            facts[nfacts++] = &all[i];
    qsort(facts, (size_t)nfacts, sizeof(*facts), by_place);
    for (int f = 0; f < nfacts; f++) {
        const struct seen *run = facts[f], *end = run + 1;
        while (end < all + l->n && !same_fact(run, end))
            end++;
        print_fact(run, (int)(end - run), out);
    }
free_all:
    free(all);
    free(facts);
}

void diag_first_error(const struct diag_list *l, char *buf, size_t len)
{
    snprintf(buf, len, l->lost ? "out of memory" : "no error");
    for (int i = 0; i < l->n; i++)
        if (l->items[i].severity == DIAG_ERROR) {
            format_one(&l->items[i], buf, len);
            return;
        }
}

void diag_clear(struct diag_list *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->items[i].file);
        free(l->items[i].msg);
    }
    free(l->items);
    l->items = NULL;
    l->n = l->cap = l->lost = 0;
}
