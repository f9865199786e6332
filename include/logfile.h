/* logfile: supervisord's child log files: appended whole lines, rotated at
 * maxbytes through a chain of backups (path.1 is the newest), reopened on
 * SIGUSR1 for logrotate. Files are shared by path: two streams naming the same
 * file share one writer, so rotation never races. */
#ifndef TEND_LOGFILE_H
#define TEND_LOGFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct logfile;

/* Returns a reference, or NULL and *err (negative errno). owner: chown the file
 * to this uid/gid when tend runs as root (-1: leave). */
struct logfile *logfile_open(const char *path, uint64_t maxbytes, int backups, uid_t owner,
                             gid_t group, int *err);
/* buf holds whole lines (each ending in '\n'): rotation happens between them. */
void logfile_write(struct logfile *f, const char *buf, size_t len);
void logfile_unref(struct logfile *f);
/* Closes and reopens every open log file (SIGUSR1). */
void logfile_reopen_all(void);

#endif
