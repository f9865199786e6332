/* config: supervisord-compatible INI files → an immutable snapshot.
 *
 * config_load() reads the file and its includes, expands every %(...) value,
 * validates, and returns a snapshot that owns all of its memory (one arena).
 * Errors and warnings go to the caller's diag_list; a snapshot is returned only
 * when there are no errors. A host problem (missing user, unset ENV_ variable,
 * command not found, ...) is a warning that marks the process with `problem`:
 * the engine fails that process alone. */
#ifndef TEND_CONFIG_H
#define TEND_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "log.h"
#include "proc_policy.h"

enum nginx_mode { NGINX_FULL, NGINX_INCLUDE };

/* Where one output stream of a process goes. */
enum log_target {
    LOG_TO_TEND,   /* tend's stdout (or stderr for a stderr stream): the default */
    LOG_TO_STDOUT, /* /dev/stdout, /dev/fd/1 */
    LOG_TO_STDERR, /* /dev/stderr, /dev/fd/2 */
    LOG_TO_FILE,   /* a path, rotated at maxbytes */
    LOG_TO_NONE,   /* NONE, /dev/null: kept only for `tendctl tail` */
};

/* What a LOG_TO_FILE path must be (stdout_logfile_type): tend writes nothing else. */
enum log_kind {
    LOG_KIND_FILE,   /* a regular file, made when missing, rotated */
    LOG_KIND_FIFO,   /* a named pipe that exists (a log shipper's) */
    LOG_KIND_DEVICE, /* a terminal or device, or a pipe through /proc (/proc/1/fd/1) */
};

struct log_cfg {
    enum log_target target;
    const char *path; /* LOG_TO_FILE; with auto_name, the start of the name */
    uint64_t maxbytes;
    int backups;
    enum log_kind kind;
    bool auto_name; /* AUTO: made in childlogdir under a name nobody can guess */
};

/* What a dependency must have reached before its dependent starts: depends_on =
 * NAME or NAME:CONDITION, as systemd's and process-compose's conditions. */
enum dep_cond {
    DEP_READY,     /* each process RUNNING, or failed a start (BACKOFF, FATAL): the default */
    DEP_STARTED,   /* each process has been started (spawned) */
    DEP_HEALTHY,   /* each RUNNING with a passed health check; without health: DEP_READY */
    DEP_COMPLETED, /* each process exited, whatever its status, not to be restarted */
    DEP_SUCCEEDED, /* each process exited with one of its exitcodes */
};

struct dependency {
    const char *name; /* a [program:x] */
    enum dep_cond cond;
};

struct proc_cfg {
    const char *name;
    int num;  /* process_num */
    int port; /* 0: none */
    char **argv;
    const char **env; /* "KEY=value" set on top of tend's environment, NULL-terminated */
    const char *directory;
    struct log_cfg out, err;
    const char *problem; /* why this process cannot run on this host, or NULL */
};

struct program_cfg {
    const char *name, *group;
    const char *file; /* where [program:NAME] is */
    int line;
    int priority, numprocs, numprocs_start, port;
    bool autostart, critical, redirect_stderr, stopasgroup, killasgroup;
    enum autorestart autorestart;
    uint64_t startsecs_ms, stopwait_ms, ready_timeout_ms;
    uint64_t restart_delay_ms, restart_delay_max_ms, restart_delay_reset_ms;
    int startretries; /* -1: unlimited */
    bool kill_group_on_exit; /* nginx: its workers must not outlive the master */
    uint8_t exitcodes[32]; /* bitmap of expected exit statuses */
    int stopsignal;
    const char *user; /* NULL: run as tend's user */
    uid_t uid;
    gid_t gid;
    int umask; /* -1: tend's */
    const char *port_env;
    uint64_t stdout_maxbytes, stderr_maxbytes;
    int stdout_backups, stderr_backups;
    int stdout_kind, stderr_kind; /* an enum log_kind, or -1: by the path */
    enum ready_kind ready;
    const char *ready_path; /* READY_HTTP */
    const struct dependency *depends_on; /* ends with a NULL name */
    const char **watch;                  /* NULL-terminated */
    /* liveness, while RUNNING: a check every interval (jittered), each within
     * timeout; `failures` in a row (not counting those in start_ms after the start,
     * before one passed) make it unhealthy: out of nginx, then restarted */
    struct {
        enum health_kind kind;
        const char *path; /* HEALTH_HTTP's */
        char **argv;      /* HEALTH_EXEC's */
        uint64_t interval_ms, timeout_ms, start_ms;
        int failures;
    } health;
    uint64_t watchdog_ms; /* ready = notify: WATCHDOG=1 at least this often; 0: none */
    const char *problem; /* a host problem of the whole program, or NULL */
    struct proc_cfg *procs;
    int nprocs;
    const void *section; /* the raw section, to expand more processes (scale) */
};

struct group_cfg {
    const char *name;
    const char **programs; /* NULL-terminated */
    int priority;
};

struct nginx_route {
    const char *path;    /* "/" for a single upstream */
    const char *program; /* a [program:x] with a port */
};

struct nginx_cfg {
    struct nginx_route *routes;
    int nroutes;
    const char *listen; /* as nginx's listen directive takes it */
    int listen_port;
    enum nginx_mode mode;
    const char *config;  /* the generated file */
    const char *program; /* the [program:x] that runs nginx */
    bool defined_program; /* tend added that program */
    bool access_log;      /* full mode: nginx's access log to stdout */
    /* how long nginx waits on a worker's answer (and to send it the request) before
     * it gives up on that worker and tries another: proxy_read_timeout */
    uint64_t read_timeout_ms;
    const char *file;
    int line;
};

/* Where a setting was read; file NULL: the default. */
struct config_at {
    const char *file;
    int line;
};

struct tend_cfg {
    const char *socket, *socket_owner, *pidfile, *logfile, *childlogdir;
    struct config_at socket_at, logfile_at, pidfile_at; /* for tend check's host checks */
    const char *user; /* [supervisord] user: tend drops to it once it has set up; NULL: stays */
    uid_t uid;
    gid_t gid;
    const char *user_problem; /* why it cannot (the user does not exist), or NULL */
    int minprocs; /* RLIMIT_NPROC soft limit at least this; 0: leave */
    int socket_mode;
    int loglevel; /* log.h levels */
    uint64_t logfile_maxbytes;
    int logfile_backups;
    bool silent; /* with a logfile, nothing on stderr */
    enum log_format log_format;
    bool log_timestamps;
    const char **env; /* [tend] environment, NULL-terminated */
    int minfds;
    int umask; /* -1: leave as is */
    uint64_t shutdown_timeout_ms;
};

/* A process by name, for config_process. */
struct config_name {
    const char *name;
    const struct program_cfg *prog;
    const struct proc_cfg *proc;
};

struct config {
    const char *path; /* the main file */
    struct tend_cfg tend;
    struct program_cfg *programs; /* in file order */
    int nprograms;
    struct group_cfg *groups;
    int ngroups;
    struct nginx_cfg *nginx; /* NULL without an [nginx] section */
    const struct config_name *names; /* every process, sorted by name: O(log n) lookups */
    int nnames;
    struct arena *arena; /* owns everything above */
};

/* What a log path names when its type is not given: a stream under /dev and /proc
 * (not /dev/shm or /dev/mqueue), a file elsewhere. */
enum log_kind config_log_kind(const char *path);
/* The config file to use when none is given: $TEND_CONFIG, ./tend.ini,
 * /etc/tend/tend.ini, then supervisord's paths. NULL when none exists. */
const char *config_find(void);
/* Returns 0 and *out, or -EINVAL when diags holds errors (or -errno when the
 * main file cannot be read, also reported in diags). */
int config_load(const char *path, struct config **out, struct diag_list *diags);
void config_free(struct config *c);
/* The same from entries made in code (tend dev's Procfile): each as if read from
 * file:line, so that errors point there. */
struct config_entry {
    const char *section, *key, *value, *file;
    int line;
};
int config_build(const char *path, const struct config_entry *e, int n, struct config **out,
                 struct diag_list *diags);

const struct program_cfg *config_program(const struct config *c, const char *name);
/* "ready", "started", "healthy", "completed", "succeeded". */
const char *config_dep_cond_name(enum dep_cond c);
/* Whether a needs b, through depends_on, directly or not. */
bool config_depends(const struct config *c, const struct program_cfg *a,
                    const struct program_cfg *b);
/* The process with that name, and its program through *prog. */
const struct proc_cfg *config_process(const struct config *c, const char *name,
                                      const struct program_cfg **prog);
/* Expands process `index` (0-based) of prog, for numprocs changed at run time.
 * The result (and *err on failure, with NULL returned) lives in a: c is a snapshot
 * and stays as it is. */
const struct proc_cfg *config_expand_process(const struct config *c, const struct program_cfg *prog,
                                             int index, struct arena *a, const char **err);
/* Whether a process would run differently under the two configs (restart on reload). */
bool config_process_changed(const struct program_cfg *a, const struct proc_cfg *pa,
                            const struct program_cfg *b, const struct proc_cfg *pb);

/* Where key is set in p's section; p's own line when it is not. */
struct config_at config_program_key_at(const struct program_cfg *p, const char *key);

/* The name of key i that tend knows in a section kind ("program", "tend", "nginx",
 * "group", "include", "unix_http_server"), NULL past the last: for the manual's test. */
const char *config_known_key(const char *kind, int i);

#endif
