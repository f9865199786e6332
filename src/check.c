/* check: loads a config as tend would and shows what it would run. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "nginx_conf.h"
#include "reaper.h"
#include "shellwords.h"
#include "spawn.h"

extern char **environ;

/* Each word quoted as shellwords_split reads it back, whatever its length (a quoted
 * word takes at most 4 bytes per byte, and its quotes). */
static void print_argv(char *const *argv)
{
    for (int i = 0; argv[i]; i++) {
        size_t len = 4 * strlen(argv[i]) + 3;
        char *word = calloc(1, len);
        if (!word)
            return;
        shellwords_quote(argv[i], word, len);
        printf("%s%s", i ? " " : "", word);
        free(word);
    }
}

static void print_process(const struct program_cfg *p, const struct proc_cfg *proc, int width)
{
    char port[8] = "-";
    if (proc->port)
        snprintf(port, sizeof(port), "%d", proc->port);
    printf("%-*s  %-5s  %8d  %-9s  %-10s  %-20s  ", width, proc->name, port, p->priority,
           p->autostart ? "yes" : "no", p->user ? p->user : "-",
           proc->directory ? proc->directory : "-");
    print_argv(proc->argv);
    if (proc->problem)
        printf("  [will not run: %s]", proc->problem);
    putchar('\n');
}

static void print_table(const struct config *c)
{
    int width = 4;
    for (int i = 0; i < c->nprograms; i++)
        for (int j = 0; j < c->programs[i].nprocs; j++) {
            int n = (int)strlen(c->programs[i].procs[j].name);
            width = n > width ? n : width;
        }
    printf("%-*s  %-5s  %8s  %-9s  %-10s  %-20s  %s\n", width, "NAME", "PORT", "PRIORITY",
           "AUTOSTART", "USER", "DIRECTORY", "COMMAND");
    for (int i = 0; i < c->nprograms; i++)
        for (int j = 0; j < c->programs[i].nprocs; j++)
            print_process(&c->programs[i], &c->programs[i].procs[j], width);
}

/* The nginx config for c with every worker ready. */
static char *render(const struct config *c)
{
    int n = c->nginx->nroutes, total = 0, used = 0;
    for (int r = 0; r < n; r++)
        total += config_program(c, c->nginx->routes[r].program)->nprocs;
    struct nginx_pool *pools = calloc((size_t)n + 1, sizeof(*pools));
    int *ports = calloc((size_t)total + 1, sizeof(*ports));
    char *text = NULL;
    for (int r = 0; pools && ports && r < n; r++) {
        const struct program_cfg *p = config_program(c, c->nginx->routes[r].program);
        pools[r] = (struct nginx_pool){.program = p->name, .ports = ports + used};
        for (int i = 0; i < p->nprocs; i++, used++, pools[r].nports++)
            ports[used] = p->procs[i].port;
    }
    if (pools && ports)
        text = nginx_conf_render(c, pools, n);
    free(pools);
    free(ports);
    return text;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

/* nginx -t on the config as it would be written to dir/nginx.conf (its pid and
 * temp paths in dir too). Returns what nginx said when it refused, else NULL
 * (also when nginx cannot be run here: that is warned about as a command). */
static const char *nginx_refusal(const struct config *c, const char *dir, char *say, size_t len)
{
    const struct program_cfg *p = config_program(c, c->nginx->program);
    char file[64], *argv[] = {p->procs[0].argv[0], "-t", "-c", file, NULL};
    struct nginx_cfg moved = *c->nginx;
    struct config copy = *c;
    snprintf(file, sizeof(file), "%s/nginx.conf", dir);
    moved.config = file;
    copy.nginx = &moved;
    char *text = render(&copy);
    /* dir is tend check's own mkdtemp; a fresh file all the same (STYLE rule 13) */
    int fd = text ? open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    bool written = f && fputs(text, f) >= 0;
    free(text);
    int fds[2];
    if (!f || fclose(f) != 0 || !written || pipe2(fds, O_CLOEXEC) < 0)
        return snprintf(say, len, "cannot write '%s'", file), say;
    struct spawn_opts o = {.argv = argv, .envp = environ, .umask = -1, .fds = {-1, fds[1], fds[1]}};
    pid_t pid = 0;
    int r = spawn_process(&o, &pid, say, len);
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while (r == 0 && got < len - 1 && (n = read(fds[0], say + got, len - 1 - got)) > 0)
        got += (size_t)n; /* until nginx exits: a line or two */
    close(fds[0]);
    int status = pid > 0 ? reaper_wait(pid) : -1;
    if (r < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
        return NULL;
    say[got] = '\0';
    char *line = strstr(say, "[emerg]"), *what = line ? strstr(line, ": ") : NULL;
    line = what ? what + 2 : say; /* past "[emerg] PID#TID: " */
    line[strcspn(line, "\n")] = '\0';
    return line;
}

/* A full-mode config goes through nginx -t where nginx is installed: a refusal is
 * a warning about this host's nginx (an error with --strict). */
static void check_nginx(const struct config *c, struct diag_list *d)
{
    char dir[] = "/tmp/tend-check-XXXXXX", say[1024];
    const char *why;
    if (c->nginx->mode != NGINX_FULL || !config_program(c, c->nginx->program) || !mkdtemp(dir))
        return;
    if ((why = nginx_refusal(c, dir, say, sizeof(say))))
        diag_add(d, DIAG_WARNING, DIAG_HOST, c->nginx->file, c->nginx->line,
                 "nginx -t refuses the generated config: %s", why);
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void print_nginx(const struct config *c)
{
    char *text = render(c);
    printf("\n# %s, with every worker ready:\n%s", c->nginx->config, text ? text : "");
    free(text);
}

static int usage(void)
{
    fputs("usage: tend check [-c FILE] [--strict]\n", stderr);
    return 2;
}

int check_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"strict", no_argument, NULL, 's'}, {0}};
    const char *path = NULL;
    struct diag_list diags = {0};
    for (int ch; (ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1;) {
        if (ch == 'c')
            path = optarg;
        else if (ch == 's')
            diags.strict = true;
        else
            return usage();
    }
    if (optind != argc)
        return usage();
    if (!path && !(path = config_find())) {
        fputs("tend: no config file: give -c FILE, set TEND_CONFIG, or create ./tend.ini\n",
              stderr);
        return 1;
    }
    struct config *c = NULL;
    int r = config_load(path, &c, &diags);
    if (r == 0 && c->nginx)
        check_nginx(c, &diags);
    if (r == 0 && diag_errors(&diags)) /* --strict, and nginx refused */
        r = -EINVAL;
    diag_print(&diags, stderr);
    if (r < 0) {
        fprintf(stderr, "%s: %d error(s), %d warning(s)\n", path, diag_errors(&diags),
                diag_warnings(&diags));
        diag_clear(&diags);
        config_free(c); /* loaded, when only nginx -t refused it */
        return 1;
    }
    print_table(c);
    if (c->nginx)
        print_nginx(c);
    fprintf(stderr, "%s: ok, %d warning(s)\n", path, diag_warnings(&diags));
    config_free(c);
    diag_clear(&diags);
    return 0;
}
