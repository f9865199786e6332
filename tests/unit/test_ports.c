/* Unit tests: ports, who holds a TCP port (real sockets of this process, a real
 * child with none). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "ports.h"

/* A socket listening on addr at a port the kernel picks; returns the port. */
static int listen_on(const char *addr, int *fd)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    inet_pton(AF_INET, addr, &a.sin_addr);
    *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(*fd >= 0);
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(*fd, 1), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

/* A child holding nothing (its copy of the listener closed): a tree the listener
 * is not in. */
static pid_t idle_child(int listener)
{
    int ready[2];
    char c;
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed assertion leaves no child behind */
        close(listener);
        close(ready[0]);
        close(ready[1]); /* closed: the parent may look now */
        pause();
        _exit(0);
    }
    close(ready[1]);
    assert_int_equal(read(ready[0], &c, 1), 0);
    close(ready[0]);
    return pid;
}

static void end_child(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void test_a_held_port_names_its_holder(void **state)
{
    char desc[128], want[64];
    int fd, port = listen_on("127.0.0.1", &fd);
    (void)state;
    assert_int_equal(ports_holder(port, desc, sizeof(desc)), 1);
    snprintf(want, sizeof(want), "pid %d (", (int)getpid());
    assert_non_null(strstr(desc, want));
    close(fd);
    assert_int_equal(ports_holder(port, desc, sizeof(desc)), 0);
}

static void test_a_wildcard_listener_holds_the_port_too(void **state)
{
    char desc[128];
    int fd, port = listen_on("0.0.0.0", &fd);
    (void)state;
    assert_int_equal(ports_holder(port, desc, sizeof(desc)), 1);
    close(fd);
}

static void test_the_listener_belongs_to_its_tree_only(void **state)
{
    unsigned long inode = 1;
    char desc[128], want[64];
    int fd, port = listen_on("127.0.0.1", &fd);
    (void)state;
    assert_int_equal(ports_listener_owned(port, getpid(), &inode), 1);
    assert_int_equal(inode, 0);
    pid_t other = idle_child(fd);
    assert_int_equal(ports_listener_owned(port, other, &inode), 0);
    assert_true(inode > 0);
    ports_name_socket(inode, desc, sizeof(desc));
    snprintf(want, sizeof(want), "pid %d (", (int)getpid());
    assert_non_null(strstr(desc, want));
    end_child(other);
    close(fd);
    assert_int_equal(ports_listener_owned(port, getpid(), &inode), 0); /* nobody listens */
    assert_int_equal(inode, 0);
}

/* The socket bound to 127.0.0.1 is the one a connection reaches, not the wildcard. */
static void test_the_loopback_listener_comes_before_the_wildcard(void **state)
{
    unsigned long inode;
    int one = 1, fd, port = listen_on("127.0.0.1", &fd);
    (void)state;
    pid_t other = idle_child(fd);
    int wild = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    setsockopt(wild, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (wild >= 0 && bind(wild, (struct sockaddr *)&a6, sizeof(a6)) == 0 && listen(wild, 1) == 0)
        assert_int_equal(ports_listener_owned(port, getpid(), &inode), 1);
    if (wild >= 0)
        close(wild);
    end_child(other);
    close(fd);
}

static void test_a_name_nobody_holds(void **state)
{
    char desc[64];
    (void)state;
    ports_name_socket(0, desc, sizeof(desc));
    assert_string_equal(desc, "another process");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_held_port_names_its_holder),
        cmocka_unit_test(test_a_wildcard_listener_holds_the_port_too),
        cmocka_unit_test(test_the_listener_belongs_to_its_tree_only),
        cmocka_unit_test(test_the_loopback_listener_comes_before_the_wildcard),
        cmocka_unit_test(test_a_name_nobody_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
