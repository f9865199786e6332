/* proto: the control protocol, shared by tend and tendctl (documented in tendctl(1)).
 *
 * Every message is a frame: an 8-byte header, then a payload.
 *   magic   4 bytes "TND1" (the protocol and its version)
 *   length  4 bytes, big-endian, the payload's length
 * A request's payload is the command's words, each ending in a NUL byte
 * ("status\0web\0--json\0"), at most PROTO_MAX_REQUEST bytes. A reply is a
 * sequence of frames whose payload starts with a type byte: 'o' text for
 * stdout, 'e' text for stderr, 'x' the end, followed by one byte, the exit
 * status. `tail -f` sends 'o' frames until the client goes away. */
#ifndef TEND_PROTO_H
#define TEND_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC "TND1"
enum {
    PROTO_HEADER = 8,
    PROTO_MAX_REQUEST = 4096,
    PROTO_MAX_ARGS = 64,
    PROTO_MAX_REPLY = 1 << 20, /* one reply frame */
};

enum proto_status {
    PROTO_OK = 0,        /* done */
    PROTO_FAILED = 1,    /* the request failed */
    PROTO_USAGE = 2,     /* usage error */
    PROTO_NOT_READY = 3, /* not every named process is RUNNING */
    PROTO_NO_SUCH = 4,   /* no such process */
    PROTO_UNREACHABLE = 5, /* cannot reach tend (tendctl's own) */
};

/* A request being reassembled from bytes as they come (one at a time is fine). */
struct proto_request {
    char buf[PROTO_HEADER + PROTO_MAX_REQUEST];
    size_t len;
};

enum proto_feed {
    PROTO_MORE,      /* not whole yet */
    PROTO_DONE,      /* whole: the payload is buf + PROTO_HEADER, *len bytes */
    PROTO_BAD_MAGIC, /* another protocol, or another version */
    PROTO_TOO_LARGE, /* over PROTO_MAX_REQUEST */
    PROTO_EXTRA,     /* bytes after the request: one request per connection */
};

/* Takes n more bytes; the header is checked before its length is trusted. */
enum proto_feed proto_feed(struct proto_request *r, const char *data, size_t n, uint32_t *len);

/* Writes a frame header for a payload of len bytes into out[8]. */
void proto_header(char out[PROTO_HEADER], uint32_t len);
/* Reads a header: 0 and *len, or -EPROTO (bad magic: another version or no tend),
 * or -EMSGSIZE (len above max). */
int proto_parse_header(const char in[PROTO_HEADER], uint32_t max, uint32_t *len);
/* Splits a request payload into argv (pointers into buf, which must end in NUL).
 * Returns argc, or -EINVAL when malformed (empty, no final NUL, too many words). */
int proto_split(char *buf, uint32_t len, char **argv, int max);
/* Encodes argv as a request payload; returns its length, or -EMSGSIZE. */
int proto_join(char *const *argv, int argc, char *out, size_t outlen);

/* Where tend listens when its config names no socket, and so where tendctl looks
 * when not told with -s: $TEND_SOCKET, else /run/tend.sock for root, else
 * $XDG_RUNTIME_DIR/tend.sock, else /tmp/tend-UID/tend.sock. Returns the path: a
 * constant, or written into buf and cut to len (a socket's path is under 108 bytes). */
const char *proto_default_socket(char *buf, size_t len);

#endif
