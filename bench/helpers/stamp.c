/* stamp FILE CMD [ARGS...]: appends "REALTIME_NS PID\n" to FILE, then execs CMD.
 * The bench's probe for "the process has started": the timestamp is taken a few
 * microseconds before the exec, with no shell or date(1) in between. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec ts;
    char line[64];
    if (argc < 3) {
        fprintf(stderr, "usage: stamp FILE CMD [ARGS...]\n");
        return 2;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    int n = snprintf(line, sizeof(line), "%lld %d\n",
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid());
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, line, (size_t)n) != n) {
        perror(argv[1]);
        return 1;
    }
    close(fd);
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    return 127;
}
