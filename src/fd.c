/* fd: a descriptor written until all of a buffer is out (see fd.h). */
#include "fd.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

enum how { BY_WRITE, BY_SEND };

/* Whether fd takes more within wait_ms (negative: no wait asked, so yes). */
static bool has_room(int fd, int wait_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    return wait_ms < 0 || (poll(&p, 1, wait_ms) == 1 && (p.revents & POLLOUT));
}

static int write_loop(int fd, const char *buf, size_t len, enum how how, int wait_ms,
                      size_t *done)
{
    size_t off = 0;
    int r = 0;
    while (off < len) {
        if (!has_room(fd, wait_ms)) {
            r = -EAGAIN;
            break;
        }
        ssize_t n = how == BY_SEND ? send(fd, buf + off, len - off, MSG_NOSIGNAL)
                                   : write(fd, buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)n;
    }
    if (done)
        *done = off;
    return r;
}

int fd_write_all(int fd, const void *buf, size_t len, size_t *done)
{
    return write_loop(fd, buf, len, BY_WRITE, -1, done);
}

int fd_send_all(int fd, const void *buf, size_t len, size_t *done)
{
    return write_loop(fd, buf, len, BY_SEND, -1, done);
}

int fd_write_all_within(int fd, const void *buf, size_t len, int wait_ms, size_t *done)
{
    return write_loop(fd, buf, len, BY_WRITE, wait_ms, done);
}
