/* Private to the config module. Its files, each calling only those below it:
 *   config.c          files, includes, sections dispatched, checks across them
 *   config_nginx.c    [nginx], and the [program:nginx] it defines
 *   config_program.c  [program:x], its processes, lookups in a snapshot
 *   config_keys.c     key tables: values expanded, parsed and reported */
#ifndef TEND_CONFIG_INT_H
#define TEND_CONFIG_INT_H

#include "arena.h"
#include "config.h"
#include "diag.h"
#include "expand.h"
#include "inifile.h"

struct loader {
    struct config *c;             /* the snapshot being built (NULL: expanding for scale) */
    const struct tend_cfg *tend;  /* its settings, or those of the snapshot scale reads */
    struct arena *a;
    struct inidoc doc;
    struct diag_list *d;
    const char *stack[16]; /* the include chain, to report cycles */
    int depth;
    const char *hostname;
    const char *here_of, *here; /* %(here)s for the last file asked: realpath is not free */
};

/* ---- config_keys.c ---- */

/* Expands e's value with vars (plus `here` and `host_node_name`); on failure
 * reports at e's line and returns NULL. An unset ENV_X is reported as a host
 * warning and, when problem is not NULL, recorded there. */
char *config_expand(struct loader *L, const struct ini_entry *e, const struct expand_var *vars,
                    int nvars, const char **problem);
/* Keys are described by tables: a type, and where the value goes. */
enum key_type {
    KT_IGNORED, /* supervisord's, without effect in tend: a warning, unless the value is fine */
    KT_CUSTOM, /* read by the section's own code */
    KT_PROCESS, /* expanded for each process (command, environment, ...) */
    KT_STR,
    KT_BOOL,
    KT_INT,
    KT_MS,
    KT_SIZE,
    KT_OCTAL,
    KT_SIGNAL,
    KT_ENV,
    KT_LIST,
    KT_LOGLEVEL,
    KT_LOGFORMAT,
    KT_OWNER,
    KT_RUNAS, /* [tend] user: name, uid and gid to drop to */
};

/* A KT_IGNORED key's values that ask for what tend does anyway: no warning then. */
enum fine_value { FINE_NEVER, FINE_TRUE, FINE_FALSE, FINE_ZERO };

struct key_def {
    const char *name;
    enum key_type type;
    size_t off; /* of the field in the section's struct */
    int min, max;
    const char *why;      /* KT_IGNORED: what tend does instead */
    enum fine_value fine; /* KT_IGNORED */
};

const struct key_def *config_key(const struct key_def *defs, const char *key);
/* Parses v by k's type into base + k->off; reports a bad value at e's line. */
int config_set(struct loader *L, const struct ini_entry *e, const char *v, const struct key_def *k,
               void *base);
/* Warns about every key of s that defs does not know, with the nearest known one. */
void config_check_keys(struct loader *L, const struct ini_section *s, const struct key_def *defs);
/* Splits a list written with commas and/or whitespace into a NULL-terminated array. */
const char **config_split_list(struct arena *a, const char *s);
/* The word of known (NULL-terminated) that word was most likely meant to be, for
 * "did you mean"; NULL when none is close. */
const char *config_nearest(const char *word, const char *const *known);

/* ---- config_program.c, config_nginx.c ---- */

/* Orders struct config_name by name (qsort, bsearch). */
int config_name_cmp(const void *a, const void *b);

int config_load_program(struct loader *L, struct ini_section *s, const char *name,
                        const char *group);
int config_load_nginx(struct loader *L, struct ini_section *s);
/* The [program:nginx] tend adds when [nginx] names a program that is not defined. */
int config_define_nginx_program(struct loader *L);

extern const struct key_def config_program_keys[];
extern const struct key_def config_nginx_keys[];

#endif
