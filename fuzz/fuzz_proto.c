/* fuzz_proto: feeds each input to the control protocol's request decoder in chunks the
 * input chooses, as the daemon's reads would, and checks it against an independent
 * reading of the frame; then joins words from the input and reads them back. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* A broken promise is a finding: abort so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "fuzz_proto: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* More words than a request may hold, so that proto_split's limit is reached. */
#define MAX_WORDS (2 * PROTO_MAX_ARGS)

/* Input layout: byte 0's low nibble k, then k chunk sizes, then the stream of bytes a
 * client would send. k = 0 sends the stream in one read; sizes are used in turn, so
 * "1" is byte by byte and "3 250" an odd split. A 0 is an empty read (the daemon never
 * gets one, but the decoder must not mind). */
struct chop {
    const uint8_t *sizes;
    size_t nsizes;
    const char *stream;
    size_t len;
};

static struct chop chop_of(const uint8_t *data, size_t size)
{
    struct chop c = {0};
    size_t k = size ? data[0] & 0x0f : 0;
    if (size < 1 + k)
        k = size ? size - 1 : 0;
    c.sizes = data + (size ? 1 : 0);
    c.nsizes = k;
    c.stream = (const char *)data + (size ? 1 + k : 0);
    c.len = size - (size ? 1 + k : 0);
    return c;
}

/* The size of the next read: all that is left when no size makes progress. */
static size_t next_chunk(const struct chop *c, size_t i, size_t left, bool *progress)
{
    if (!c->nsizes)
        return left;
    if (i % c->nsizes == 0 && i > 0 && !*progress)
        return left; /* a whole round of zero-size reads */
    if (i % c->nsizes == 0)
        *progress = false;
    size_t n = c->sizes[i % c->nsizes];
    *progress |= n > 0;
    return n < left ? n : left;
}

static uint32_t be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* What proto_feed must answer once it has been given `total` bytes of s in all:
 * written from proto.h, not from proto.c. */
static enum proto_feed expected(const char *s, size_t total)
{
    if (total > PROTO_HEADER + PROTO_MAX_REQUEST)
        return PROTO_TOO_LARGE; /* would not fit the buffer, whatever the header says */
    if (total < PROTO_HEADER)
        return PROTO_MORE;
    if (memcmp(s, PROTO_MAGIC, 4) != 0)
        return PROTO_BAD_MAGIC;
    uint32_t len = be32(s + 4);
    if (len > PROTO_MAX_REQUEST)
        return PROTO_TOO_LARGE;
    if (total > PROTO_HEADER + (size_t)len)
        return PROTO_EXTRA;
    return total == PROTO_HEADER + (size_t)len ? PROTO_DONE : PROTO_MORE;
}

/* Feeds the stream as chopped until the decoder answers something other than MORE,
 * checking each answer; returns the last, and the payload length on DONE. */
static enum proto_feed feed_all(struct proto_request *r, const struct chop *c, uint32_t *len)
{
    enum proto_feed got = PROTO_MORE;
    size_t off = 0;
    bool progress = false;
    for (size_t i = 0; got == PROTO_MORE && (off < c->len || i == 0); i++) {
        size_t n = next_chunk(c, i, c->len - off, &progress);
        got = proto_feed(r, c->stream + off, n, len);
        CHECK(got == expected(c->stream, off + n));
        if (got == PROTO_TOO_LARGE && off + n > sizeof(r->buf))
            break; /* refused before it was copied: nothing more to compare */
        off += n;
        CHECK(r->len == off && memcmp(r->buf, c->stream, off) == 0);
    }
    if (got == PROTO_DONE)
        CHECK(*len == be32(c->stream + 4) && r->len == PROTO_HEADER + *len);
    return got;
}

/* proto.h: 0 and the length only with the magic and a length within max; a bad magic
 * is -EPROTO whatever the length. Each max is tried, including those either side of n. */
static void check_header(const char *in)
{
    uint32_t n = be32(in + 4), got = 0;
    const uint32_t maxes[] = {0, n - 1, n, n + 1, PROTO_MAX_REQUEST, PROTO_MAX_REPLY, UINT32_MAX};
    bool magic = memcmp(in, PROTO_MAGIC, 4) == 0;
    for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
        int r = proto_parse_header(in, maxes[i], &got);
        if (!magic)
            CHECK(r == -EPROTO);
        else if (n > maxes[i])
            CHECK(r == -EMSGSIZE);
        else
            CHECK(r == 0 && got == n && got <= maxes[i]);
    }
}

static int count_nuls(const char *p, uint32_t len)
{
    int n = 0;
    for (uint32_t i = 0; i < len; i++)
        n += p[i] == '\0';
    return n;
}

/* A payload splits iff it is words each ending in NUL, the first not empty, at most
 * PROTO_MAX_ARGS of them; the words then tile the payload and join back into it. */
static void check_split(char *payload, uint32_t len)
{
    char *argv[PROTO_MAX_ARGS], joined[PROTO_MAX_REQUEST];
    int words = count_nuls(payload, len);
    bool valid =
        len > 0 && payload[len - 1] == '\0' && payload[0] != '\0' && words <= PROTO_MAX_ARGS;
    int argc = proto_split(payload, len, argv, PROTO_MAX_ARGS);
    if (!valid) {
        CHECK(argc == -EINVAL);
        return;
    }
    CHECK(argc == words && argc >= 1 && argc <= PROTO_MAX_ARGS);
    const char *at = payload;
    for (int i = 0; i < argc; i++) {
        CHECK(argv[i] == at); /* inside the payload, in order, none skipped */
        at += strlen(argv[i]) + 1;
        CHECK(at <= payload + len);
    }
    CHECK(at == payload + len);
    CHECK(proto_join(argv, argc, joined, sizeof(joined)) == (int)len);
    CHECK(memcmp(joined, payload, len) == 0);
}

/* The stream past a header, read as NUL-separated words (the last one need not end in
 * NUL): what a client could be asked to send. Returns the word count. */
static int words_of(char *copy, size_t len, char **words)
{
    int n = 0;
    for (size_t i = 0; i < len && n < MAX_WORDS; i += strlen(copy + i) + 1)
        words[n++] = copy + i;
    return n;
}

/* proto_join writes exactly its words with their NULs when they fit both outlen and
 * PROTO_MAX_REQUEST, and otherwise fails; the buffer is exactly outlen bytes on the
 * heap, so a write past it is an ASan report. */
static void check_join_sizes(char **words, int n, size_t total)
{
    size_t lens[] = {total ? total - 1 : 0, total, total + 1};
    for (size_t i = 0; i < 3; i++) {
        char *out = malloc(lens[i] ? lens[i] : 1);
        CHECK(out);
        int r = proto_join(words, n, out, lens[i]);
        if (total > lens[i] || total > PROTO_MAX_REQUEST)
            CHECK(r == -EMSGSIZE);
        else
            CHECK(r == (int)total);
        free(out);
    }
}

/* What tendctl sends, fed back through the chopping the daemon might see. */
static void check_round_trip(const struct chop *c)
{
    size_t plen = c->len > PROTO_HEADER ? c->len - PROTO_HEADER : 0, total = 0;
    char *copy = calloc(1, plen + 1), *words[MAX_WORDS];
    char frame[PROTO_HEADER + PROTO_MAX_REQUEST];
    CHECK(copy);
    if (plen)
        memcpy(copy, c->stream + PROTO_HEADER, plen);
    int n = words_of(copy, plen, words);
    for (int i = 0; i < n; i++)
        total += strlen(words[i]) + 1;
    check_join_sizes(words, n, total);
    int len = proto_join(words, n, frame + PROTO_HEADER, PROTO_MAX_REQUEST);
    if (len < 0) {
        free(copy);
        return;
    }
    proto_header(frame, (uint32_t)len);
    struct chop again = *c;
    again.stream = frame;
    again.len = PROTO_HEADER + (size_t)len;
    struct proto_request r = {.len = 0};
    uint32_t got = 0;
    CHECK(feed_all(&r, &again, &got) == PROTO_DONE && got == (uint32_t)len);
    char *argv[PROTO_MAX_ARGS];
    int argc = proto_split(r.buf + PROTO_HEADER, got, argv, PROTO_MAX_ARGS);
    if (n == 0 || n > PROTO_MAX_ARGS || !words[0][0]) {
        CHECK(argc == -EINVAL);
    } else {
        CHECK(argc == n);
        for (int i = 0; i < n; i++)
            CHECK(strcmp(argv[i], words[i]) == 0);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct chop c = chop_of(data, size);
    struct proto_request r = {.len = 0}; /* fresh, as each connection's is */
    uint32_t len = 0;
    if (c.len >= PROTO_HEADER)
        check_header(c.stream);
    if (feed_all(&r, &c, &len) == PROTO_DONE)
        check_split(r.buf + PROTO_HEADER, len);
    check_round_trip(&c);
    return 0;
}
