/* run: the supervisor mode (`tend [-c FILE]`, and `tend dev`); owns the event loop. */
#ifndef TEND_RUN_H
#define TEND_RUN_H

#include <stdbool.h>

#include "config.h"
#include "diag.h"

struct run_opts {
    const char *path; /* the config (or Procfile) named in messages */
    /* Loads the config, at the start and on every reload. */
    int (*load)(const void *ctx, struct config **out, struct diag_list *d);
    const void *ctx;
    /* tend dev: */
    bool dev, colors, timestamps;
    bool watch_all;       /* --watch: programs without watch= globs watch everything */
    bool abort_on_exit;   /* a process EXITED or FATAL stops everything, with its status */
    /* NULL, or run only these programs and what they depend on: NULL-terminated */
    const char *const *only;
    const char *base_dir; /* where watch globs start */
};

/* Returns tend's exit status: 0 after a clean shutdown, a critical program's
 * failing status, or 1 when the config cannot be loaded. */
int run_with(const struct run_opts *o);
/* tend -c path: run_with() loading path. */
int run_main(const char *path);

#endif
