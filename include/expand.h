/* expand: supervisord's %(name)s expansions, with printf-style flags and width
 * (%(process_num)02d), %% for a literal %, and %(ENV_X)s from the environment. */
#ifndef TEND_EXPAND_H
#define TEND_EXPAND_H

#include <stdbool.h>

#include "arena.h"

struct expand_var {
    const char *name;
    const char *str; /* NULL when the variable is a number */
    long num;
};

struct expand_ctx {
    const struct expand_var *vars;
    int nvars;
    /* Set by expand_value when an %(ENV_X)s names an unset variable: X expands to ""
     * and the caller decides whether that is a warning or a failure. */
    const char *unset_env;
    const char *error; /* why expand_value failed */
};

/* Returns 0 and *out in the arena, or -EINVAL with ctx->error set. */
int expand_value(struct arena *a, struct expand_ctx *ctx, const char *s, char **out);

#endif
