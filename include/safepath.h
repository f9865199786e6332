/* safepath: files and directories tend opens or makes on someone else's behalf (log
 * files, pidfiles, nginx's config, sockets), often where another user can write.
 *
 * A path is walked one component at a time with openat() from / (or the working
 * directory). A symbolic link is followed only when it belongs to root or to tend's
 * user, in a directory of theirs: a link another user made is refused, in their
 * own directory or in /tmp (systemd's chase() with CHASE_SAFE, and the kernel's
 * protected_symlinks, in short). The last component is opened O_NOFOLLOW,
 * O_NONBLOCK and O_CLOEXEC, then checked with fstat before anything is written:
 * a regular file belonging to root, tend's user or the program's user, with no
 * second hard link; or a FIFO or character device when the caller says the config
 * names one. In /proc a link is the kernel's own (/proc/1/fd/1): for a FIFO or a
 * device it is followed. Errors are -errno, with the reason in words in `why`. */
#ifndef TEND_SAFEPATH_H
#define TEND_SAFEPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum safepath_kind {
    SAFEPATH_FILE,   /* a regular file (created when missing, if asked) */
    SAFEPATH_FIFO,   /* a named pipe that exists (never created) */
    SAFEPATH_DEVICE, /* a character device (a terminal), or a pipe met through /proc */
};

struct safepath_opts {
    enum safepath_kind kind;
    uid_t owner;    /* may own the file besides root and tend's user; (uid_t)-1: nobody */
    gid_t group;    /* a file tend creates as root is given to owner:group */
    mode_t mode;    /* of a file tend creates */
    bool create;    /* SAFEPATH_FILE: make it when missing */
    bool exclusive; /* ...and only then: an existing file is an error (EEXIST) */
    bool truncate;  /* empty it, once checked */
    bool append;    /* O_APPEND */
};

/* Opens path for writing. Returns the descriptor (close-on-exec, non-blocking), or
 * -errno and why. *created (may be NULL) tells whether tend made the file. */
int safepath_open(const char *path, const struct safepath_opts *o, bool *created, char *why,
                  size_t len);

/* The directory that holds path's last component, walked as above: an O_PATH
 * descriptor, and the last component in *base (a pointer into path). */
int safepath_parent(const char *path, const char **base, char *why, size_t len);

/* A directory tend writes into. Made with mode (missing parents 0755) when absent,
 * and given to owner:group when tend runs as root; then checked through a
 * descriptor opened O_NOFOLLOW: a directory, not a link, belonging to owner or root,
 * and writable by nobody else (unless sticky and sticky_ok: /tmp, where nobody can
 * remove what is not theirs). Returns an O_PATH descriptor of it, or -errno and why. */
int safepath_dir(const char *path, uid_t owner, gid_t group, mode_t mode, bool sticky_ok,
                 char *why, size_t len);

#endif
