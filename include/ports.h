/* ports: who holds a TCP port on this host. Before a process with `port` starts,
 * tend asks whether someone else listens there already; once its readiness probe
 * connects, whether the listener reached is the process's own. Linux: sock_diag
 * netlink, /proc/net/tcp{,6} and /proc/PID/fd. No libuv: `tend check` calls it too. */
#ifndef TEND_PORTS_H
#define TEND_PORTS_H

#include <stddef.h>
#include <sys/types.h>

/* Whether someone listens on port, on 127.0.0.1 or a wildcard address (IPv4 or
 * IPv6): a bind test with SO_REUSEADDR, O(1). Returns 0 when the port is free, 1
 * when it is held (desc then names the holder: "pid 1234 (node)", or "another
 * process" when it cannot be named, e.g. from another PID namespace), or -errno
 * when the test itself failed. Only a held port costs a walk of /proc. */
int ports_holder(int port, char *desc, size_t len);

/* Whether the listener a connection to 127.0.0.1:port reaches belongs to root or
 * one of its descendants. Returns 1 when it does, 0 when it does not (*inode: the
 * foreign listener's socket, 0 when none listens any more), -errno when tend
 * cannot tell. Costs the host's listening sockets and the tree's descriptors. */
int ports_listener_owned(int port, pid_t root, unsigned long *inode);

/* Names the process that holds socket inode, as ports_holder does. O(all
 * processes): for failure paths only. */
void ports_name_socket(unsigned long inode, char *desc, size_t len);

#endif
