/* config_program: [program:x] sections, the expansion of their processes, and
 * finding programs and processes in a snapshot. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_int.h"
#include "cpus.h"
#include "envlist.h"
#include "shellwords.h"
#include "strconv.h"

enum { MAX_NUMPROCS = 100000 };

#define PROG(field) offsetof(struct program_cfg, field)
#define CAPTURE "capture mode (supervisord's PROCESS_COMMUNICATION events) is not supported"
#define SYSLOG "output does not go to syslog (tend writes it to its stdout, log files or streams)"
const struct key_def config_program_keys[] = {
    {"command", KT_PROCESS},
    {"process_name", KT_PROCESS},
    {"numprocs", KT_CUSTOM},
    {"numprocs_start", KT_CUSTOM},
    {"priority", KT_INT, PROG(priority), INT_MIN, INT_MAX},
    {"autostart", KT_BOOL, PROG(autostart)},
    {"autorestart", KT_CUSTOM},
    {"startsecs", KT_MS, PROG(startsecs_ms)},
    {"startretries", KT_CUSTOM},
    {"exitcodes", KT_CUSTOM},
    {"stopsignal", KT_SIGNAL, PROG(stopsignal)},
    {"stopwaitsecs", KT_MS, PROG(stopwait_ms)},
    {"stopasgroup", KT_BOOL, PROG(stopasgroup)},
    {"killasgroup", KT_BOOL, PROG(killasgroup)},
    {"user", KT_CUSTOM},
    {"redirect_stderr", KT_BOOL, PROG(redirect_stderr)},
    {"stdout_logfile", KT_PROCESS},
    {"stdout_logfile_maxbytes", KT_SIZE, PROG(stdout_maxbytes)},
    {"stdout_logfile_backups", KT_INT, PROG(stdout_backups), 0, 1000},
    {"stderr_logfile", KT_PROCESS},
    {"stderr_logfile_maxbytes", KT_SIZE, PROG(stderr_maxbytes)},
    {"stderr_logfile_backups", KT_INT, PROG(stderr_backups), 0, 1000},
    {"stdout_logfile_type", KT_CUSTOM},
    {"stderr_logfile_type", KT_CUSTOM},
    {"environment", KT_PROCESS},
    {"directory", KT_PROCESS},
    {"umask", KT_OCTAL, PROG(umask), 0, 0777},
    {"port", KT_CUSTOM},
    {"port_env", KT_STR, PROG(port_env)},
    {"ready", KT_CUSTOM},
    {"ready_timeout", KT_MS, PROG(ready_timeout_ms)},
    {"depends_on", KT_CUSTOM},
    {"restart_delay", KT_MS, PROG(restart_delay_ms)},
    {"restart_delay_max", KT_MS, PROG(restart_delay_max_ms)},
    {"restart_delay_reset", KT_MS, PROG(restart_delay_reset_ms)},
    {"critical", KT_BOOL, PROG(critical)},
    {"watch", KT_LIST, PROG(watch)},
    {"health", KT_CUSTOM},
    {"health_interval", KT_MS, PROG(health.interval_ms)},
    {"health_timeout", KT_MS, PROG(health.timeout_ms)},
    {"health_failures", KT_INT, PROG(health.failures), 1, 1000},
    {"health_start_period", KT_MS, PROG(health.start_ms)},
    {"watchdog", KT_MS, PROG(watchdog_ms)},
    /* supervisord's, without effect here: said, unless the value asks for what tend does */
    {"stdout_capture_maxbytes", KT_IGNORED, .fine = FINE_ZERO, .why = CAPTURE},
    {"stdout_events_enabled", KT_CUSTOM}, /* see check_events() */
    {"stdout_syslog", KT_IGNORED, .fine = FINE_FALSE, .why = SYSLOG},
    {"stderr_capture_maxbytes", KT_IGNORED, .fine = FINE_ZERO, .why = CAPTURE},
    {"stderr_events_enabled", KT_CUSTOM},
    {"stderr_syslog", KT_IGNORED, .fine = FINE_FALSE, .why = SYSLOG},
    {"serverurl", KT_IGNORED,
     .why = "it points programs at supervisord's XML-RPC interface, which tend does not serve"},
    {NULL},
};

static void defaults(struct program_cfg *p, struct arena *a)
{
    p->priority = 999;
    p->numprocs = 1;
    p->autostart = true;
    p->autorestart = AUTORESTART_UNEXPECTED;
    p->startsecs_ms = 1000;
    p->startretries = 3;
    p->exitcodes[0] = 1; /* exit status 0 */
    p->stopsignal = SIGTERM;
    p->stopwait_ms = 10000;
    p->umask = -1;
    p->port_env = "PORT";
    p->stdout_maxbytes = p->stderr_maxbytes = 50 << 20;
    p->stdout_backups = p->stderr_backups = 10;
    p->stdout_kind = p->stderr_kind = -1;
    p->ready_timeout_ms = 60000;
    p->restart_delay_ms = 100;
    p->restart_delay_max_ms = 30000;
    p->restart_delay_reset_ms = 10000;
    p->health.interval_ms = 10000; /* Docker's and Kubernetes' 10 s and 3 failures */
    p->health.timeout_ms = 2000;
    p->health.failures = 3;
    p->watch = arena_alloc(a, sizeof(char *));
    p->depends_on = arena_alloc(a, sizeof(struct dependency));
}

static int error_at(struct loader *L, const struct ini_entry *e, const char *msg, const char *v)
{
    diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e->file, e->line, "%s: %s '%s'", e->key, msg, v);
    return -EINVAL;
}

/* ---- numprocs, numprocs_start and port: read before anything can refer to them ---- */

static int early_key(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                     const struct expand_var *vars, int nvars)
{
    const char *problem = NULL;
    char *v = config_expand(L, e, vars, nvars, &problem);
    long n;
    if (!v)
        return -EINVAL;
    if (problem) /* keep the default: the program will not run anyway */
        return p->problem = problem, 0;
    if (!strcmp(e->key, "numprocs") && !strcmp(v, "auto"))
        return p->numprocs = cpus_usable(), 0;
    if (!strcmp(e->key, "numprocs")) {
        if (strconv_long(v, 1, MAX_NUMPROCS, &n) < 0)
            return error_at(L, e, "expected 'auto' or a number from 1 to 100000, not", v);
        return p->numprocs = (int)n, 0;
    }
    if (!strcmp(e->key, "numprocs_start")) {
        if (strconv_long(v, 0, INT_MAX / 2, &n) < 0)
            return error_at(L, e, "expected a number from 0, not", v);
        return p->numprocs_start = (int)n, 0;
    }
    if (strconv_long(v, 1, 65535, &n) < 0)
        return error_at(L, e, "expected a port from 1 to 65535, not", v);
    return p->port = (int)n, 0;
}

static void load_early(struct loader *L, struct program_cfg *p, const struct ini_section *s)
{
    static const char *const keys[] = {"numprocs", "numprocs_start", "port"};
    struct expand_var vars[] = {{.name = "program_name", .str = p->name},
                                {.name = "group_name", .str = p->group}};
    for (int i = 0; i < 3; i++) {
        const struct ini_entry *e = ini_get(s, keys[i]);
        if (e)
            early_key(L, p, e, vars, 2);
    }
    const struct ini_entry *e = ini_get(s, "port");
    if (p->port && p->port + p->numprocs - 1 > 65535)
        diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e->file, e->line,
                 "port: %d processes from port %d run past 65535", p->numprocs, p->port);
}

/* ---- keys with a syntax of their own ---- */

static int set_autorestart(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                           const char *v)
{
    bool b;
    if (!strcasecmp(v, "unexpected"))
        return p->autorestart = AUTORESTART_UNEXPECTED, 0;
    if (strconv_bool(v, &b) < 0)
        return error_at(L, e, "expected true, false or unexpected, not", v);
    p->autorestart = b ? AUTORESTART_TRUE : AUTORESTART_FALSE;
    return 0;
}

static int set_startretries(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                            const char *v)
{
    long n;
    if (!strcasecmp(v, "unlimited"))
        return p->startretries = -1, 0;
    if (strconv_long(v, 0, INT_MAX, &n) < 0)
        return error_at(L, e, "expected a number or 'unlimited', not", v);
    return p->startretries = (int)n, 0;
}

static int set_exitcodes(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                         const char *v)
{
    long n;
    memset(p->exitcodes, 0, sizeof(p->exitcodes));
    for (const char **c = config_split_list(L->a, v); *c; c++) {
        if (strconv_long(*c, 0, 255, &n) < 0)
            return error_at(L, e, "expected exit statuses from 0 to 255, not", *c);
        p->exitcodes[n / 8] |= (uint8_t)(1 << (n % 8));
    }
    return 0;
}

static int set_user(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                    const char *v)
{
    long uid;
    struct passwd *pw = strconv_long(v, 0, INT_MAX, &uid) == 0 ? getpwuid((uid_t)uid) : getpwnam(v);
    p->user = v;
    if (!pw) {
        diag_add(L->d, DIAG_WARNING, DIAG_HOST, e->file, e->line, "user: '%s' does not exist", v);
        if (!p->problem)
            p->problem = arena_printf(L->a, "user '%s' does not exist", v);
        return 0;
    }
    p->user = arena_strdup(L->a, pw->pw_name);
    p->uid = pw->pw_uid;
    p->gid = pw->pw_gid;
    if (p->uid != geteuid() && geteuid() != 0) /* spawn's setuid would fail: say it now */
        diag_add(L->d, DIAG_WARNING, DIAG_HOST, e->file, e->line,
                 "user = %s: tend runs as uid %d, not root, and cannot switch users: this "
                 "program would fail to start",
                 p->user, (int)geteuid());
    return 0;
}

static int set_log_kind(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                        const char *v)
{
    static const char *const names[] = {"file", "fifo", "device"};
    int *kind = !strncmp(e->key, "stdout", 6) ? &p->stdout_kind : &p->stderr_kind;
    for (int i = 0; i < 3; i++)
        if (!strcmp(v, names[i]))
            return *kind = i, 0;
    return error_at(L, e, "expected file, fifo or device, not", v);
}

static int set_ready(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                     const char *v)
{
    if (!strcmp(v, "startsecs"))
        p->ready = READY_STARTSECS;
    else if (!strcmp(v, "tcp"))
        p->ready = READY_TCP;
    else if (!strcmp(v, "notify"))
        p->ready = READY_NOTIFY;
    else if (!strcmp(v, "http") || (!strncmp(v, "http:/", 6) && !strpbrk(v, " \t\r\n"))) {
        p->ready = READY_HTTP;
        p->ready_path = v[4] ? v + 5 : "/";
    } else
        return error_at(L, e, "expected startsecs, tcp, http:/PATH or notify, not", v);
    if (p->ready != READY_STARTSECS && p->ready != READY_NOTIFY && !p->port)
        return error_at(L, e, "needs a port= to probe:", v);
    return 0;
}

/* tcp and http as for ready; exec:COMMAND split as command is, run directly (a shell
 * when the command asks for one), as the program's user, with its environment. */
static int set_health(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                      const char *v)
{
    const char *err = NULL;
    int argc = 0;
    if (!strcmp(v, "none"))
        return p->health.kind = HEALTH_NONE, 0;
    if (!strncmp(v, "exec:", 5)) {
        if (shellwords_split(L->a, v + 5, &p->health.argv, &argc, &err) < 0 || argc == 0)
            return error_at(L, e, err ? err : "exec: needs a command:", v);
        return p->health.kind = HEALTH_EXEC, 0;
    }
    if (!strcmp(v, "tcp"))
        p->health.kind = HEALTH_TCP;
    else if (!strcmp(v, "http") || (!strncmp(v, "http:/", 6) && !strpbrk(v, " \t\r\n"))) {
        p->health.kind = HEALTH_HTTP;
        p->health.path = v[4] ? v + 5 : "/";
    } else
        return error_at(L, e, "expected none, tcp, http:/PATH or exec:COMMAND, not", v);
    if (!p->port)
        return error_at(L, e, "needs a port= to check:", v);
    return 0;
}

static const char *const dep_conds[] = {"ready", "started", "healthy", "completed",
                                        "succeeded", NULL};

const char *config_dep_cond_name(enum dep_cond c)
{
    return c <= DEP_SUCCEEDED ? dep_conds[c] : "?";
}

/* NAME or NAME:CONDITION, separated by commas or whitespace. Whether each NAME is a
 * program is checked once every section is read (check_depends). */
static int set_depends(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                       const char *v)
{
    const char **items = config_split_list(L->a, v);
    size_t n = 0;
    while (items[n])
        n++;
    struct dependency *d = arena_alloc(L->a, sizeof(*d) * (n + 1));
    for (size_t i = 0; i < n; i++) {
        char *name = arena_strdup(L->a, items[i]), *cond = strchr(name, ':');
        d[i] = (struct dependency){name, DEP_READY};
        if (!cond)
            continue;
        *cond++ = '\0';
        int k = 0;
        while (dep_conds[k] && strcmp(dep_conds[k], cond))
            k++;
        if (!*name || !dep_conds[k]) {
            const char *near = config_nearest(cond, dep_conds);
            diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e->file, e->line,
                     "depends_on: '%s': expected NAME or NAME:CONDITION (ready, started, "
                     "healthy, completed or succeeded)%s%s%s",
                     items[i], near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
            return -EINVAL;
        }
        d[i].cond = (enum dep_cond)k;
    }
    p->depends_on = d;
    return 0;
}

static int custom_key(struct loader *L, struct program_cfg *p, const struct ini_entry *e,
                      const char *v)
{
    static const struct {
        const char *key;
        int (*set)(struct loader *, struct program_cfg *, const struct ini_entry *, const char *);
    } setters[] = {{"autorestart", set_autorestart}, {"startretries", set_startretries},
                   {"exitcodes", set_exitcodes},     {"user", set_user},
                   {"ready", set_ready},             {"stdout_logfile_type", set_log_kind},
                   {"stderr_logfile_type", set_log_kind}, {"health", set_health},
                   {"depends_on", set_depends}};
    for (unsigned i = 0; i < sizeof(setters) / sizeof(setters[0]); i++)
        if (!strcmp(e->key, setters[i].key))
            return setters[i].set(L, p, e, v);
    return 0; /* per-process keys: see expand_process() */
}

static int program_vars(const struct program_cfg *p, int index, struct expand_var *vars)
{
    int n = 0;
    vars[n++] = (struct expand_var){.name = "program_name", .str = p->name};
    vars[n++] = (struct expand_var){.name = "group_name", .str = p->group};
    vars[n++] = (struct expand_var){.name = "process_num", .num = p->numprocs_start + index};
    vars[n++] = (struct expand_var){.name = "numprocs", .num = p->numprocs};
    if (p->port)
        vars[n++] = (struct expand_var){.name = "port", .num = p->port + index};
    return n;
}

static void load_keys(struct loader *L, struct program_cfg *p, const struct ini_section *s)
{
    struct expand_var vars[8];
    int nvars = program_vars(p, 0, vars);
    for (const struct ini_entry *e = s->entries; e; e = e->next) {
        const struct key_def *k = config_key(config_program_keys, e->key);
        if (!k || k->type == KT_PROCESS || !strcmp(e->key, "numprocs") ||
            !strcmp(e->key, "numprocs_start") || !strcmp(e->key, "port"))
            continue;
        const char *problem = NULL;
        char *v = config_expand(L, e, vars, nvars, &problem);
        if (problem && !p->problem)
            p->problem = problem;
        if (!v || problem)
            continue; /* an unset ENV_ leaves the default: see SPEC, host problems */
        if (k->type == KT_CUSTOM)
            custom_key(L, p, e, v);
        else
            config_set(L, e, v, k, p);
    }
    if (!ini_get(s, "killasgroup"))
        p->killasgroup = p->stopasgroup; /* supervisord's default */
    const struct ini_entry *w = ini_get(s, "watchdog");
    if (p->watchdog_ms && p->ready != READY_NOTIFY)
        diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, w->file, w->line,
                 "watchdog: needs ready = notify (WATCHDOG=1 comes through NOTIFY_SOCKET)");
}

/* ---- processes ---- */

static struct ini_entry *entry_or(struct loader *L, const struct program_cfg *p, const char *key,
                                  const char *fallback)
{
    struct ini_entry *e = ini_get(p->section, key);
    if (e || !fallback)
        return e;
    e = arena_alloc(L->a, sizeof(*e));
    *e = (struct ini_entry){.key = key, .value = fallback, .file = p->file, .line = p->line};
    return e;
}

/* A host problem is a warning; a lasting one (a log directory that is missing) also
 * keeps the process from running. A command or directory that is not there yet is
 * not lasting: an earlier program may make it, so the spawn tries and fails as
 * any start does (retried with backoff, FATAL after startretries, and tried again
 * by tendctl start). */
static void note_problem(struct loader *L, struct proc_cfg *proc, const struct ini_entry *e,
                         bool lasting, const char *fmt, const char *subject)
{
    diag_add(L->d, DIAG_WARNING, DIAG_HOST, e->file, e->line, fmt, subject);
    if (lasting && !proc->problem)
        proc->problem = arena_printf(L->a, fmt, subject);
}

static bool executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static const char *env_get(const char **env, const char *key)
{
    size_t n = strlen(key);
    for (; env && *env; env++)
        if (!strncmp(*env, key, n) && (*env)[n] == '=')
            return *env + n + 1;
    return NULL;
}

/* Looks for argv[0] as exec will: in the program's PATH, or relative to its directory. */
static void check_command(struct loader *L, struct proc_cfg *proc, const struct ini_entry *e)
{
    const char *cmd = proc->argv[0], *path = env_get(proc->env, "PATH");
    if (strchr(cmd, '/')) {
        const char *full = cmd[0] == '/' || !proc->directory
                               ? cmd
                               : arena_printf(L->a, "%s/%s", proc->directory, cmd);
        if (!executable(full))
            note_problem(L, proc, e, false, "command: '%s' is not an executable file", cmd);
        return;
    }
    path = path ? path : env_get(L->tend->env, "PATH");
    path = path ? path : getenv("PATH");
    path = path ? path : "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p; p += *p == ':') {
        size_t n = strcspn(p, ":");
        if (executable(arena_printf(L->a, "%.*s/%s", (int)(n ? n : 1), n ? p : ".", cmd)))
            return;
        p += n;
    }
    note_problem(L, proc, e, false, "command: '%s' not found in PATH", cmd);
}

/* Under /dev (but its world-writable /dev/shm and /dev/mqueue) and /proc, a path
 * names a terminal, a device or a process's descriptor: what the config means is a
 * stream there, a file anywhere else (stdout_logfile_type says otherwise). */
enum log_kind config_log_kind(const char *path)
{
    if (!strncmp(path, "/proc/", 6))
        return LOG_KIND_DEVICE;
    if (strncmp(path, "/dev/", 5) || !strncmp(path, "/dev/shm/", 9) ||
        !strncmp(path, "/dev/mqueue/", 12))
        return LOG_KIND_FILE;
    return LOG_KIND_DEVICE;
}

static int load_log(struct loader *L, struct proc_cfg *proc, const struct ini_entry *e,
                    const char *v, struct log_cfg *log, const char *stream, int kind)
{
    if (!strcmp(v, "/dev/stdout") || !strcmp(v, "/dev/fd/1"))
        log->target = LOG_TO_STDOUT;
    else if (!strcmp(v, "/dev/stderr") || !strcmp(v, "/dev/fd/2"))
        log->target = LOG_TO_STDERR;
    else if (!strcasecmp(v, "NONE") || !strcmp(v, "/dev/null"))
        log->target = LOG_TO_NONE;
    else if (!strcasecmp(v, "AUTO")) /* as supervisord's: NAME-stdout---tend-RANDOM.log */
        log->target = LOG_TO_FILE, log->auto_name = true,
        log->path = arena_printf(L->a, "%s/%s-%s---tend-",
                                 L->tend->childlogdir ? L->tend->childlogdir : "/tmp",
                                 proc->name, stream);
    else if (!*v)
        return error_at(L, e, "expected a path, AUTO or NONE, not", v);
    else
        log->target = LOG_TO_FILE, log->path = v;
    if (log->target != LOG_TO_FILE)
        return 0;
    log->kind = kind >= 0 ? (enum log_kind)kind : config_log_kind(log->path);
    if (log->auto_name && log->kind != LOG_KIND_FILE)
        return error_at(L, e, "AUTO is a file tend makes; the type says otherwise:", v);
    struct stat st;
    char *dir = dirname(arena_strdup(L->a, log->path));
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        note_problem(L, proc, e, true, "log directory '%s' does not exist", dir);
    return 0;
}

static int proc_name(struct loader *L, const struct program_cfg *p, struct proc_cfg *proc,
                     const struct expand_var *vars, int nvars)
{
    const char *tmpl = p->numprocs > 1 ? "%(program_name)s_%(process_num)02d" : "%(program_name)s";
    struct ini_entry *e = entry_or(L, p, "process_name", tmpl);
    if (p->numprocs > 1 && !strstr(e->value, "%(process_num)"))
        return error_at(L, e, "must contain %(process_num) when numprocs > 1:", e->value);
    proc->name = config_expand(L, e, vars, nvars, &proc->problem);
    if (!proc->name)
        return -EINVAL;
    for (const char *c = proc->name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("_-.@+:", *c))
            return error_at(L, e, "use letters, digits and _-.@+: in process names, not",
                            proc->name);
    return *proc->name ? 0 : error_at(L, e, "empty process name", "");
}

static int proc_command(struct loader *L, const struct program_cfg *p, struct proc_cfg *proc,
                        const struct expand_var *vars, int nvars)
{
    struct ini_entry *e = ini_get(p->section, "command");
    const char *err;
    if (!e) {
        diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, p->file, p->line, "[program:%s] has no command",
                 p->name);
        return -EINVAL;
    }
    char *v = config_expand(L, e, vars, nvars, &proc->problem);
    int argc;
    if (!v)
        return -EINVAL;
    if (shellwords_split(L->a, v, &proc->argv, &argc, &err) < 0)
        return error_at(L, e, err, e->value);
    return *proc->argv[0] ? 0 : error_at(L, e, "empty command", e->value);
}

static int proc_env(struct loader *L, const struct program_cfg *p, struct proc_cfg *proc,
                    const struct expand_var *vars, int nvars)
{
    struct ini_entry *e = ini_get(p->section, "environment");
    const char *err;
    char *v = e ? config_expand(L, e, vars, nvars, &proc->problem) : "";
    if (!v || envlist_parse(L->a, v, &proc->env, &err) < 0)
        return v ? error_at(L, e, err, e->value) : -EINVAL;
    if (proc->port)
        proc->env = envlist_set(L->a, proc->env, arena_printf(L->a, "%s=%d", p->port_env, proc->port));
    return 0;
}

static int proc_directory(struct loader *L, const struct program_cfg *p, struct proc_cfg *proc,
                          const struct expand_var *vars, int nvars)
{
    struct ini_entry *e = ini_get(p->section, "directory");
    const char *problem = NULL;
    struct stat st;
    if (!e)
        return 0;
    if (!(proc->directory = config_expand(L, e, vars, nvars, &problem)))
        return -EINVAL;
    if (problem && !proc->problem)
        proc->problem = problem;
    else if (!problem && (stat(proc->directory, &st) < 0 || !S_ISDIR(st.st_mode)))
        note_problem(L, proc, e, false, "directory: '%s' does not exist", proc->directory);
    return 0;
}

static int proc_logs(struct loader *L, const struct program_cfg *p, struct proc_cfg *proc,
                     const struct expand_var *vars, int nvars)
{
    static const char *const keys[] = {"stdout_logfile", "stderr_logfile"};
    struct log_cfg *logs[] = {&proc->out, &proc->err};
    const int kinds[] = {p->stdout_kind, p->stderr_kind};
    proc->out = (struct log_cfg){LOG_TO_TEND, NULL, p->stdout_maxbytes, p->stdout_backups};
    proc->err = (struct log_cfg){LOG_TO_TEND, NULL, p->stderr_maxbytes, p->stderr_backups};
    for (int i = 0; i < 2; i++) {
        struct ini_entry *e = ini_get(p->section, keys[i]);
        const char *problem = NULL;
        char *v = e ? config_expand(L, e, vars, nvars, &problem) : NULL;
        if (e && !v)
            return -EINVAL;
        if (problem && !proc->problem)
            proc->problem = problem;
        else if (v && !problem && load_log(L, proc, e, v, logs[i], i ? "stderr" : "stdout", kinds[i]) < 0)
            return -EINVAL;
    }
    return 0;
}

static bool str_equal(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static int expand_process(struct loader *L, const struct program_cfg *p, int index,
                          struct proc_cfg *proc)
{
    struct expand_var vars[8];
    int nvars = program_vars(p, index, vars);
    proc->num = p->numprocs_start + index;
    proc->port = p->port ? p->port + index : 0;
    proc->problem = p->problem;
    int r = proc_name(L, p, proc, vars, nvars); /* every step, to report every error */
    r |= proc_command(L, p, proc, vars, nvars);
    r |= proc_env(L, p, proc, vars, nvars);
    r |= proc_directory(L, p, proc, vars, nvars);
    r |= proc_logs(L, p, proc, vars, nvars);
    if (r < 0)
        return -EINVAL;
    const struct proc_cfg *first = index > 0 ? &p->procs[0] : NULL;
    if (first && first->argv && !strcmp(first->argv[0], proc->argv[0]) &&
        str_equal(first->directory, proc->directory))
        proc->problem = proc->problem ? proc->problem : first->problem; /* the same lookup */
    else if (!proc->problem)
        check_command(L, proc, ini_get(p->section, "command"));
    return 0;
}

/* Process 0 reports what it finds; the others would only repeat it, so their
 * warnings go to a scratch list and only errors are passed on. */
static int expand_all(struct loader *L, struct program_cfg *p)
{
    p->procs = arena_alloc(L->a, sizeof(struct proc_cfg) * (size_t)p->numprocs);
    p->nprocs = p->numprocs;
    struct diag_list *real = L->d, scratch = {0};
    int r = 0;
    for (int i = 0; i < p->nprocs && r == 0; i++) {
        L->d = i == 0 ? real : &scratch;
        r = expand_process(L, p, i, &p->procs[i]);
    }
    L->d = real;
    if (diag_errors(&scratch))
        diag_add(real, DIAG_ERROR, DIAG_SYNTAX, scratch.items[0].file, scratch.items[0].line, "%s",
                 scratch.items[0].msg);
    diag_clear(&scratch);
    return r;
}

/* Where a stream's output goes, said for a supervisord listener that will not get it. */
static const char *stream_goes(struct loader *L, const struct program_cfg *p, const char *stream)
{
    bool redirected = !strcmp(stream, "stderr") && p->redirect_stderr;
    const char *key = redirected ? "stdout_logfile" : arena_printf(L->a, "%s_logfile", stream);
    const struct ini_entry *e = ini_get(p->section, key);
    if (!e)
        return arena_printf(L->a, "; tend writes this output to its own %s, each line prefixed "
                                  "with the process name (what a PROCESS_LOG listener such as "
                                  "supervisor_stdout is for)",
                            redirected ? "stdout" : stream);
    if (!strcasecmp(e->value, "NONE") || !strcmp(e->value, "/dev/null"))
        return arena_printf(L->a, ", and with %s = %s this output goes nowhere (leave %s "
                                  "unset to have tend write it to its own %s)",
                            key, e->value, key, redirected ? "stdout" : stream);
    return arena_printf(L->a, "; this output goes only where %s = %s says", key, e->value);
}

/* stdout_events_enabled: supervisord hands the output to a PROCESS_LOG listener, which
 * tend does not run; what becomes of the output depends on the stream's log file. */
static void check_events(struct loader *L, const struct program_cfg *p)
{
    static const char *const streams[] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        const struct ini_entry *e =
            ini_get(p->section, arena_printf(L->a, "%s_events_enabled", streams[i]));
        const char *problem = NULL;
        char *v = e ? config_expand(L, e, NULL, 0, &problem) : NULL;
        bool on;
        if (!v || problem)
            continue;
        if (strconv_bool(v, &on) < 0)
            error_at(L, e, "not a boolean:", v);
        else if (on)
            diag_add(L->d, DIAG_WARNING, DIAG_UNKNOWN, e->file, e->line,
                     "%s = %s: not used: supervisord's events are not supported%s", e->key, v,
                     stream_goes(L, p, streams[i]));
    }
}

static void check_program(struct loader *L, struct program_cfg *p)
{
    check_events(L, p);
    const struct ini_entry *e = ini_get(p->section, "port_env");
    for (const char *c = p->port_env; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_') {
            error_at(L, e, "not a variable name:", p->port_env);
            break;
        }
}

int config_load_program(struct loader *L, struct ini_section *s, const char *name,
                        const char *group)
{
    struct program_cfg *p = &L->c->programs[L->c->nprograms++];
    int before = diag_errors(L->d);
    defaults(p, L->a);
    p->name = name;
    p->group = group;
    p->file = s->file;
    p->line = s->line;
    p->section = s;
    config_check_keys(L, s, config_program_keys);
    load_early(L, p, s);
    load_keys(L, p, s);
    check_program(L, p);
    int r = expand_all(L, p); /* even after an error, to report the processes' own */
    return r < 0 || diag_errors(L->d) > before ? -EINVAL : 0;
}

const struct proc_cfg *config_expand_process(const struct config *c, const struct program_cfg *p,
                                             int index, struct arena *a, const char **err)
{
    static struct diag_list d; /* static: kept as it is across a longjmp */
    struct loader L = {.tend = &c->tend, .a = a, .d = &d, .hostname = "localhost"};
    jmp_buf oom;
    if (setjmp(oom)) { /* what was put in a stays until a goes: a scale's overlay */
        arena_on_oom(a, NULL);
        diag_clear(&d);
        *err = "out of memory";
        return NULL;
    }
    arena_on_oom(a, &oom);
    struct proc_cfg *proc = arena_alloc(a, sizeof(*proc));
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    L.hostname = arena_strdup(a, host);
    int r = expand_process(&L, p, index, proc);
    if (r < 0 || diag_errors(&d))
        *err = arena_strdup(a, d.n ? d.items[0].msg : "cannot expand process");
    arena_on_oom(a, NULL);
    diag_clear(&d);
    return r < 0 ? NULL : proc;
}

static bool strv_equal(char *const *a, char *const *b)
{
    for (; *a && *b; a++, b++)
        if (strcmp(*a, *b))
            return false;
    return !*a && !*b;
}

static bool log_equal(const struct log_cfg *a, const struct log_cfg *b)
{
    return a->target == b->target && str_equal(a->path, b->path) && a->maxbytes == b->maxbytes &&
           a->backups == b->backups && a->kind == b->kind && a->auto_name == b->auto_name;
}

bool config_process_changed(const struct program_cfg *a, const struct proc_cfg *pa,
                            const struct program_cfg *b, const struct proc_cfg *pb)
{
    return !strv_equal(pa->argv, pb->argv) || !strv_equal((char *const *)pa->env,
                                                          (char *const *)pb->env) ||
           !str_equal(pa->directory, pb->directory) || !log_equal(&pa->out, &pb->out) ||
           !log_equal(&pa->err, &pb->err) || !str_equal(pa->problem, pb->problem) ||
           pa->port != pb->port || !str_equal(a->user, b->user) || a->umask != b->umask ||
           a->redirect_stderr != b->redirect_stderr || a->ready != b->ready ||
           !str_equal(a->ready_path, b->ready_path);
}

/* ---- lookups in a snapshot ---- */

struct config_at config_program_key_at(const struct program_cfg *p, const char *key)
{
    const struct ini_entry *e = ini_get(p->section, key);
    return e ? (struct config_at){e->file, e->line} : (struct config_at){p->file, p->line};
}

const struct program_cfg *config_program(const struct config *c, const char *name)
{
    for (int i = 0; i < c->nprograms; i++)
        if (!strcmp(c->programs[i].name, name))
            return &c->programs[i];
    return NULL;
}

/* A loaded config has no cycle (check_depends); depth bounds the walk all the same. */
static bool depends_within(const struct config *c, const struct program_cfg *a,
                           const struct program_cfg *b, int depth)
{
    for (const struct dependency *d = a->depends_on; d->name && depth < 64; d++) {
        const struct program_cfg *dep = config_program(c, d->name);
        if (dep == b || (dep && depends_within(c, dep, b, depth + 1)))
            return true;
    }
    return false;
}

bool config_depends(const struct config *c, const struct program_cfg *a,
                    const struct program_cfg *b)
{
    return depends_within(c, a, b, 0);
}

int config_name_cmp(const void *a, const void *b)
{
    return strcmp(((const struct config_name *)a)->name, ((const struct config_name *)b)->name);
}

const struct proc_cfg *config_process(const struct config *c, const char *name,
                                      const struct program_cfg **prog)
{
    const struct config_name key = {.name = name};
    const struct config_name *n = c->names ? bsearch(&key, c->names, (size_t)c->nnames,
                                                     sizeof(key), config_name_cmp)
                                           : NULL;
    if (n && prog)
        *prog = n->prog;
    return n ? n->proc : NULL;
}
