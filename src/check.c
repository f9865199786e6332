/* check: loads a config as tend would, shows what it would run, and says what starting
 * on this machine would run into (host checks). */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "nginx_conf.h"
#include "ports.h"
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

/* ---- host checks: what starting here would run into, said before it does ---- */

static void host_warn(struct diag_list *d, const struct config *c, struct config_at at,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void host_warn(struct diag_list *d, const struct config *c, struct config_at at,
                      const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    diag_add(d, DIAG_WARNING, DIAG_HOST, at.file ? at.file : c->path, at.line, "%s", msg);
}

/* Streams tend writes anyway (run.c's own_stream): no file to open. */
static bool is_stream(const char *path)
{
    static const char *const streams[] = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/fd/1",
                                          "/dev/fd/2"};
    for (unsigned i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
        if (!strcmp(path, streams[i]))
            return true;
    return false;
}

/* A file of tend's own ([tend] logfile, pidfile): tend makes the file, not its
 * directory (and rotates a log there). fallout: what tend does when it cannot. */
static void check_file_dir(const struct config *c, struct diag_list *d, const char *key,
                           const char *path, struct config_at at, const char *fallout)
{
    struct stat st;
    char *copy = strdup(path), *dir = copy ? dirname(copy) : NULL;
    if (!dir)
        return;
    if (stat(dir, &st) < 0)
        host_warn(d, c, at, "%s: directory '%s' does not exist: %s", key, dir, fallout);
    else if (!S_ISDIR(st.st_mode))
        host_warn(d, c, at, "%s: '%s' is not a directory: %s", key, dir, fallout);
    else if (access(dir, W_OK | X_OK) < 0)
        host_warn(d, c, at, "%s: tend (uid %d) cannot write in '%s': %s", key, (int)geteuid(),
                  dir, fallout);
    free(copy);
}

static void check_own_files(const struct config *c, struct diag_list *d)
{
    const struct tend_cfg *t = &c->tend;
    if (t->logfile && !is_stream(t->logfile) && config_log_kind(t->logfile) == LOG_KIND_FILE)
        check_file_dir(c, d, "logfile", t->logfile, t->logfile_at,
                       "tend would log to stderr only");
    if (t->pidfile)
        check_file_dir(c, d, "pidfile", t->pidfile, t->pidfile_at, "tend would not write it");
}

/* The nearest directory of path (or path itself) that exists. */
static bool nearest_existing(char *path, struct stat *st)
{
    while (stat(path, st) < 0) {
        char *slash = strrchr(path, '/');
        if (!slash)
            return false;
        slash == path ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
    }
    return true;
}

/* Is someone answering on the socket already? Another tend: this one would not start. */
static bool socket_answers(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return false;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool up = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    if (fd >= 0)
        close(fd);
    return up;
}

/* The socket's directory as control.c's open_dir will find it: tend's or root's and
 * writable by nobody else (unless sticky), or missing where tend can make it. */
static void check_socket_dir(const struct config *c, struct diag_list *d, char *dir)
{
    const struct config_at at = c->tend.socket_at;
    struct stat st;
    char *parent = strdup(dir);
    if (!parent)
        return;
    if (stat(dir, &st) < 0) {
        if (nearest_existing(parent, &st) && access(parent, W_OK | X_OK) < 0)
            host_warn(d, c, at,
                      "socket: directory '%s' does not exist, and tend (uid %d) cannot make it "
                      "in '%s': tendctl could not reach tend",
                      dir, (int)geteuid(), parent);
    } else if (!S_ISDIR(st.st_mode)) {
        host_warn(d, c, at, "socket: '%s' is not a directory", dir);
    } else if (st.st_uid != geteuid() && st.st_uid != 0) {
        host_warn(d, c, at,
                  "socket: directory '%s' belongs to uid %d, not to tend (uid %d) or root: "
                  "tend would not start",
                  dir, (int)st.st_uid, (int)geteuid());
    } else if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
        host_warn(d, c, at,
                  "socket: directory '%s' can be written by other users: tend would not start",
                  dir);
    } else if (access(dir, W_OK | X_OK) < 0) {
        host_warn(d, c, at, "socket: tend (uid %d) cannot write in '%s'", (int)geteuid(), dir);
    }
    free(parent);
}

static void check_socket(const struct config *c, struct diag_list *d)
{
    char *copy = strdup(c->tend.socket), *slash = copy ? strrchr(copy, '/') : NULL;
    if (slash)
        check_socket_dir(c, d, slash == copy ? "/" : (*slash = '\0', copy));
    free(copy);
}

/* Each process's port: one in use makes that process fail to listen. A few are named,
 * the rest counted: a program of 5,000 processes would say one line per port. */
static void check_ports(const struct config *c, struct diag_list *d)
{
    enum { NAMED = 8 };
    for (int i = 0; i < c->nprograms; i++) {
        const struct program_cfg *p = &c->programs[i];
        struct config_at at = config_program_key_at(p, "port");
        int held = 0;
        char who[128];
        for (int j = 0; p->port && j < p->nprocs; j++) {
            if (ports_holder(p->procs[j].port, who, sizeof(who)) != 1 || held++ >= NAMED)
                continue;
            host_warn(d, c, at, "port %d is in use by %s: %s would fail to listen on it",
                      p->procs[j].port, who, p->procs[j].name);
        }
        if (held > NAMED)
            host_warn(d, c, at, "port: %d more ports of [program:%s] are in use on this host",
                      held - NAMED, p->name);
    }
    char who[128];
    if (c->nginx && c->nginx->mode == NGINX_FULL && c->nginx->listen_port &&
        ports_holder(c->nginx->listen_port, who, sizeof(who)) == 1) /* else: as meant */
        host_warn(d, c, (struct config_at){c->nginx->file, c->nginx->line},
                  "port %d is in use by %s: nginx would fail to listen on it",
                  c->nginx->listen_port, who);
}

/* A tend that answers on the socket most likely runs this very config (checked before
 * a reload): its socket and ports are in use by it, which is no problem of the file's.
 * Returns whether they were checked. */
static bool check_host(const struct config *c, struct diag_list *d)
{
    check_own_files(c, d);
    if (socket_answers(c->tend.socket))
        return false;
    check_socket(c, d);
    check_ports(c, d);
    return true;
}

/* The last line: the counts, and what was not looked at. */
static void summary(const char *path, const struct diag_list *d, bool ok, const char *running)
{
    if (ok)
        fprintf(stderr, "%s: ok, %d warning(s)", path, diag_warnings(d));
    else
        fprintf(stderr, "%s: %d error(s), %d warning(s)", path, diag_errors(d),
                diag_warnings(d));
    if (running)
        fprintf(stderr, " (a tend answers on '%s': its socket and ports were not checked)",
                running);
    fputc('\n', stderr);
}

static void print_nginx(const struct config *c)
{
    char *text = render(c);
    printf("\n# %s, with every worker ready:\n%s", c->nginx->config, text ? text : "");
    free(text);
}

static int usage(FILE *out, int status)
{
    fputs("usage: tend check [-c FILE] [--strict]\n", out);
    return status;
}

int check_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"strict", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'}, {0}};
    const char *path = NULL;
    struct diag_list diags = {0};
    for (int ch; (ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1;) {
        if (ch == 'c')
            path = optarg;
        else if (ch == 's')
            diags.strict = true;
        else
            return ch == 'h' ? usage(stdout, 0) : usage(stderr, 2);
    }
    if (optind != argc)
        return usage(stderr, 2);
    if (!path && !(path = config_find())) {
        fputs("tend: no config file: give -c FILE, set TEND_CONFIG, or create ./tend.ini\n",
              stderr);
        return 1;
    }
    struct config *c = NULL;
    const char *running = NULL;
    int r = config_load(path, &c, &diags);
    if (r == 0 && !check_host(c, &diags))
        running = c->tend.socket;
    if (r == 0 && c->nginx)
        check_nginx(c, &diags);
    if (r == 0 && diag_errors(&diags)) /* --strict, and nginx refused */
        r = -EINVAL;
    diag_print(&diags, stderr);
    if (r < 0) {
        summary(path, &diags, false, running);
        diag_clear(&diags);
        config_free(c); /* loaded, when only nginx -t refused it */
        return 1;
    }
    print_table(c);
    if (c->nginx)
        print_nginx(c);
    summary(path, &diags, true, running);
    config_free(c);
    diag_clear(&diags);
    return 0;
}
