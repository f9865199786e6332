/* checkfloor N PORT0 INTERVAL_MS: the least a supervisor must do to check N tcp
 * health endpoints (127.0.0.1:PORT0 .. PORT0+N-1) every INTERVAL_MS, to compare
 * tend's `health = tcp` with (bench scenario 12). Each round: a non-blocking connect
 * per port, epoll until each is writable, SO_ERROR read, close; a timerfd starts the
 * rounds. No jitter, no per-check state but the socket: what is left is socket,
 * connect, epoll, getsockopt and close. Runs until killed. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void round_of(int ep, int n, int port0)
{
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(port0 + i)),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (fd < 0)
            die("socket");
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
            close(fd);
            continue;
        }
        struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: checkfloor N PORT0 INTERVAL_MS\n");
        return 2;
    }
    int n = atoi(argv[1]), port0 = atoi(argv[2]);
    long ms = atol(argv[3]);
    int ep = epoll_create1(EPOLL_CLOEXEC), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec it = {{ms / 1000, (ms % 1000) * 1000000}, {ms / 1000, (ms % 1000) * 1000000}};
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = tfd}, got[256];
    if (ep < 0 || tfd < 0 || timerfd_settime(tfd, 0, &it, NULL) < 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) < 0)
        die("setup");
    for (;;) {
        int k = epoll_wait(ep, got, 256, -1);
        for (int i = 0; i < k; i++) {
            int fd = got[i].data.fd, err = 0;
            socklen_t len = sizeof(err);
            if (fd == tfd) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks))
                    round_of(ep, n, port0);
                continue;
            }
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            close(fd); /* closing takes it out of epoll */
        }
    }
}
