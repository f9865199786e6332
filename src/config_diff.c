/* config_diff: the programs two snapshots differ in, and the keys that differ. */
#include "config_diff.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_INT, K_BOOL, K_U64, K_STR, K_LIST, K_BYTES, K_ENUM, K_DEPS };

/* A program's key, where the snapshot keeps it. */
struct key {
    const char *name;
    enum kind kind;
    size_t off, size;
};

#define PROG(k, field, name) {name, k, offsetof(struct program_cfg, field), \
                              sizeof(((struct program_cfg *)0)->field)}
static const struct key program_keys[] = {
    PROG(K_STR, group, "group"),
    PROG(K_INT, priority, "priority"),
    PROG(K_INT, numprocs, "numprocs"),
    PROG(K_INT, numprocs_start, "numprocs_start"),
    PROG(K_INT, port, "port"),
    PROG(K_BOOL, autostart, "autostart"),
    PROG(K_ENUM, autorestart, "autorestart"),
    PROG(K_U64, startsecs_ms, "startsecs"),
    PROG(K_INT, startretries, "startretries"),
    PROG(K_BYTES, exitcodes, "exitcodes"),
    PROG(K_INT, stopsignal, "stopsignal"),
    PROG(K_U64, stopwait_ms, "stopwaitsecs"),
    PROG(K_BOOL, stopasgroup, "stopasgroup"),
    PROG(K_BOOL, killasgroup, "killasgroup"),
    PROG(K_STR, user, "user"),
    PROG(K_BOOL, redirect_stderr, "redirect_stderr"),
    PROG(K_U64, stdout_maxbytes, "stdout_logfile_maxbytes"),
    PROG(K_INT, stdout_backups, "stdout_logfile_backups"),
    PROG(K_U64, stderr_maxbytes, "stderr_logfile_maxbytes"),
    PROG(K_INT, stderr_backups, "stderr_logfile_backups"),
    PROG(K_INT, stdout_kind, "stdout_logfile_type"),
    PROG(K_INT, stderr_kind, "stderr_logfile_type"),
    PROG(K_INT, umask, "umask"),
    PROG(K_STR, port_env, "port_env"),
    PROG(K_ENUM, ready, "ready"),
    PROG(K_STR, ready_path, "ready"),
    PROG(K_U64, ready_timeout_ms, "ready_timeout"),
    PROG(K_DEPS, depends_on, "depends_on"),
    PROG(K_U64, restart_delay_ms, "restart_delay"),
    PROG(K_U64, restart_delay_max_ms, "restart_delay_max"),
    PROG(K_U64, restart_delay_reset_ms, "restart_delay_reset"),
    PROG(K_BOOL, critical, "critical"),
    PROG(K_LIST, watch, "watch"),
    PROG(K_ENUM, health.kind, "health"),
    PROG(K_STR, health.path, "health"),
    PROG(K_LIST, health.argv, "health"),
    PROG(K_U64, health.interval_ms, "health_interval"),
    PROG(K_U64, health.timeout_ms, "health_timeout"),
    PROG(K_INT, health.failures, "health_failures"),
    PROG(K_U64, health.start_ms, "health_start_period"),
    PROG(K_U64, watchdog_ms, "watchdog"),
};
#undef PROG

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* NULL-terminated lists; a NULL list is an empty one. */
static bool same_list(const char *const *a, const char *const *b)
{
    size_t i = 0;
    for (; a && b && a[i] && b[i]; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return !(a && a[i]) && !(b && b[i]);
}

/* Lists of dependencies, each ending with a NULL name: the same names and conditions. */
static bool same_deps(const struct dependency *a, const struct dependency *b)
{
    for (; a->name && b->name; a++, b++)
        if (strcmp(a->name, b->name) || a->cond != b->cond)
            return false;
    return !a->name && !b->name;
}

static bool same_key(const struct key *k, const struct program_cfg *a, const struct program_cfg *b)
{
    const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
    switch (k->kind) {
    case K_STR:
        return same_str(*(const char *const *)pa, *(const char *const *)pb);
    case K_LIST:
        return same_list(*(const char *const *const *)pa, *(const char *const *const *)pb);
    case K_DEPS:
        return same_deps(*(const struct dependency *const *)pa,
                         *(const struct dependency *const *)pb);
    default: /* a number, a flag, a bitmap: the bytes say it */
        return !memcmp(pa, pb, k->size);
    }
}

static bool same_log(const struct log_cfg *a, const struct log_cfg *b)
{
    return a->target == b->target && a->auto_name == b->auto_name && same_str(a->path, b->path);
}

/* Keys each process has its own expansion of: compared process by process, over the
 * processes both have (numprocs says the rest). */
enum { P_COMMAND, P_NAME, P_ENV, P_DIR, P_STDOUT, P_STDERR, P_PORT, P_COUNT };
static const char *const process_keys[P_COUNT] = {
    "command", "process_name", "environment", "directory", "stdout_logfile", "stderr_logfile",
    "port"};

static void process_changes(const struct proc_cfg *a, const struct proc_cfg *b, bool *changed)
{
    changed[P_COMMAND] |= !same_list((const char *const *)a->argv, (const char *const *)b->argv);
    changed[P_NAME] |= !same_str(a->name, b->name);
    changed[P_ENV] |= !same_list(a->env, b->env);
    changed[P_DIR] |= !same_str(a->directory, b->directory);
    changed[P_STDOUT] |= !same_log(&a->out, &b->out);
    changed[P_STDERR] |= !same_log(&a->err, &b->err);
    changed[P_PORT] |= a->port != b->port;
}

static bool listed(const char *keys, const char *name, size_t n)
{
    for (const char *at = strstr(keys, name); at; at = strstr(at + 1, name))
        if ((at == keys || at[-1] == ' ') && (at[n] == ',' || at[n] == '\0'))
            return true;
    return false;
}

/* Appends name to the list unless it is there already (ready is two fields). */
static void add_key(char *keys, const char *name)
{
    size_t len = strlen(keys), n = strlen(name);
    if (listed(keys, name, n))
        return;
    if (len + n + 8 >= CONFIG_DIFF_KEYS) {
        if (!strstr(keys, ", ..."))
            strcpy(keys + len, ", ...");
        return;
    }
    if (len)
        strcpy(keys + len, ", "), len += 2;
    strcpy(keys + len, name);
}

/* The keys of a and b that differ, in the manual's order: "" when none. */
static void changed_keys(const struct program_cfg *a, const struct program_cfg *b, char *keys)
{
    bool changed[P_COUNT] = {false};
    int n = a->nprocs < b->nprocs ? a->nprocs : b->nprocs;
    *keys = '\0';
    for (int i = 0; i < n; i++)
        process_changes(&a->procs[i], &b->procs[i], changed);
    for (int i = 0; i < P_COUNT; i++)
        if (changed[i])
            add_key(keys, process_keys[i]);
    for (size_t i = 0; i < sizeof(program_keys) / sizeof(program_keys[0]); i++)
        if (!same_key(&program_keys[i], a, b))
            add_key(keys, program_keys[i].name);
}

int config_diff(const struct config *a, const struct config *b, struct config_diff_item **out)
{
    struct config_diff_item *v = calloc((size_t)(a->nprograms + b->nprograms) + 1, sizeof(*v));
    int n = 0;
    *out = NULL;
    if (!v)
        return -ENOMEM;
    for (int i = 0; i < a->nprograms; i++) {
        const struct program_cfg *pa = &a->programs[i], *pb = config_program(b, pa->name);
        struct config_diff_item *it = &v[n];
        *it = (struct config_diff_item){pb ? pb->name : pa->name, CONFIG_REMOVED, pa->nprocs, ""};
        if (pb) {
            changed_keys(pa, pb, it->keys);
            it->what = CONFIG_CHANGED;
            it->nprocs = pb->nprocs;
        }
        n += !pb || *it->keys;
    }
    for (int i = 0; i < b->nprograms; i++)
        if (!config_program(a, b->programs[i].name))
            v[n++] = (struct config_diff_item){b->programs[i].name, CONFIG_ADDED,
                                               b->programs[i].nprocs, ""};
    if (n)
        *out = v;
    else
        free(v);
    return n;
}
