/* fd: whole writes to a descriptor. A write may take part of what it is given, or
 * be interrupted by a signal before it took anything: these go on until all of it
 * is out or the descriptor says no. libc only (tendctl links it). */
#ifndef TEND_FD_H
#define TEND_FD_H

#include <stddef.h>

/* Writes the len bytes at buf. Returns 0, or -errno of the write that failed (-EIO
 * for one that took nothing), with *done (unless NULL) set to the bytes written
 * before it: on an O_NONBLOCK descriptor, -EAGAIN means the rest was not taken now. */
int fd_write_all(int fd, const void *buf, size_t len, size_t *done);
/* The same on a socket, with send(MSG_NOSIGNAL): a peer that went away is -EPIPE,
 * not SIGPIPE. */
int fd_send_all(int fd, const void *buf, size_t len, size_t *done);
/* The same, for a descriptor tend does not own and must not hang on (stderr with a
 * reader that does not read): before each write, waits at most wait_ms for room, and
 * gives up with -EAGAIN when there is none. */
int fd_write_all_within(int fd, const void *buf, size_t len, int wait_ms, size_t *done);

#endif
