/* logfile: supervisord's child log files, and the streams a config may name instead.
 *
 * A file is appended whole lines, rotated at maxbytes through a chain of backups
 * (path.1 is the newest), and reopened on SIGUSR1 for logrotate. A FIFO, terminal
 * or device (stdout_logfile_type, or a path under /dev or /proc) is written through
 * an output: never blocking, bounded, its congestion reported to the callback given
 * to logfile_setup (the readers of the programs writing there pause), its lost
 * lines counted; one whose reader went away is opened again. tend's own stdout or
 * stderr met through a path (/proc/1/fd/1) is written through tend's own writer.
 * Every target is opened through safepath: never through a link another user
 * made, never a file of someone else's. AUTO files get a name nobody can guess.
 * Targets are shared by path: two streams naming one file share one writer, so
 * rotation never races. */
#ifndef TEND_LOGFILE_H
#define TEND_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "output.h"

struct logfile;

/* Once, before any target opens: the loop, who hears of congestion, and tend's own
 * stdout and stderr. */
void logfile_setup(uv_loop_t *loop, output_congestion_cb *cb, void *ctx, struct output *out,
                   struct output *err);

struct logfile_opts {
    const char *path; /* with auto_name, the start of the name: RANDOM.log follows */
    bool auto_name;
    enum log_kind kind;
    uint64_t maxbytes;
    int backups;
    uid_t owner; /* the program's user: may own the file, and gets one tend makes */
    gid_t group; /* (uid_t)-1: tend's own */
};

/* Returns a reference, or NULL and the reason in why. */
struct logfile *logfile_open(const struct logfile_opts *o, char *why, size_t len);
/* The path written to (for AUTO, the name it got). */
const char *logfile_path(const struct logfile *f);
/* buf holds whole lines (each ending in '\n'): rotation happens between them. */
void logfile_write(struct logfile *f, const char *buf, size_t len);
/* A stream whose reader is slow: its writers should pause. */
bool logfile_congested(const struct logfile *f);
void logfile_unref(struct logfile *f);
/* Closes and reopens every open log file (SIGUSR1). */
void logfile_reopen_all(void);
/* The end: each stream writes what it holds (within output's bound), then closes;
 * none opens again. */
void logfile_end_streams(void);

#endif
