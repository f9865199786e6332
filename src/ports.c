/* ports: bind tests for a port in use; listening sockets by sock_diag netlink (or
 * /proc/net/tcp{,6}), matched against the descriptors under /proc/PID/fd. */
#include "ports.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { MAX_LISTENERS = 32, MAX_TREE = 4096, TCP_LISTEN_STATE = 10 };

/* A listening socket on the port, and how surely a connection to 127.0.0.1 reaches
 * it: the kernel looks for a socket bound to the address first, then an IPv4
 * wildcard, then an IPv6 one (tier 3, 2, 1; 0: not reachable from 127.0.0.1). */
struct listener {
    unsigned long inode;
    int tier;
};

struct listeners {
    struct listener v[MAX_LISTENERS];
    int n;
};

/* ---- is the port free? ---- */

/* Binding the wildcard address with SO_REUSEADDR fails while anyone listens on the
 * port, on any address of that family; sockets in TIME_WAIT do not count. */
static int bind_held(int family, int port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, r = 0;
    struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
    if (fd < 0)
        return errno == EAFNOSUPPORT ? 0 : -errno; /* no IPv6 here: nobody listens on it */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET6) /* its IPv4 half is the other test's */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (family == AF_INET ? bind(fd, (struct sockaddr *)&a4, sizeof(a4))
                          : bind(fd, (struct sockaddr *)&a6, sizeof(a6)))
        r = errno == EADDRINUSE ? 1 : errno == EADDRNOTAVAIL ? 0 : -errno;
    close(fd);
    return r;
}

/* ---- listening sockets ---- */

static int tier_of(int family, const uint32_t a[4])
{
    static const uint32_t zero[4];
    if (family == AF_INET)
        return a[0] == htonl(INADDR_LOOPBACK) ? 3 : a[0] == 0 ? 2 : 0;
    if (!a[0] && !a[1] && a[2] == htonl(0xffff))
        return a[3] == htonl(INADDR_LOOPBACK) ? 3 : a[3] == 0 ? 2 : 0;
    return memcmp(a, zero, sizeof(zero)) ? 0 : 1;
}

static void add_listener(struct listeners *l, unsigned long inode, int tier)
{
    if (l->n < MAX_LISTENERS)
        l->v[l->n++] = (struct listener){inode, tier};
}

/* One line of /proc/net/tcp{,6}: "sl local rem st ... uid timeout inode". */
static void parse_proc_line(const char *line, int family, int port, struct listeners *l)
{
    char local[64];
    unsigned st, lport;
    unsigned long inode;
    if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*d %*d %lu", local, &lport,
               &st, &inode) != 4 || st != TCP_LISTEN_STATE || (int)lport != port)
        return;
    uint32_t a[4] = {0};
    for (int w = 0; w < (family == AF_INET ? 1 : 4); w++) { /* each word as the kernel holds it */
        char word[9] = {0};
        memcpy(word, local + 8 * w, 8);
        a[w] = (uint32_t)strtoul(word, NULL, 16);
    }
    add_listener(l, inode, tier_of(family, a));
}

static int listeners_from_proc(int port, struct listeners *l)
{
    static const struct { const char *path; int family; } files[] = {
        {"/proc/net/tcp", AF_INET}, {"/proc/net/tcp6", AF_INET6}};
    int opened = 0;
    for (unsigned i = 0; i < 2; i++) {
        FILE *f = fopen(files[i].path, "re");
        char line[512];
        if (!f)
            continue;
        opened++;
        while (fgets(line, sizeof(line), f))
            parse_proc_line(line, files[i].family, port, l);
        fclose(f);
    }
    return opened ? 0 : -ENOENT;
}

/* One family's listening TCP sockets, by sock_diag: the kernel walks only its table
 * of listeners, where /proc/net/tcp formats every connection on the host as text. */
static int diag_family(int fd, int family, int port, struct listeners *l)
{
    struct {
        struct nlmsghdr h;
        struct inet_diag_req_v2 r;
    } req = {.h = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
             .r = {.sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
                   .idiag_states = 1u << TCP_LISTEN_STATE}};
    if (send(fd, &req, sizeof(req), 0) < 0)
        return -errno;
    for (;;) {
        long buf[8192 / sizeof(long)];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0)
            return -errno;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR)
                return -EPROTO;
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            if (ntohs(m->id.idiag_sport) == port)
                add_listener(l, m->idiag_inode, tier_of(m->idiag_family, m->id.idiag_src));
        }
    }
}

static int listeners_of(int port, struct listeners *l)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG), r = -errno;
    if (fd >= 0) {
        r = diag_family(fd, AF_INET, port, l);
        r = r < 0 ? r : diag_family(fd, AF_INET6, port, l);
        close(fd);
    }
    if (r == 0)
        return 0;
    l->n = 0; /* no sock_diag here (a seccomp filter, no inet_diag module): the text */
    return listeners_from_proc(port, l);
}

/* ---- descriptors ---- */

/* Marks in found[] which of the inodes pid holds a descriptor of; returns how many
 * it newly marked. */
static int scan_fds(pid_t pid, const unsigned long *inodes, bool *found, int n)
{
    char path[64], link[64];
    int marked = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));) {
        unsigned long inode;
        snprintf(path, sizeof(path), "/proc/%d/fd/%.16s", (int)pid, e->d_name);
        ssize_t len = readlink(path, link, sizeof(link) - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        if (sscanf(link, "socket:[%lu]", &inode) != 1)
            continue;
        for (int i = 0; i < n; i++)
            if (!found[i] && inodes[i] == inode)
                found[i] = true, marked++;
    }
    if (d)
        closedir(d);
    return marked;
}

/* Appends pid's children (of each of its threads) to tree. */
static void add_children(pid_t pid, pid_t *tree, int *n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", (int)pid, e->d_name);
        FILE *f = fopen(path, "re");
        int child;
        while (f && *n < MAX_TREE && fscanf(f, "%d", &child) == 1)
            tree[(*n)++] = child;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
}

/* Marks in found[] which of inodes root's tree holds (root first, then breadth
 * first, until all are found); returns how many it did not find, or -ENOMEM. */
static int tree_marks(pid_t root, const unsigned long *inodes, bool *found, int n)
{
    pid_t *tree = malloc(sizeof(*tree) * MAX_TREE);
    int count = 1, left = n;
    if (!tree)
        return -ENOMEM;
    tree[0] = root;
    for (int i = 0; i < count && left > 0; i++) {
        left -= scan_fds(tree[i], inodes, found, n);
        add_children(tree[i], tree, &count);
    }
    free(tree);
    return left;
}

int ports_listener_owned(int port, pid_t root, unsigned long *inode)
{
    struct listeners l = {.n = 0};
    unsigned long chosen[MAX_LISTENERS];
    bool found[MAX_LISTENERS] = {false};
    int best = 1, n = 0, r = listeners_of(port, &l);
    *inode = 0;
    if (r < 0)
        return r;
    for (int i = 0; i < l.n; i++)
        best = l.v[i].tier > best ? l.v[i].tier : best;
    for (int i = 0; i < l.n; i++)
        if (l.v[i].tier == best)
            chosen[n++] = l.v[i].inode;
    if (n == 0)
        return 0; /* gone since the connect: not ready yet */
    if ((r = tree_marks(root, chosen, found, n)) <= 0)
        return r < 0 ? r : 1;
    for (int i = 0; i < n; i++)
        if (!found[i])
            *inode = chosen[i];
    return 0;
}

void ports_name_socket(unsigned long inode, char *desc, size_t len)
{
    DIR *d = opendir("/proc");
    pid_t pid = 0;
    bool found = false;
    for (struct dirent *e; inode && d && !found && (e = readdir(d));)
        if ((pid = (pid_t)atoi(e->d_name)) > 0)
            scan_fds(pid, &inode, &found, 1);
    if (d)
        closedir(d);
    char path[64], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    FILE *f = found ? fopen(path, "re") : NULL;
    if (f && fgets(comm, sizeof(comm), f))
        comm[strcspn(comm, "\n")] = '\0';
    if (f)
        fclose(f);
    if (!found)
        snprintf(desc, len, "another process");
    else if (*comm)
        snprintf(desc, len, "pid %d (%s)", (int)pid, comm);
    else
        snprintf(desc, len, "pid %d", (int)pid);
}

int ports_holder(int port, char *desc, size_t len)
{
    int r = bind_held(AF_INET, port);
    if (r == 0)
        r = bind_held(AF_INET6, port);
    if (r <= 0)
        return r;
    struct listeners l = {.n = 0};
    listeners_of(port, &l); /* any address: a wildcard bind clashes with every one */
    ports_name_socket(l.n ? l.v[0].inode : 0, desc, len);
    return 1;
}
