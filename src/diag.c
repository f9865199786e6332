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

static void format_one(const struct diag *d, char *buf, size_t len)
{
    const char *sev = d->severity == DIAG_ERROR ? "error" : "warning";
    if (d->line > 0)
        snprintf(buf, len, "%s:%d: %s: %s", d->file, d->line, sev, d->msg);
    else
        snprintf(buf, len, "%s: %s: %s", d->file, sev, d->msg);
}

/* Files in the order first seen, lines in order within a file: the order a reader
 * goes through them, whatever order the checks ran in. */
static bool before(const struct diag_list *l, const struct diag *a, const struct diag *b)
{
    if (strcmp(a->file, b->file) == 0)
        return a->line < b->line;
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].file, a->file) == 0)
            return true;
        if (strcmp(l->items[i].file, b->file) == 0)
            return false;
    }
    return false;
}

void diag_print(const struct diag_list *l, FILE *out)
{
    char buf[4096];
    const struct diag **order = calloc((size_t)l->n + 1, sizeof(*order));
    if (l->lost)
        fprintf(out, "error: out of memory: %d more errors are not shown\n", l->lost);
    for (int i = 0; !order && i < l->n; i++) { /* out of memory: in the order found */
        format_one(&l->items[i], buf, sizeof(buf));
        fprintf(out, "%s\n", buf);
    }
    for (int i = 0; order && i < l->n; i++) { /* insertion sort: stable, and lists are short */
        int j = i;
        for (; j > 0 && before(l, &l->items[i], order[j - 1]); j--)
            order[j] = order[j - 1];
        order[j] = &l->items[i];
    }
    for (int i = 0; order && i < l->n; i++) {
        format_one(order[i], buf, sizeof(buf));
        fprintf(out, "%s\n", buf);
    }
    free(order);
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
