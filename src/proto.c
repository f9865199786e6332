/* proto: frame headers and request words, with every length checked. */
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void proto_header(char out[PROTO_HEADER], uint32_t len)
{
    memcpy(out, PROTO_MAGIC, 4);
    out[4] = (char)(len >> 24);
    out[5] = (char)(len >> 16);
    out[6] = (char)(len >> 8);
    out[7] = (char)len;
}

int proto_parse_header(const char in[PROTO_HEADER], uint32_t max, uint32_t *len)
{
    const unsigned char *u = (const unsigned char *)in;
    if (memcmp(in, PROTO_MAGIC, 4) != 0)
        return -EPROTO;
    uint32_t n = (uint32_t)u[4] << 24 | (uint32_t)u[5] << 16 | (uint32_t)u[6] << 8 | u[7];
    if (n > max)
        return -EMSGSIZE;
    *len = n;
    return 0;
}

int proto_split(char *buf, uint32_t len, char **argv, int max)
{
    int argc = 0;
    if (len == 0 || buf[len - 1] != '\0')
        return -EINVAL;
    for (uint32_t i = 0; i < len; i += (uint32_t)strlen(buf + i) + 1) {
        if (argc == max)
            return -EINVAL;
        argv[argc++] = buf + i;
    }
    return argv[0][0] ? argc : -EINVAL;
}

int proto_join(char *const *argv, int argc, char *out, size_t outlen)
{
    size_t n = 0;
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]) + 1;
        if (n + len > outlen || n + len > PROTO_MAX_REQUEST)
            return -EMSGSIZE;
        memcpy(out + n, argv[i], len);
        n += len;
    }
    return (int)n;
}

enum proto_feed proto_feed(struct proto_request *r, const char *data, size_t n, uint32_t *len)
{
    if (n > sizeof(r->buf) - r->len)
        return PROTO_TOO_LARGE;
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    if (r->len < PROTO_HEADER)
        return PROTO_MORE;
    int e = proto_parse_header(r->buf, PROTO_MAX_REQUEST, len);
    if (e == -EPROTO)
        return PROTO_BAD_MAGIC;
    if (e == -EMSGSIZE)
        return PROTO_TOO_LARGE;
    if (r->len > PROTO_HEADER + *len)
        return PROTO_EXTRA;
    return r->len == PROTO_HEADER + *len ? PROTO_DONE : PROTO_MORE;
}

/* $TEND_SOCKET first, for tend and tendctl alike: an image sets it once and every
 * user in it (tend as app, docker exec -u 0 tendctl) finds the same socket. */
const char *proto_default_socket(char *buf, size_t len)
{
    const char *env = getenv("TEND_SOCKET");
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (env && *env)
        return env;
    if (geteuid() == 0)
        return "/run/tend.sock";
    if (xdg && *xdg)
        snprintf(buf, len, "%s/tend.sock", xdg);
    else
        snprintf(buf, len, "/tmp/tend-%u/tend.sock", (unsigned)geteuid());
    return buf;
}
