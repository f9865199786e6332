/* config: reads the file tree, dispatches sections, checks the whole, and hands
 * out the snapshot. Program and nginx sections live in their own files. */
#include "config.h"

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <setjmp.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "log.h"
#include "proto.h"

#define TEND(field) offsetof(struct tend_cfg, field)
static const struct key_def tend_keys[] = {
    {"socket", KT_STR, TEND(socket)},
    {"socket_mode", KT_OCTAL, TEND(socket_mode), 0, 07777},
    {"socket_owner", KT_OWNER, TEND(socket_owner)},
    {"pidfile", KT_STR, TEND(pidfile)},
    {"loglevel", KT_LOGLEVEL, TEND(loglevel)},
    {"log_format", KT_LOGFORMAT, TEND(log_format)},
    {"log_timestamps", KT_BOOL, TEND(log_timestamps)},
    {"environment", KT_ENV, TEND(env)},
    {"minfds", KT_INT, TEND(minfds), 0, 1 << 30},
    {"umask", KT_OCTAL, TEND(umask), 0, 0777},
    {"shutdown_timeout", KT_MS, TEND(shutdown_timeout_ms)},
    {"logfile", KT_STR, TEND(logfile)},
    {"logfile_maxbytes", KT_SIZE, TEND(logfile_maxbytes)},
    {"logfile_backups", KT_INT, TEND(logfile_backups), 0, 1000},
    {"silent", KT_BOOL, TEND(silent)},
    {"childlogdir", KT_STR, TEND(childlogdir)},
    {"user", KT_RUNAS},
    {"minprocs", KT_INT, TEND(minprocs), 0, 1 << 30},
    /* supervisord's, without effect here: said, unless the value asks for what tend does */
    {"nodaemon", KT_IGNORED, .why = "tend never daemonizes: it runs in the foreground",
     .fine = FINE_TRUE},
    {"nocleanup", KT_IGNORED, .fine = FINE_TRUE,
     .why = "tend does not remove AUTO log files of earlier runs (each run makes new ones)"},
    {"directory", KT_IGNORED,
     .why = "tend does not daemonize, so it does not change directory (programs have "
            "directory=)"},
    {"strip_ansi", KT_IGNORED, .fine = FINE_FALSE,
     .why = "escape sequences in the programs' output are kept"},
    {"identifier", KT_IGNORED,
     .why = "it names supervisord's XML-RPC interface, which tend does not serve"},
    {NULL},
};
#define PEERCRED                                                                            \
    "tend checks peers by uid (SO_PEERCRED), not by password: the socket's mode and owner "  \
    "say who may connect"
static const struct key_def unix_http_keys[] = {
    {"file", KT_STR, TEND(socket)},
    {"chmod", KT_OCTAL, TEND(socket_mode), 0, 07777},
    {"chown", KT_OWNER, TEND(socket_owner)},
    {"username", KT_IGNORED, .why = PEERCRED},
    {"password", KT_IGNORED, .why = PEERCRED},
    {NULL},
};
#define NO_SHELL "tendctl has no interactive shell: each command is one tendctl run"
static const struct key_def supervisorctl_keys[] = {
    {"serverurl", KT_CUSTOM}, /* see check_serverurl() */
    {"username", KT_IGNORED, .why = PEERCRED},
    {"password", KT_IGNORED, .why = PEERCRED},
    {"prompt", KT_IGNORED, .why = NO_SHELL},
    {"history_file", KT_IGNORED, .why = NO_SHELL},
    {NULL},
};
static const struct key_def group_keys[] = {
    {"programs", KT_LIST, offsetof(struct group_cfg, programs)},
    {"priority", KT_INT, offsetof(struct group_cfg, priority), INT_MIN, INT_MAX},
    {NULL},
};
static const struct key_def include_keys[] = {{"files", KT_CUSTOM}, {NULL}};
static const char *const section_kinds[] = {"program", "group", "eventlistener", "fcgi-program",
                                            "rpcinterface", NULL};
static const char *const plain_sections[] = {"tend", "supervisord", "unix_http_server",
                                             "inet_http_server", "supervisorctl", "include",
                                             "nginx", NULL};

const char *config_find(void)
{
    static const char *const paths[] = {"./tend.ini", "/etc/tend/tend.ini", "./supervisord.conf",
                                        "/etc/supervisord.conf",
                                        "/etc/supervisor/supervisord.conf"};
    const char *env = getenv("TEND_CONFIG");
    if (env && *env)
        return env;
    for (unsigned i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], R_OK) == 0)
            return paths[i];
    return NULL;
}

/* ---- reading files and includes ---- */

static int read_tree(struct loader *L, const char *path, const char *from, int from_line);

static void include_pattern(struct loader *L, const struct ini_entry *e, const char *pattern)
{
    char *dir = dirname(arena_strdup(L->a, e->file));
    const char *full = pattern[0] == '/' ? pattern : arena_printf(L->a, "%s/%s", dir, pattern);
    glob_t g;
    int r = glob(full, 0, NULL, &g);
    if (r == GLOB_NOMATCH && !strpbrk(pattern, "*?[")) {
        diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e->file, e->line,
                 "include '%s': No such file or directory", full);
        return;
    }
    if (r != 0)
        return;
    /* the names into the arena first: reading may run out of memory (arena_on_oom) */
    const char **files = arena_alloc(L->a, sizeof(*files) * (g.gl_pathc + 1));
    for (size_t i = 0; i < g.gl_pathc; i++)
        files[i] = arena_strdup(L->a, g.gl_pathv[i]);
    globfree(&g);
    for (const char **f = files; *f; f++)
        read_tree(L, *f, e->file, e->line);
}

static void read_includes(struct loader *L, const char *path)
{
    struct ini_entry *e = ini_get(inidoc_section(&L->doc, "include"), "files");
    if (!e || strcmp(e->file, path) != 0)
        return; /* no [include] in this file */
    const char *problem = NULL;
    char *files = config_expand(L, e, NULL, 0, &problem);
    if (!files || problem)
        return; /* an unset ENV_X would make "%(ENV_X)s/x.conf" mean "/x.conf": skip it */
    for (const char **p = config_split_list(L->a, files); *p; p++)
        include_pattern(L, e, *p);
}

static int read_tree(struct loader *L, const char *path, const char *from, int from_line)
{
    char real[PATH_MAX];
    const char *key = realpath(path, real) ? real : path;
    for (int i = 0; i < L->depth; i++)
        if (strcmp(L->stack[i], key) == 0) {
            diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, from, from_line, "include cycle: '%s' includes itself",
                     path);
            return -ELOOP;
        }
    if (L->depth == (int)(sizeof(L->stack) / sizeof(L->stack[0]))) {
        diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, from, from_line, "includes nested too deeply");
        return -ELOOP;
    }
    int r = inidoc_read(&L->doc, path, L->d);
    if (r < 0 && r != -EINVAL)
        diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, from ? from : path, from_line, "cannot read '%s': %s",
                 path, strerror(-r));
    if (r < 0)
        return r;
    L->stack[L->depth++] = arena_strdup(L->a, key);
    read_includes(L, path);
    L->depth--;
    return 0;
}

/* ---- [tend] / [supervisord] / [unix_http_server] ---- */

/* Reads a section whose keys are all table-driven into base. */
static void load_keys(struct loader *L, const struct ini_section *s, const struct key_def *defs,
                      const struct expand_var *vars, int nvars, void *base)
{
    config_check_keys(L, s, defs);
    for (const struct ini_entry *e = s->entries; e; e = e->next) {
        const struct key_def *k = config_key(defs, e->key);
        const char *problem = NULL;
        char *v = k ? config_expand(L, e, vars, nvars, &problem) : NULL;
        if (v && !problem) /* an unset ENV_ keeps the default (no "/supervisor.sock") */
            config_set(L, e, v, k, base);
    }
}

static void note_at(const struct ini_section *s, const char *key, struct config_at *at)
{
    const struct ini_entry *e = ini_get(s, key);
    if (e)
        *at = (struct config_at){e->file, e->line};
}

static void load_settings(struct loader *L, const char *name, const struct key_def *defs)
{
    struct ini_section *s = inidoc_section(&L->doc, name);
    if (!s)
        return;
    load_keys(L, s, defs, NULL, 0, &L->c->tend);
    note_at(s, defs == unix_http_keys ? "file" : "socket", &L->c->tend.socket_at);
    note_at(s, "logfile", &L->c->tend.logfile_at);
    note_at(s, "pidfile", &L->c->tend.pidfile_at);
}

static void default_settings(struct tend_cfg *t, struct arena *a)
{
    char socket[PATH_MAX];
    t->socket = arena_strdup(a, proto_default_socket(socket, sizeof(socket)));
    t->socket_mode = 0600;
    t->loglevel = LOG_INFO;
    t->umask = -1;
    t->minfds = 1024;
    t->shutdown_timeout_ms = 30000;
    t->logfile_maxbytes = 50 << 20;
    t->logfile_backups = 10;
    t->env = arena_alloc(a, sizeof(char *));
}

/* ---- groups and programs ---- */

static const char *group_of(struct loader *L, const char *program)
{
    for (int i = 0; i < L->c->ngroups; i++)
        for (const char **p = L->c->groups[i].programs; *p; p++)
            if (!strcmp(*p, program))
                return L->c->groups[i].name;
    return program;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_-.@+", *s))
            return false;
    return true;
}

static void load_group(struct loader *L, struct ini_section *s, const char *name)
{
    struct group_cfg *g = &L->c->groups[L->c->ngroups++];
    struct expand_var var = {.name = "group_name", .str = name};
    g->name = name;
    g->priority = 999;
    load_keys(L, s, group_keys, &var, 1, g);
    if (!g->programs)
        g->programs = config_split_list(L->a, "");
}

static bool has_prefix(const char *s, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0)
        return false;
    *rest = s + n;
    return true;
}

static void unknown_section(struct loader *L, const struct ini_section *s)
{
    const char *colon = strchr(s->name, ':'), *hint;
    char kind[64];
    if (colon && (size_t)(colon - s->name) < sizeof(kind)) {
        /* [prgram:web] was meant to define something: dropping it would lose a program */
        snprintf(kind, sizeof(kind), "%.*s", (int)(colon - s->name), s->name);
        if ((hint = config_nearest(kind, section_kinds))) {
            diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, s->file, s->line,
                     "unknown section [%s] (did you mean [%s:%s]?)", s->name, hint, colon + 1);
            return;
        }
    }
    hint = config_nearest(s->name, plain_sections);
    diag_add(L->d, DIAG_WARNING, DIAG_UNKNOWN, s->file, s->line, "unknown section [%s]%s%s%s",
             s->name, hint ? " (did you mean [" : "", hint ? hint : "", hint ? "]?)" : "");
}

/* [supervisorctl] serverurl: tendctl does not read the config. Said unless it names
 * the socket tendctl finds anyway, which is also the one tend listens on. */
static void check_serverurl(struct loader *L, const struct ini_section *s)
{
    const struct ini_entry *e = ini_get(s, "serverurl");
    const char *problem = NULL, *v = e ? config_expand(L, e, NULL, 0, &problem) : NULL;
    char fallback[PATH_MAX];
    const char *dflt = proto_default_socket(fallback, sizeof(fallback));
    if (!v || problem ||
        (!strncmp(v, "unix://", 7) && !strcmp(v + 7, dflt) && !strcmp(L->c->tend.socket, dflt)))
        return;
    diag_add(L->d, DIAG_WARNING, DIAG_UNKNOWN, e->file, e->line,
             "serverurl = %s: not used: tendctl does not read the config; it connects to "
             "-s SOCKET, else $TEND_SOCKET, else %s (this config's tend listens on %s)",
             v, dflt, L->c->tend.socket);
}

/* Events a listener asks for, to say what does its job in tend. */
static const char *listener_instead(const struct ini_section *s)
{
    const struct ini_entry *e = ini_get(s, "events");
    if (e && strstr(e->value, "PROCESS_STATE"))
        return "; to stop when a program dies, set critical = true on that program (tend "
               "then stops everything and exits with its status)";
    if (e && strstr(e->value, "PROCESS_LOG"))
        return "; tend writes every program's output to its own stdout and stderr, each line "
               "prefixed with the process name, when stdout_logfile and stderr_logfile are "
               "unset";
    return "";
}

/* [rpcinterface:x]: supervisord's own interface goes without saying (tendctl does its
 * job); another factory is a plugin that changes what supervisord does. */
static void check_rpcinterface(struct loader *L, const struct ini_section *s)
{
    const struct ini_entry *e = ini_get(s, "supervisor.rpcinterface_factory");
    if (e && !strcmp(e->value, "supervisor.rpcinterface:make_main_rpcinterface"))
        return;
    diag_add(L->d, DIAG_WARNING, DIAG_UNKNOWN, s->file, s->line,
             "[%s] is not loaded: tend has no XML-RPC interface (tendctl speaks to the "
             "control socket)",
             s->name);
}

/* Sections other than programs, groups and settings: known, ignored, or warned about. */
static void other_section(struct loader *L, struct ini_section *s)
{
    const char *rest;
    if (has_prefix(s->name, "eventlistener:", &rest))
        diag_add(L->d, DIAG_WARNING, DIAG_UNKNOWN, s->file, s->line,
                 "[%s] is not supported yet (planned): it will not run%s", s->name,
                 listener_instead(s));
    else if (has_prefix(s->name, "fcgi-program:", &rest))
        diag_add(L->d, DIAG_WARNING, DIAG_UNKNOWN, s->file, s->line,
                 "[%s] is not supported yet (planned): it will not run; tend does not make "
                 "FastCGI sockets: a [program:x] whose server listens itself does its job",
                 s->name);
    else if (has_prefix(s->name, "rpcinterface:", &rest))
        check_rpcinterface(L, s);
    else if (!strcmp(s->name, "supervisorctl")) {
        load_keys(L, s, supervisorctl_keys, NULL, 0, &L->c->tend); /* nothing is set */
        check_serverurl(L, s);
    } else if (!strcmp(s->name, "inet_http_server"))
        diag_add(L->d, DIAG_WARNING, DIAG_UNKNOWN, s->file, s->line,
                 "[inet_http_server] is not served: use the control socket (tendctl)");
    else if (!strcmp(s->name, "include"))
        config_check_keys(L, s, include_keys);
    else
        unknown_section(L, s);
}

static void load_sections(struct loader *L)
{
    int nsec = 0;
    for (struct ini_section *s = L->doc.sections; s; s = s->next)
        nsec++;
    L->c->groups = arena_alloc(L->a, sizeof(struct group_cfg) * (size_t)(nsec + 1));
    L->c->programs = arena_alloc(L->a, sizeof(struct program_cfg) * (size_t)(nsec + 1));
    const char *name;
    for (struct ini_section *s = L->doc.sections; s; s = s->next)
        if (has_prefix(s->name, "group:", &name)) {
            if (!valid_name(name))
                diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, s->file, s->line, "bad group name [%s]",
                         s->name);
            else
                load_group(L, s, name);
        }
    for (struct ini_section *s = L->doc.sections; s; s = s->next) {
        if (has_prefix(s->name, "program:", &name)) {
            if (!valid_name(name))
                diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, s->file, s->line,
                         "bad program name [%s]: use letters, digits and _-.@+", s->name);
            else
                config_load_program(L, s, name, group_of(L, name));
        } else if (!strcmp(s->name, "nginx")) {
            config_load_nginx(L, s);
        } else if (strcmp(s->name, "tend") && strcmp(s->name, "supervisord") &&
                   strcmp(s->name, "unix_http_server") && !has_prefix(s->name, "group:", &name)) {
            other_section(L, s);
        }
    }
}

/* ---- checks across sections ---- */

static void check_groups(struct loader *L)
{
    for (int i = 0; i < L->c->ngroups; i++) {
        struct group_cfg *g = &L->c->groups[i];
        struct ini_section *s = inidoc_section(&L->doc, arena_printf(L->a, "group:%s", g->name));
        struct ini_entry *e = ini_get(s, "programs");
        for (const char **p = g->programs; *p; p++) {
            if (!config_program(L->c, *p))
                diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e ? e->file : s->file,
                         e ? e->line : s->line, "[group:%s] lists '%s', which has no [program:%s]",
                         g->name, *p, *p);
            else if (strcmp(group_of(L, *p), g->name) != 0)
                diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e->file, e->line,
                         "'%s' is listed in [group:%s] and in another group", *p, g->name);
        }
    }
}

/* Sorted, a name used twice sits next to itself: n log n for 100,000 processes.
 * The sorted list stays in the snapshot for config_process. */
static void check_names(struct loader *L)
{
    size_t n = 0, k = 0;
    for (int i = 0; i < L->c->nprograms; i++)
        n += (size_t)L->c->programs[i].nprocs;
    struct config_name *all = arena_alloc(L->a, sizeof(*all) * (n + 1));
    for (int i = 0; i < L->c->nprograms; i++)
        for (int j = 0; j < L->c->programs[i].nprocs; j++)
            all[k++] = (struct config_name){L->c->programs[i].procs[j].name, &L->c->programs[i],
                                            &L->c->programs[i].procs[j]};
    qsort(all, n, sizeof(*all), config_name_cmp);
    L->c->names = all;
    L->c->nnames = (int)n;
    for (size_t i = 1; i < n; i++)
        if (!strcmp(all[i - 1].name, all[i].name)) {
            const struct program_cfg *p = all[i].prog > all[i - 1].prog ? all[i].prog : all[i - 1].prog;
            diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, p->file, p->line,
                     "process name '%s' is used twice (by [program:%s] and [program:%s]): "
                     "set process_name",
                     all[i].name, all[i - 1].prog->name, all[i].prog->name);
            return;
        }
}

static void check_ports(struct loader *L)
{
    for (int i = 0; i < L->c->nprograms; i++) {
        struct program_cfg *a = &L->c->programs[i];
        for (int j = 0; a->port && j < i; j++) {
            struct program_cfg *b = &L->c->programs[j];
            if (b->port && a->port < b->port + b->numprocs && b->port < a->port + a->numprocs)
                diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, a->file, a->line,
                         "ports %d-%d of [program:%s] overlap ports %d-%d of [program:%s]",
                         a->port, a->port + a->numprocs - 1, a->name, b->port,
                         b->port + b->numprocs - 1, b->name);
        }
        if (a->port && L->c->nginx && L->c->nginx->listen_port >= a->port &&
            L->c->nginx->listen_port < a->port + a->numprocs)
            diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, L->c->nginx->file, L->c->nginx->line,
                     "nginx listens on port %d, which [program:%s] uses",
                     L->c->nginx->listen_port, a->name);
    }
}

/* Depth-first walk; state 1 = on the current path, 2 = done. */
static bool depends_cycle(struct loader *L, int i, char *state)
{
    if (state[i] == 1)
        return true;
    if (state[i] == 2)
        return false;
    state[i] = 1;
    for (const struct dependency *d = L->c->programs[i].depends_on; d->name; d++) {
        const struct program_cfg *dep = config_program(L->c, d->name);
        if (dep && depends_cycle(L, (int)(dep - L->c->programs), state))
            return true;
    }
    state[i] = 2;
    return false;
}

/* d names a program; one that restarts whatever its exit never completes. */
static void check_dependency(struct loader *L, const struct program_cfg *p,
                             const struct dependency *d, const struct ini_entry *e)
{
    const char *file = e ? e->file : p->file;
    int line = e ? e->line : p->line;
    const struct program_cfg *dep = config_program(L->c, d->name);
    if (!dep)
        return (void)diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, file, line,
                              "depends_on: no [program:%s]", d->name);
    if ((d->cond == DEP_COMPLETED || d->cond == DEP_SUCCEEDED) &&
        dep->autorestart == AUTORESTART_TRUE)
        diag_add(L->d, DIAG_WARNING, DIAG_SYNTAX, file, line,
                 "depends_on: %s:%s: [program:%s] has autorestart = true and is restarted "
                 "whenever it exits: [program:%s] would wait for good",
                 d->name, config_dep_cond_name(d->cond), d->name, p->name);
}

static void check_depends(struct loader *L)
{
    char *state = arena_alloc(L->a, (size_t)L->c->nprograms + 1);
    for (int i = 0; i < L->c->nprograms; i++) {
        struct program_cfg *p = &L->c->programs[i];
        struct ini_entry *e = ini_get(p->section, "depends_on");
        for (const struct dependency *d = p->depends_on; d->name; d++)
            check_dependency(L, p, d, e);
        if (depends_cycle(L, i, state)) {
            diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e ? e->file : p->file, e ? e->line : p->line,
                     "depends_on: [program:%s] depends on itself through a cycle", p->name);
            return;
        }
    }
}

static void begin(struct loader *L, struct arena *a, const char *path, struct diag_list *diags)
{
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    *L = (struct loader){.a = a, .d = diags, .doc = {.a = a}, .hostname = arena_strdup(a, host)};
    L->c = arena_alloc(a, sizeof(*L->c));
    L->tend = &L->c->tend;
    L->c->arena = a;
    L->c->path = arena_strdup(a, path);
    default_settings(&L->c->tend, a);
}

/* Out of memory while loading: what was built goes, the error is said, and a
 * running tend keeps its config (see tend(8), Memory). */
static int out_of_memory(struct arena *a, const char *path, struct diag_list *diags)
{
    arena_free(a);
    diag_add(diags, DIAG_ERROR, DIAG_HOST, path, 0, "out of memory");
    return -ENOMEM;
}

/* From the merged document to the snapshot: sections, then checks across them. */
static int finish(struct loader *L, int r, int before, struct config **out)
{
    struct diag_list *diags = L->d;
    struct arena *a = L->a;
    if (r == 0) {
        load_settings(L, "unix_http_server", unix_http_keys);
        load_settings(L, "supervisord", tend_keys);
        load_settings(L, "tend", tend_keys);
        load_sections(L);
    }
    if (r == 0 && diag_errors(diags) == before) { /* checks across sections need whole ones */
        if (L->c->nginx)
            config_define_nginx_program(L);
        if (!L->c->nprograms) /* a fragment has none, but a main file with none is amiss */
            diag_add(diags, DIAG_WARNING, DIAG_UNKNOWN, L->c->path, 0,
                     "no programs: tend would only wait for signals (fine for a file that "
                     "another one includes)");
        check_groups(L);
        check_names(L);
        check_ports(L);
        check_depends(L);
    }
    if (diag_errors(diags) > before || r < 0) {
        arena_free(a);
        return r < 0 && r != -EINVAL ? r : -EINVAL;
    }
    *out = L->c;
    return 0;
}

/* Both loaders: from a file tree (e == NULL) or from entries tend dev made. Memory
 * that runs out fails to one place (arena_on_oom); a and L are not changed in this
 * frame after setjmp. */
static int load(const char *path, const struct config_entry *e, int n, struct config **out,
                struct diag_list *diags)
{
    struct loader L;
    struct arena *a = arena_new();
    jmp_buf oom;
    if (!a)
        return out_of_memory(a, path, diags);
    if (setjmp(oom))
        return out_of_memory(a, path, diags);
    arena_on_oom(a, &oom);
    begin(&L, a, path, diags);
    int before = diag_errors(diags);
    int r = e ? 0 : read_tree(&L, path, NULL, 0);
    for (int i = 0; i < n; i++)
        inidoc_set(&L.doc, e[i].section, e[i].key, e[i].value, e[i].file, e[i].line);
    r = finish(&L, r, before, out);
    if (r == 0)
        arena_on_oom(a, NULL); /* the snapshot is done: nothing more is allocated in it */
    return r;
}

int config_load(const char *path, struct config **out, struct diag_list *diags)
{
    return load(path, NULL, 0, out, diags);
}

int config_build(const char *path, const struct config_entry *e, int n, struct config **out,
                 struct diag_list *diags)
{
    static const struct config_entry none;
    return load(path, e ? e : &none, n, out, diags);
}

void config_free(struct config *c)
{
    if (c)
        arena_free(c->arena);
}

const char *config_known_key(const char *kind, int i)
{
    static const struct { const char *kind; const struct key_def *defs; } kinds[] = {
        {"program", config_program_keys}, {"nginx", config_nginx_keys},
        {"tend", tend_keys},              {"group", group_keys},
        {"include", include_keys},        {"unix_http_server", unix_http_keys},
    };
    for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (strcmp(kinds[k].kind, kind))
            continue;
        for (int j = 0; kinds[k].defs[j].name; j++)
            if (j == i)
                return kinds[k].defs[j].name;
    }
    return NULL;
}
