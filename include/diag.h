/* diag: the errors and warnings found while loading a config, each tied to a
 * file and line, kept in the order found. Owned by whoever created the list. */
#ifndef TEND_DIAG_H
#define TEND_DIAG_H

#include <stdbool.h>
#include <stdio.h>

enum diag_severity { DIAG_WARNING, DIAG_ERROR };

/* A host problem (missing user, unset ENV_ variable, ...) is a warning in
 * `tend check` that fails only its program at run time; --strict makes it an error. */
enum diag_kind { DIAG_SYNTAX, DIAG_UNKNOWN, DIAG_HOST };

struct diag {
    enum diag_severity severity;
    enum diag_kind kind;
    char *file;
    int line;
    char *msg;
};

struct diag_list {
    struct diag *items;
    int n, cap;
    bool strict; /* warnings count as errors */
    int lost;    /* errors out of memory kept from the list: counted, said as such */
};

void diag_add(struct diag_list *l, enum diag_severity sev, enum diag_kind kind, const char *file,
              int line, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int diag_errors(const struct diag_list *l);
int diag_warnings(const struct diag_list *l);
/* FILE:LINE: error: message, one per line; the same message at several lines of a
 * file is one line, FILE:LINE,LINE,...: (at most 8 lines named, the rest counted). */
void diag_print(const struct diag_list *l, FILE *out);
/* The first error as "FILE:LINE: message" into buf (for a control reply). */
void diag_first_error(const struct diag_list *l, char *buf, size_t len);
void diag_clear(struct diag_list *l);

#endif
