/* dev: `tend dev`: a Procfile (or a config) run as foreman runs it (its ports, .env
 * loaded into the environment, plain commands exec'd, NAME... to pick entries), with
 * the project's own control socket, colors on a terminal, restarts on file changes;
 * then the same engine as production (run.c). */
#include "dev.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "dotenv.h"
#include "log.h"
#include "pid1.h"
#include "procfile.h"
#include "proto.h"
#include "run.h"
#include "safepath.h"
#include "shellwords.h"
#include "strconv.h"

enum { MAX_FORMATION = 64 };

struct dev {
    const char *config, *procfile, *envfile, *formation;
    const char **names; /* tend dev NAME... and --only NAME: NULL-terminated, or NULL */
    const char **can_die; /* --can-die NAME,...: each a comma list; NULL-terminated */
    long port_base;
    bool port_given, watch, timestamps, abort_on_exit;
    char dir[PATH_MAX]; /* the Procfile's: commands run there, globs start there */
    char socket[PATH_MAX];   /* in the project: .tend/tend.sock */
    char fallback[PATH_MAX]; /* where the project's is out of reach (read-only, too long) */
};

/* -m web=2,worker=1 (all=N for every entry): how many processes of a name. */
static int formation_of(const struct dev *d, const char *name)
{
    int n = 1;
    const char *p = d->formation;
    for (size_t len; p && *p; p += len + (p[len] == ',')) {
        len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        long v;
        char num[16];
        if (!eq || (size_t)(p + len - eq - 1) >= sizeof(num))
            continue;
        snprintf(num, sizeof(num), "%.*s", (int)(p + len - eq - 1), eq + 1);
        bool match = (size_t)(eq - p) == strlen(name) && !strncmp(p, name, (size_t)(eq - p));
        if ((match || !strncmp(p, "all=", 4)) && strconv_long(num, 0, 1000, &v) == 0)
            n = (int)v;
    }
    return n;
}

static void add(struct config_entry **e, int *n, const char *section, const char *key,
                const char *value, const char *file, int line)
{
    (*e)[(*n)++] = (struct config_entry){section, key, value, file, line};
}

/* Whether name is in a comma-separated list. */
static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (size_t len; *list; list += len + (list[len] == ',')) {
        len = strcspn(list, ",");
        if (len == n && !strncmp(list, name, n))
            return true;
    }
    return false;
}

static bool in(const char *const *names, const char *name)
{
    for (; names && *names; names++)
        if (listed(*names, name))
            return true;
    return false;
}

/* '%' is literal in a Procfile; the config would expand %(...)s. */
static const char *percent_escaped(struct arena *a, const char *s)
{
    char *out = arena_alloc(a, strlen(s) * 2 + 1), *o = out;
    for (; *s; s++)
        if ((*o++ = *s) == '%')
            *o++ = '%';
    *o = '\0';
    return out;
}

/* A command without shell syntax is exec'd as its words (so the pid and signals are
 * the program's); one with it runs in /bin/sh -c, as foreman runs it, with "exec "
 * before a single simple command so that the shell gives way to the program. */
static const char *command_of(struct arena *a, const char *command)
{
    int at;
    if (procfile_how(command, &at) == PROCFILE_EXEC)
        return percent_escaped(a, command);
    const char *script = at < 0 ? command : arena_printf(a, "%.*sexec %s", at, command, command + at);
    size_t len = 4 * strlen(script) + 3; /* quoting takes at most 4 bytes a byte */
    char *quoted = arena_alloc(a, len);
    shellwords_quote(script, quoted, len);
    return percent_escaped(a, arena_printf(a, "/bin/sh -c %s", quoted));
}

/* Each entry a program: PORT = base + 100 x its index + the process's (foreman). An
 * exit 0 is the end of a one-shot (a build, a migration): it stays EXITED and the
 * others go on; another status is a crash, restarted with backoff. startsecs = 0:
 * a quick one-shot is no failed start. --can-die, --abort-on-exit: any exit is the
 * end (--abort-on-exit then stops everything: run.c). */
static void program_of(struct arena *a, const struct dev *d, const struct procfile_entry *p,
                       int index, int count, struct config_entry **e, int *n, const char *file)
{
    const char *s = arena_printf(a, "program:%s", p->name);
    bool once = d->abort_on_exit || in(d->can_die, p->name);
    const char *restart = once ? "false" : "unexpected";
    add(e, n, s, "command", command_of(a, p->command), file, p->line);
    add(e, n, s, "startsecs", "0", file, p->line);
    add(e, n, s, "autorestart", restart, file, p->line);
    add(e, n, s, "exitcodes", "0", file, p->line);
    add(e, n, s, "numprocs", arena_printf(a, "%d", count), file, p->line);
    add(e, n, s, "numprocs_start", "1", file, p->line);
    add(e, n, s, "process_name", "%(program_name)s.%(process_num)d", file, p->line);
    add(e, n, s, "port", arena_printf(a, "%ld", d->port_base + 100 * index), file, p->line);
    add(e, n, s, "directory", d->dir, file, p->line);
    add(e, n, s, "stopasgroup", "true", file, p->line); /* the program and what it started */
    add(e, n, s, "stopwaitsecs", "5", file, p->line);
    add(e, n, s, "environment", "PS=\"%(program_name)s.%(process_num)d\"", file, p->line);
}

/* Reported in diags, or on stderr (before anything runs). */
static int out_of_memory(struct arena *a, const char *file, struct diag_list *diags)
{
    arena_free(a);
    if (diags)
        diag_add(diags, DIAG_ERROR, DIAG_HOST, file, 0, "out of memory");
    else
        fprintf(stderr, "tend dev: %s: out of memory\n", file);
    return -ENOMEM;
}

/* .tend/ in the project, 0700 and checked (STYLE rule 13), with a .gitignore that
 * keeps it out of git; the project's socket goes there. Returns the socket's path,
 * or the fallback one when the directory cannot be had (a read-only checkout). */
static const char *socket_of(const struct dev *d)
{
    char dir[PATH_MAX + 8], why[PATH_MAX + 256];
    if (!*d->socket)
        return d->fallback;
    snprintf(dir, sizeof(dir), "%s/.tend", d->dir);
    int fd = safepath_dir(dir, geteuid(), getegid(), 0700, false, why, sizeof(why));
    if (fd < 0) {
        fprintf(stderr, "tend dev: %s: the control socket is %s\n", why, d->fallback);
        return d->fallback;
    }
    int f = openat(fd, ".gitignore", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
                   O_NONBLOCK, 0644);
    if (f >= 0 && write(f, "*\n", 2) != 2)
        fprintf(stderr, "tend dev: write '%s/.gitignore': %s\n", dir, strerror(errno));
    if (f >= 0)
        close(f);
    close(fd);
    return d->socket;
}

/* NAME... that no entry has: said with the names there are. */
static int unknown_name(struct arena *a, const struct dev *d, const struct procfile *pf,
                        struct diag_list *diags)
{
    for (const char **n = d->names; *n; n++) {
        bool found = false;
        for (int i = 0; i < pf->n && !found; i++)
            found = !strcmp(pf->entries[i].name, *n);
        if (found)
            continue;
        const char *all = "";
        for (int i = 0; i < pf->n; i++)
            all = arena_printf(a, "%s%s%s", all, i ? ", " : "", pf->entries[i].name);
        diag_add(diags, DIAG_ERROR, DIAG_SYNTAX, d->procfile, 0, "no process '%s' in it (%s)",
                 *n, all);
        return -EINVAL;
    }
    return 0;
}

static struct config_entry *entries_of(struct arena *a, const struct dev *d,
                                       const struct procfile *pf, int *n)
{
    struct config_entry *e = arena_alloc(a, sizeof(*e) * (size_t)(pf->n * 12 + 4));
    add(&e, n, "tend", "socket", socket_of(d), d->procfile, 0);
    add(&e, n, "tend", "shutdown_timeout", "10s", d->procfile, 0);
    for (int i = 0; i < pf->n; i++) {
        int count = formation_of(d, pf->entries[i].name);
        if (count > 0 && (!d->names || in(d->names, pf->entries[i].name)))
            program_of(a, d, &pf->entries[i], i, count, &e, n, d->procfile);
    }
    return e;
}

/* A reload reads the Procfile again: out of memory, it fails like a bad one. */
static int load_procfile(const void *ctx, struct config **out, struct diag_list *diags)
{
    const struct dev *d = ctx;
    struct arena *a = arena_new();
    jmp_buf oom;
    if (!a)
        return out_of_memory(a, d->procfile, diags);
    if (setjmp(oom))
        return out_of_memory(a, d->procfile, diags);
    arena_on_oom(a, &oom);
    struct procfile *pf;
    int n = 0, r = procfile_read(a, d->procfile, &pf, diags);
    if (r == 0 && pf->n == 0) {
        diag_add(diags, DIAG_ERROR, DIAG_SYNTAX, d->procfile, 0, "no process in it");
        r = -EINVAL;
    }
    if (r == 0 && d->names)
        r = unknown_name(a, d, pf, diags);
    if (r < 0)
        return arena_free(a), r;
    struct config_entry *e = entries_of(a, d, pf, &n);
    r = config_build(d->procfile, e, n, out, diags);
    arena_free(a);
    return r;
}

/* tend dev never takes tend's default socket, the production one (/run/tend.sock for
 * root): a config that names no other gets the project's. */
static int load_config(const void *ctx, struct config **out, struct diag_list *diags)
{
    const struct dev *d = ctx;
    char def[PATH_MAX];
    int r = config_load(d->config, out, diags);
    if (r == 0 && !strcmp((*out)->tend.socket, proto_default_socket(def, sizeof(def))))
        (*out)->tend.socket = socket_of(d); /* d outlives the run */
    return r;
}

/* .env: in tend's own environment, so every program and %(ENV_X)s see it. */
static int load_env(const struct dev *d)
{
    struct arena *a = arena_new();
    struct diag_list diags = {0};
    jmp_buf oom;
    if (!a)
        return out_of_memory(a, ".env", NULL);
    if (setjmp(oom)) /* before anything runs: tend dev stops */
        return out_of_memory(a, ".env", NULL);
    arena_on_oom(a, &oom);
    const char **env;
    char path[PATH_MAX + 8];
    snprintf(path, sizeof(path), "%s/.env", d->dir);
    int r = dotenv_read(a, d->envfile ? d->envfile : path, !d->envfile, &env, &diags);
    diag_print(&diags, stderr);
    for (int i = 0; r == 0 && env && env[i]; i++) {
        size_t k = strcspn(env[i], "=");
        char *key = arena_strndup(a, env[i], k);
        setenv(key, env[i] + k + 1, 1);
    }
    diag_clear(&diags);
    arena_free(a);
    return r;
}

static int usage(FILE *out, int status)
{
    fputs("usage: tend dev [-c FILE | -f Procfile] [-e .env] [-m name=N,...] [-p PORT]\n"
          "                [--watch] [--can-die NAME,...] [--abort-on-exit] [-t] [NAME...]\n",
          out);
    return status;
}

/* NAME... and --only NAME go to one list; --can-die may come more than once. */
static void push(const char **list, const char *name)
{
    while (*list)
        list++;
    *list = name;
}

static int parse(struct dev *d, int argc, char **argv)
{
    static const struct option opts[] = {
        {"watch", no_argument, NULL, 'w'},          {"only", required_argument, NULL, 'o'},
        {"timestamps", no_argument, NULL, 't'},     {"can-die", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},           {"abort-on-exit", no_argument, NULL, 'a'},
        {0}};
    for (int ch; (ch = getopt_long(argc, argv, "c:f:e:m:p:th", opts, NULL)) != -1;) {
        switch (ch) {
        case 'c': d->config = optarg; break;
        case 'f': d->procfile = optarg; break;
        case 'e': d->envfile = optarg; break;
        case 'm': d->formation = optarg; break;
        case 'p':
            if (strconv_long(optarg, 1, 65535, &d->port_base) < 0)
                return -1;
            d->port_given = true;
            break;
        case 'w': d->watch = true; break;
        case 'o': push(d->names, optarg); break;
        case 'd': push(d->can_die, optarg); break;
        case 't': d->timestamps = true; break;
        case 'a': d->abort_on_exit = true; break;
        case 'h': return 1;
        default: return -1;
        }
    }
    for (int i = optind; i < argc; i++)
        push(d->names, argv[i]);
    if (!*d->names)
        d->names = NULL;
    if (d->config && *d->can_die)
        fputs("tend dev: --can-die is for Procfile entries (a config says autorestart)\n",
              stderr);
    return !(d->config && d->procfile) && !(d->config && *d->can_die) ? 0 : -1;
}

/* foreman's order: -p, else PORT as .env and then the environment set it, else 5000. */
static int base_port(struct dev *d)
{
    const char *port = getenv("PORT");
    if (d->port_given || !port || !*port)
        return 0;
    if (strconv_long(port, 1, 65535, &d->port_base) == 0)
        return 0;
    fprintf(stderr, "tend dev: PORT '%s': not a port number (1-65535)\n", port);
    return -EINVAL;
}

/* One per project: .tend/tend.sock beside the Procfile, where tendctl run there finds
 * it; else (a path too long for a socket, a directory tend cannot write) one named by
 * the project's path: two projects' tend dev run side by side. */
static void choose_sockets(struct dev *d)
{
    int n = snprintf(d->socket, sizeof(d->socket), "%s/.tend/tend.sock", d->dir);
    if (n < 0 || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
        *d->socket = '\0';
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    unsigned h = 5381;
    for (const char *c = d->dir; *c; c++)
        h = h * 33 + (unsigned char)*c;
    if (xdg && *xdg)
        snprintf(d->fallback, sizeof(d->fallback), "%s/tend-dev-%u-%08x.sock", xdg,
                 (unsigned)getuid(), h);
    else /* in tend's private directory (made 0700 and checked): never a name in /tmp */
        snprintf(d->fallback, sizeof(d->fallback), "/tmp/tend-%u/dev-%08x.sock",
                 (unsigned)geteuid(), h);
}

static int dev_run(struct dev *d)
{
    if (!d->config && !d->procfile && access("tend.ini", R_OK) == 0)
        d->config = "tend.ini";
    if (!d->config && !d->procfile)
        d->procfile = "Procfile";
    char *where = realpath(d->config ? d->config : d->procfile, NULL);
    snprintf(d->dir, sizeof(d->dir), "%s", where ? dirname(where) : ".");
    free(where);
    choose_sockets(d);
    if (load_env(d) < 0 || base_port(d) < 0)
        return 1;
    pid1_setup();
    struct run_opts o = {
        .path = d->config ? d->config : d->procfile, .load = d->config ? load_config : load_procfile,
        .ctx = d, .dev = true, .colors = isatty(STDOUT_FILENO) && !getenv("NO_COLOR"),
        .timestamps = d->timestamps, .watch_all = d->watch, .only = d->config ? d->names : NULL,
        .base_dir = d->dir, .abort_on_exit = d->abort_on_exit,
    };
    return run_with(&o);
}

int dev_main(int argc, char **argv)
{
    const char **names = calloc((size_t)argc + 1, sizeof(*names));
    const char **can_die = calloc((size_t)argc + 1, sizeof(*can_die));
    struct dev d = {.port_base = 5000, .names = names, .can_die = can_die};
    int r = names && can_die ? parse(&d, argc, argv) : -ENOMEM;
    if (r == -ENOMEM)
        fputs("tend dev: out of memory\n", stderr);
    r = r == -ENOMEM ? 1 : r > 0 ? usage(stdout, 0) : r < 0 ? usage(stderr, 2) : dev_run(&d);
    free(names);
    free(can_die);
    return r;
}
