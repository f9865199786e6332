/* Unit tests: fd, whole writes to pipes and sockets. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "fd.h"

/* A buffer larger than a pipe takes (64 KiB by default). */
enum { BIG = 1 << 20 };

static int pipe_nonblock(int fds[2])
{
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

/* Reads what the pipe holds and checks it is the start of buf. */
static size_t drain(int fd, const char *buf)
{
    char chunk[4096];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        assert_memory_equal(chunk, buf + got, (size_t)n);
        got += (size_t)n;
    }
    return got;
}

static void test_write_all(void **state)
{
    (void)state;
    int fds[2];
    size_t done = 99;
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    assert_int_equal(fd_write_all(fds[1], "hello\n", 6, &done), 0);
    assert_int_equal(done, 6);
    assert_int_equal(fd_write_all(fds[1], "", 0, &done), 0);
    assert_int_equal(done, 0);
    assert_int_equal(fd_write_all(fds[1], "x", 1, NULL), 0);
    char back[8] = {0};
    assert_int_equal(read(fds[0], back, sizeof(back)), 7);
    assert_string_equal(back, "hello\nx");
    close(fds[0]);
    close(fds[1]);
}

/* A non-blocking pipe takes what it has room for; the rest is -EAGAIN, and done
 * says where it stopped. */
static void test_full_pipe(void **state)
{
    (void)state;
    int fds[2];
    char *buf = malloc(BIG);
    assert_non_null(buf);
    for (size_t i = 0; i < BIG; i++)
        buf[i] = (char)(i * 7);
    assert_int_equal(pipe_nonblock(fds), 0);
    size_t done = 0;
    assert_int_equal(fd_write_all(fds[1], buf, BIG, &done), -EAGAIN);
    assert_true(done > 0 && done < BIG);
    assert_int_equal(drain(fds[0], buf), done);
    /* within: waits for room, then gives up the same way */
    size_t more = 0;
    assert_int_equal(fd_write_all_within(fds[1], buf + done, BIG - done, 10, &more), -EAGAIN);
    assert_true(more > 0);
    assert_int_equal(drain(fds[0], buf + done), more);
    free(buf);
    close(fds[0]);
    close(fds[1]);
}

static void test_within_no_room(void **state)
{
    (void)state;
    int fds[2];
    char *buf = calloc(1, BIG);
    assert_non_null(buf);
    assert_int_equal(pipe_nonblock(fds), 0);
    size_t done = 0;
    fd_write_all(fds[1], buf, BIG, NULL); /* full now */
    assert_int_equal(fd_write_all_within(fds[1], "x", 1, 10, &done), -EAGAIN);
    assert_int_equal(done, 0);
    free(buf);
    close(fds[0]);
    close(fds[1]);
}

/* A peer that went away: -EPIPE from send, and no SIGPIPE (it would end this test). */
static void test_send_to_closed(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(fd_send_all(sv[0], "ab", 2, NULL), 0);
    close(sv[1]);
    size_t done = 99;
    assert_int_equal(fd_send_all(sv[0], "cd", 2, &done), -EPIPE);
    assert_int_equal(done, 0);
    close(sv[0]);
}

static void test_bad_descriptor(void **state)
{
    (void)state;
    size_t done = 99;
    assert_int_equal(fd_write_all(-1, "x", 1, &done), -EBADF);
    assert_int_equal(done, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_all),      cmocka_unit_test(test_full_pipe),
        cmocka_unit_test(test_within_no_room), cmocka_unit_test(test_send_to_closed),
        cmocka_unit_test(test_bad_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
