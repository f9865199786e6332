/* ctl: tendctl, the control client. Blocking and libc only, so it starts fast:
 * connect, send the command's words, print the reply frames, exit with the
 * status tend sent. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fd.h"
#include "habits.h"
#include "proto.h"
#include "sockconf.h"
#include "version.h"

static int usage(FILE *out, int status)
{
    fputs("usage: tendctl [-s SOCKET | -c CONFIG] COMMAND [ARGS...]\n"
          "  status [--json] [NAME...]      start|stop|restart NAME...\n"
          "  restart --rolling PROGRAM      signal SIG NAME...\n"
          "  scale PROGRAM=N                reload\n"
          "  tail [-f] [-n N] NAME [stdout|stderr]\n"
          "  log [-f] [-n N]                clear NAME...\n"
          "  why NAME...                    pid [NAME]   health   nginx\n"
          "  shutdown   version\n"
          "NAME: a process (web_00), a program (web), a group (web:* or web:), or all.\n"
          "supervisorctl's verbs work too, with a hint (see tendctl(1), SUPERVISORCTL HABITS).\n"
          "The socket: -s (a path, or unix:///path), else the one CONFIG names, else\n"
          "$TEND_SOCKET, else ./.tend/tend.sock (tend dev's), else tend's default\n"
          "(see tendctl(1)).\n",
          out);
    return status;
}

/* $TEND_SOCKET, else the socket of a `tend dev` run from this directory (a socket
 * at .tend/tend.sock: check_server still asks who serves it), else tend's default. */
static const char *default_socket(char *buf, size_t len)
{
    const char *env = getenv("TEND_SOCKET");
    struct stat st;
    if (env && *env)
        return env;
    if (lstat(".tend/tend.sock", &st) == 0 && S_ISSOCK(st.st_mode))
        return ".tend/tend.sock";
    return proto_default_socket(buf, len);
}

/* Root's tend, one's own, or the init of one's PID namespace: a container's tend
 * running as the image's user, reached by docker exec -u 0 (no other process can be
 * pid 1 there). A socket another user put where tend's should be (in /tmp, say)
 * would answer as tend does, and tendctl health would print its ok. */
static int check_server(int fd, const char *path)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        fprintf(stderr, "tendctl: '%s': cannot tell who serves it: %s\n", path, strerror(errno));
        return -1;
    }
    if (cred.uid == 0 || cred.uid == geteuid() || cred.pid == 1)
        return 0;
    fprintf(stderr,
            "tendctl: '%s' is served by uid %d, which is neither root nor you, nor this "
            "namespace's init: not talking to it (someone else may have put it there)\n",
            path, (int)cred.uid);
    return -1;
}

static int connect_to(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return errno = ENAMETOOLONG, -1;
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return errno = err, -1;
    }
    return fd;
}

/* Reads exactly len bytes; 0 at a clean end before the first byte, -1 otherwise. */
static int read_all(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return got == 0 && n == 0 ? 0 : -1;
        got += (size_t)n;
    }
    return 1;
}

/* 0 sent, 1 too long (a usage error), -errno when the socket would not take it. */
static int send_request(int fd, char **argv, int argc)
{
    char frame[PROTO_HEADER + PROTO_MAX_REQUEST];
    int n = proto_join(argv, argc, frame + PROTO_HEADER, PROTO_MAX_REQUEST);
    if (n < 0) {
        fputs("tendctl: the request is too long\n", stderr);
        return 1;
    }
    proto_header(frame, (uint32_t)n);
    /* MSG_NOSIGNAL: tend may have answered and closed before the request went out (it
     * refuses another user's connection at once), and its answer is then still there */
    return fd_send_all(fd, frame, PROTO_HEADER + (size_t)n, NULL);
}

/* Prints reply frames until the end frame; returns its status. */
static int read_reply(int fd)
{
    static char payload[PROTO_MAX_REPLY];
    for (;;) {
        char header[PROTO_HEADER];
        uint32_t len;
        int r = read_all(fd, header, sizeof(header));
        if (r <= 0 || proto_parse_header(header, PROTO_MAX_REPLY, &len) < 0 || len == 0 ||
            read_all(fd, payload, len) <= 0) {
            fputs("tendctl: the connection to tend ended before its answer\n", stderr);
            return PROTO_FAILED;
        }
        if (payload[0] == 'x')
            return len >= 2 ? (unsigned char)payload[1] : PROTO_FAILED;
        /* a write, not a send: SIGPIPE as usual when the reader of stdout went away */
        int out = payload[0] == 'e' ? STDERR_FILENO : STDOUT_FILENO;
        fd_write_all(out, payload + 1, len - 1, NULL);
    }
}

/* The options before the command, spelled as tendctl's and as supervisorctl's. */
struct opts {
    const char *server; /* -s, --serverurl */
    const char *config; /* -c, --configuration */
};

/* Matches "-x VALUE", "--long VALUE" and "--long=VALUE" at argv[*i]. */
static bool option(int argc, char **argv, int *i, const char *s, const char *l, const char **v)
{
    const char *a = argv[*i];
    size_t n = strlen(l);
    if (!strncmp(a, l, n) && a[n] == '=')
        return *v = a + n + 1, true;
    if ((strcmp(a, s) && strcmp(a, l)) || *i + 1 >= argc)
        return false;
    *v = argv[++*i];
    return true;
}

/* Returns the index of the command, or -1 after saying what is wrong. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    const char *v;
    bool auth = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "-h") && strcmp(argv[i], "--help") &&
           strcmp(argv[i], "--version");
         i++) {
        if (option(argc, argv, &i, "-s", "--serverurl", &v))
            o->server = v;
        else if (option(argc, argv, &i, "-c", "--configuration", &v))
            o->config = v;
        else if (option(argc, argv, &i, "-u", "--username", &v) ||
                 option(argc, argv, &i, "-p", "--password", &v))
            auth = true;
        else if (!option(argc, argv, &i, "-r", "--history-file", &v))
            return fprintf(stderr, "tendctl: %s: %s\n", argv[i],
                           strcmp(argv[i], "-i") && strcmp(argv[i], "--interactive")
                               ? "unknown option, or its value is missing (see tendctl --help)"
                               : "tendctl has no interactive shell: give the command"),
                   -1;
    }
    if (auth)
        fputs("tendctl: -u/-p ignored: tend asks no password, it admits root and the socket's "
              "owner (by uid)\n", stderr);
    return i;
}

/* -s, else the socket the config names, else $TEND_SOCKET or tend's default. */
static const char *socket_path(const struct opts *o, char *buf, size_t len)
{
    char err[512];
    const char *path;
    if (o->server && sockconf_url(o->server, &path) < 0)
        return fprintf(stderr, "tendctl: '%s': tend serves no HTTP: give its socket "
                       "(-s /path/to/tend.sock or -s unix:///path/to/tend.sock)\n", o->server),
               NULL;
    if (o->server)
        return path;
    int r = o->config ? sockconf_read(o->config, buf, len, err, sizeof(err)) : 0;
    if (r < 0)
        return fprintf(stderr, "tendctl: %s\n", err), NULL;
    if (r > 0)
        return buf;
    return default_socket(buf, len);
}

/* Connects, asks, prints the answer; returns the exit status. */
static int ask(const char *path, char **words, int n)
{
    int fd = connect_to(path);
    if (fd < 0) {
        fprintf(stderr, "tendctl: cannot reach tend at '%s': %s\n", path, strerror(errno));
        return PROTO_UNREACHABLE;
    }
    if (check_server(fd, path) < 0) {
        close(fd);
        return PROTO_UNREACHABLE;
    }
    int sent = send_request(fd, words, n);
    if (sent > 0 || (sent < 0 && sent != -EPIPE && sent != -ECONNRESET)) {
        if (sent < 0)
            fprintf(stderr, "tendctl: sending to tend at '%s': %s\n", path, strerror(-sent));
        close(fd);
        return sent > 0 ? PROTO_USAGE : PROTO_UNREACHABLE;
    }
    int status = read_reply(fd); /* after EPIPE, the answer tend gave before it closed */
    close(fd);
    return status;
}

int main(int argc, char **argv)
{
    char buf[256], hint[512];
    char *words[HABITS_MAX_ARGS];
    struct opts o = {0};
    int n, i = parse_opts(argc, argv, &o);
    if (i < 0)
        return PROTO_USAGE;
    if (i >= argc)
        return usage(stderr, PROTO_USAGE);
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "help"))
        return usage(stdout, PROTO_OK);
    if (!strcmp(argv[i], "--version")) {
        printf("tendctl %s (protocol %s)\n", TEND_VERSION, PROTO_MAGIC);
        return PROTO_OK;
    }
    if (habits_translate(argc - i, argv + i, words, &n, hint, sizeof(hint)) < 0)
        return fprintf(stderr, "tendctl: %s\n", hint), PROTO_USAGE;
    if (*hint)
        fprintf(stderr, "tendctl: %s\n", hint);
    const char *path = socket_path(&o, buf, sizeof(buf));
    return path ? ask(path, words, n) : PROTO_USAGE;
}
