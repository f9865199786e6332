/* dev: `tend dev`: a Procfile (or a config) with foreman's ports, .env loaded into
 * the environment, colors on a terminal, restarts on file changes; then the same
 * engine as production (run.c). */
#include "dev.h"

#include <errno.h>
#include <setjmp.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "dotenv.h"
#include "log.h"
#include "pid1.h"
#include "procfile.h"
#include "run.h"
#include "shellwords.h"
#include "strconv.h"

enum { MAX_FORMATION = 64 };

struct dev {
    const char *config, *procfile, *envfile, *formation, *only;
    long port_base;
    bool watch, timestamps;
    char dir[PATH_MAX]; /* the Procfile's: commands run there, globs start there */
    char socket[PATH_MAX];
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

/* A Procfile command runs in a shell, as foreman runs it; '%' is literal there. */
static const char *shell_command(struct arena *a, const char *command)
{
    size_t len = 4 * strlen(command) + 3; /* quoting takes at most 4 bytes a byte */
    char *quoted = arena_alloc(a, len);
    *quoted = '\0';
    shellwords_quote(command, quoted, len);
    char *out = arena_alloc(a, strlen(quoted) * 2 + 16), *o = out;
    o += sprintf(o, "/bin/sh -c ");
    for (const char *c = quoted; *c; c++)
        if ((*o++ = *c) == '%')
            *o++ = '%';
    *o = '\0';
    return out;
}

/* Each entry a program: PORT = base + 100 x its index + the process's (foreman). */
static void program_of(struct arena *a, const struct dev *d, const struct procfile_entry *p,
                       int index, int count, struct config_entry **e, int *n, const char *file)
{
    const char *s = arena_printf(a, "program:%s", p->name);
    add(e, n, s, "command", shell_command(a, p->command), file, p->line);
    add(e, n, s, "numprocs", arena_printf(a, "%d", count), file, p->line);
    add(e, n, s, "numprocs_start", "1", file, p->line);
    add(e, n, s, "process_name", "%(program_name)s.%(process_num)d", file, p->line);
    add(e, n, s, "port", arena_printf(a, "%ld", d->port_base + 100 * index), file, p->line);
    add(e, n, s, "directory", d->dir, file, p->line);
    add(e, n, s, "stopasgroup", "true", file, p->line); /* the shell and what it started */
    add(e, n, s, "stopwaitsecs", "5", file, p->line);
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
    if (r < 0)
        return arena_free(a), r;
    struct config_entry *e = arena_alloc(a, sizeof(*e) * (size_t)(pf->n * 8 + 4));
    add(&e, &n, "tend", "socket", d->socket, d->procfile, 0);
    add(&e, &n, "tend", "shutdown_timeout", "10s", d->procfile, 0);
    int programs = 0;
    for (int i = 0; i < pf->n; i++) {
        int count = formation_of(d, pf->entries[i].name);
        if (count > 0 && (!d->only || !strcmp(d->only, pf->entries[i].name)))
            program_of(a, d, &pf->entries[i], i, count, &e, &n, d->procfile), programs++;
    }
    if (d->only && !programs) {
        diag_add(diags, DIAG_ERROR, DIAG_SYNTAX, d->procfile, 0, "--only %s: no such entry", d->only);
        return arena_free(a), -EINVAL;
    }
    r = config_build(d->procfile, e, n, out, diags);
    arena_free(a);
    return r;
}

static int load_config(const void *ctx, struct config **out, struct diag_list *diags)
{
    const struct dev *d = ctx;
    return config_load(d->config, out, diags);
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
          "                [--watch] [--only NAME] [-t]\n",
          out);
    return status;
}

static int parse(struct dev *d, int argc, char **argv)
{
    static const struct option opts[] = {
        {"watch", no_argument, NULL, 'w'}, {"only", required_argument, NULL, 'o'},
        {"timestamps", no_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'}, {0}};
    for (int ch; (ch = getopt_long(argc, argv, "c:f:e:m:p:th", opts, NULL)) != -1;) {
        switch (ch) {
        case 'c': d->config = optarg; break;
        case 'f': d->procfile = optarg; break;
        case 'e': d->envfile = optarg; break;
        case 'm': d->formation = optarg; break;
        case 'p':
            if (strconv_long(optarg, 1, 65535, &d->port_base) < 0)
                return -1;
            break;
        case 'w': d->watch = true; break;
        case 'o': d->only = optarg; break;
        case 't': d->timestamps = true; break;
        case 'h': return 1; /* asked for: usage on stdout, exit 0 */
        default: return -1;
        }
    }
    return optind == argc && !(d->config && d->procfile) ? 0 : -1;
}

int dev_main(int argc, char **argv)
{
    struct dev d = {.port_base = 5000};
    int asked = parse(&d, argc, argv);
    if (asked)
        return asked > 0 ? usage(stdout, 0) : usage(stderr, 2);
    if (!d.config && !d.procfile && access("tend.ini", R_OK) == 0)
        d.config = "tend.ini";
    if (!d.config && !d.procfile)
        d.procfile = "Procfile";
    char *where = realpath(d.config ? d.config : d.procfile, NULL);
    snprintf(d.dir, sizeof(d.dir), "%s", where ? dirname(where) : ".");
    free(where);
    /* one per project: two projects' tend dev run side by side */
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    unsigned h = 5381;
    for (const char *c = d.dir; *c; c++)
        h = h * 33 + (unsigned char)*c;
    if (xdg && *xdg)
        snprintf(d.socket, sizeof(d.socket), "%s/tend-dev-%u-%08x.sock", xdg, (unsigned)getuid(), h);
    else /* in tend's private directory (made 0700 and checked): never a name in /tmp */
        snprintf(d.socket, sizeof(d.socket), "/tmp/tend-%u/dev-%08x.sock", (unsigned)geteuid(), h);
    if (load_env(&d) < 0)
        return 1;
    pid1_setup();
    struct run_opts o = {
        .path = d.config ? d.config : d.procfile, .load = d.config ? load_config : load_procfile,
        .ctx = &d, .dev = true, .colors = isatty(STDOUT_FILENO) && !getenv("NO_COLOR"),
        .timestamps = d.timestamps, .watch_all = d.watch, .only = d.config ? d.only : NULL,
        .base_dir = d.dir,
    };
    return run_with(&o);
}
