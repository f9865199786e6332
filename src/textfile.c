/* textfile: read() until the end, doubling the buffer up to a limit. */
#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int textfile_read(const char *path, size_t max, char **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
    if (fd < 0)
        return -errno;
    size_t cap = 0, n = 0;
    char *p = NULL;
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max) {
                r = -EFBIG;
                break;
            }
            cap = cap ? cap * 2 : 65536;
            char *bigger = realloc(p, cap);
            if (!bigger) {
                r = -ENOMEM;
                break;
            }
            p = bigger;
        }
        ssize_t got = read(fd, p + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            r = got < 0 ? -errno : 0; /* a directory reads as EISDIR */
            break;
        }
        n += (size_t)got;
    }
    close(fd);
    if (r == 0 && n > max)
        r = -EFBIG;
    if (r < 0) {
        free(p);
        return r;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}
