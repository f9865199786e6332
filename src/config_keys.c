/* config_keys: the key tables every section is read by. A key's value is expanded
 * (%(here)s, %(ENV_X)s, ...), parsed by the key's type into its field, and any problem
 * is reported at the key's line; unknown keys get a "did you mean". The section
 * files (config.c, config_program.c, config_nginx.c) call down into this one and it
 * calls none of them. */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "envlist.h"
#include "log.h"
#include "strconv.h"

/* Edit distance with one row, for "did you mean". */
static int distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

const char *config_nearest(const char *word, const char *const *known)
{
    const char *best = NULL;
    int bestd = 3;
    for (; *known; known++) {
        int d = distance(word, *known);
        if (d < bestd || (d == bestd && d <= (int)strlen(word) / 3))
            best = *known, bestd = d;
    }
    return best;
}

static const char *nearest_key(const char *word, const struct key_def *defs)
{
    const char *names[128];
    int n = 0;
    for (; defs->name && n < 127; defs++)
        names[n++] = defs->name;
    names[n] = NULL;
    return config_nearest(word, names);
}

const struct key_def *config_key(const struct key_def *defs, const char *key)
{
    for (; defs->name; defs++)
        if (!strcmp(defs->name, key))
            return defs;
    return NULL;
}

/* A named section is said by its kind ("a [program:x] section"): the same mistake in
 * many programs is then one message, said once for all their lines. */
void config_check_keys(struct loader *L, const struct ini_section *s, const struct key_def *defs)
{
    const char *colon = strchr(s->name, ':');
    int kind = colon ? (int)(colon - s->name) : (int)strlen(s->name);
    for (const struct ini_entry *e = s->entries; e; e = e->next) {
        if (config_key(defs, e->key))
            continue;
        const char *hint = nearest_key(e->key, defs);
        diag_add(L->d, DIAG_WARNING, DIAG_UNKNOWN, e->file, e->line,
                 "unknown key '%s' in %s[%.*s%s]%s%s%s%s", e->key, colon ? "a " : "", kind,
                 s->name, colon ? ":x" : "", colon ? " section" : "",
                 hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    }
}

static int bad(struct loader *L, const struct ini_entry *e, const char *what)
{
    diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e->file, e->line, "%s: %s '%s'", e->key, what,
             e->value);
    return -EINVAL;
}

static int set_owner(struct loader *L, const struct ini_entry *e, const char *v, const char **out)
{
    size_t n = strcspn(v, ":");
    const char *user = arena_strndup(L->a, v, n), *group = v[n] ? v + n + 1 : NULL;
    if (!getpwnam(user))
        diag_add(L->d, DIAG_WARNING, DIAG_HOST, e->file, e->line, "%s: user '%s' does not exist",
                 e->key, user);
    if (group && !getgrnam(group))
        diag_add(L->d, DIAG_WARNING, DIAG_HOST, e->file, e->line, "%s: group '%s' does not exist",
                 e->key, group);
    *out = v;
    return 0;
}

/* A key tend reads and does not act on is said, never silently dropped; unless its
 * value asks for what tend does anyway (nodaemon = true). */
static int ignored(struct loader *L, const struct ini_entry *e, const char *v,
                   const struct key_def *k)
{
    bool b;
    uint64_t size;
    bool fine = (k->fine == FINE_TRUE && strconv_bool(v, &b) == 0 && b) ||
                (k->fine == FINE_FALSE && strconv_bool(v, &b) == 0 && !b) ||
                (k->fine == FINE_ZERO && strconv_size(v, &size) == 0 && size == 0);
    if (!fine)
        diag_add(L->d, DIAG_WARNING, DIAG_UNKNOWN, e->file, e->line, "%s = %s: not used: %s",
                 e->key, v, k->why);
    return 0;
}

/* [supervisord] user: once it has set up (socket, pidfile, logs), tend runs as it, and
 * so does every program without a user of its own. A user that does not exist is a
 * host problem: tend then refuses to start rather than run everything as root. */
static int set_runas(struct loader *L, const struct ini_entry *e, const char *v,
                     struct tend_cfg *t)
{
    long uid;
    struct passwd *pw = strconv_long(v, 0, INT_MAX, &uid) == 0 ? getpwuid((uid_t)uid) : getpwnam(v);
    t->user = v;
    if (!pw) {
        diag_add(L->d, DIAG_WARNING, DIAG_HOST, e->file, e->line, "user: '%s' does not exist", v);
        t->user_problem = arena_printf(L->a, "user '%s' does not exist", v);
        return 0;
    }
    t->user = arena_strdup(L->a, pw->pw_name);
    t->uid = pw->pw_uid;
    t->gid = pw->pw_gid;
    t->user_problem = NULL;
    if (t->uid != geteuid() && geteuid() != 0) /* as drop_privileges in run.c will find */
        diag_add(L->d, DIAG_WARNING, DIAG_HOST, e->file, e->line,
                 "user = %s: tend runs as uid %d, not root, and cannot become another user: it "
                 "would not start",
                 t->user, (int)geteuid());
    return 0;
}

static int set_format(struct loader *L, const struct ini_entry *e, const char *v, int *out)
{
    static const char *const names[] = {"prefix", "raw", "json"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(v, names[i]))
            return *out = i, 0;
    return bad(L, e, "expected prefix, raw or json, not");
}

static int set_number(struct loader *L, const struct ini_entry *e, const char *v,
                      const struct key_def *k, int *out)
{
    long n;
    int r = strconv_long(v, k->min, k->max, &n);
    if (r == -ERANGE)
        diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e->file, e->line, "%s: %s is out of range %d..%d",
                 e->key, v, k->min, k->max);
    else if (r < 0)
        return bad(L, e, "not a number:");
    else
        *out = (int)n;
    return r;
}

int config_set(struct loader *L, const struct ini_entry *e, const char *v, const struct key_def *k,
               void *base)
{
    void *f = (char *)base + k->off;
    const char *err = "";
    unsigned u;
    switch (k->type) {
    case KT_IGNORED:
        return ignored(L, e, v, k);
    case KT_RUNAS:
        return set_runas(L, e, v, base);
    case KT_CUSTOM:
    case KT_PROCESS:
        return 0;
    case KT_STR:
        return *(const char **)f = v, 0;
    case KT_BOOL:
        return strconv_bool(v, f) == 0 ? 0 : bad(L, e, "not a boolean:");
    case KT_INT:
        return set_number(L, e, v, k, f);
    case KT_MS:
        return strconv_duration_ms(v, f) == 0 ? 0 : bad(L, e, "bad duration");
    case KT_SIZE:
        return strconv_size(v, f) == 0 ? 0 : bad(L, e, "bad size");
    case KT_OCTAL:
        return strconv_octal(v, (unsigned)k->max, &u) == 0 ? (*(int *)f = (int)u, 0)
                                                            : bad(L, e, "bad octal number");
    case KT_SIGNAL:
        return strconv_signal(v, f) == 0 ? 0 : bad(L, e, "unknown signal");
    case KT_ENV:
        return envlist_parse(L->a, v, f, &err) == 0 ? 0 : bad(L, e, err);
    case KT_LIST:
        return *(const char ***)f = config_split_list(L->a, v), 0;
    case KT_LOGLEVEL:
        return log_level_parse(v, f) == 0 ? 0 : bad(L, e, "unknown log level");
    case KT_LOGFORMAT:
        return set_format(L, e, v, f);
    case KT_OWNER:
        return set_owner(L, e, v, f);
    }
    return 0;
}

char *config_expand(struct loader *L, const struct ini_entry *e, const struct expand_var *vars,
                    int nvars, const char **problem)
{
    struct expand_var all[16];
    char *out;
    int n = 0;
    if (L->here_of != e->file) { /* absolute, as supervisord's: not relative to tend's cwd */
        char *dir = dirname(arena_strdup(L->a, e->file)), real[PATH_MAX];
        L->here = arena_strdup(L->a, realpath(dir, real) ? real : dir);
        L->here_of = e->file;
    }
    all[n++] = (struct expand_var){.name = "here", .str = L->here};
    all[n++] = (struct expand_var){.name = "host_node_name", .str = L->hostname};
    for (int i = 0; i < nvars && n < 16; i++)
        all[n++] = vars[i];
    struct expand_ctx ctx = {.vars = all, .nvars = n};
    if (expand_value(L->a, &ctx, e->value, &out) < 0) {
        diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e->file, e->line, "%s: %s", e->key, ctx.error);
        return NULL;
    }
    if (ctx.unset_env) {
        diag_add(L->d, DIAG_WARNING, DIAG_HOST, e->file, e->line,
                 "%s: environment variable %s is not set", e->key, ctx.unset_env);
        if (problem && !*problem)
            *problem = arena_printf(L->a, "environment variable %s is not set", ctx.unset_env);
    }
    return out;
}

const char **config_split_list(struct arena *a, const char *s)
{
    size_t n = 0, cap = 4;
    const char **list = arena_alloc(a, sizeof(char *) * cap);
    for (const char *p = s; *p;) {
        p += strspn(p, ", \t\r\n");
        size_t len = strcspn(p, ", \t\r\n");
        if (!len)
            break;
        if (n + 1 == cap) {
            const char **bigger = arena_alloc(a, sizeof(char *) * (cap *= 2));
            memcpy(bigger, list, sizeof(char *) * n);
            list = bigger;
        }
        list[n++] = arena_strndup(a, p, len);
        p += len;
    }
    return list;
}
