/* json: string escaping per RFC 8259. Child output is bytes, JSON is Unicode:
 * a byte that is not part of valid UTF-8 becomes U+FFFD. */
#include "json.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct out {
    char *p;
    size_t cap, written;
    bool full;
};

/* Appends a piece whole or not at all, keeping room for the closing quote. */
static void put(struct out *o, const char *s, size_t n)
{
    if (!o->full && o->written + n + 2 <= o->cap) {
        memcpy(o->p + o->written, s, n);
        o->written += n;
    } else {
        o->full = true;
    }
}

/* Length of the valid UTF-8 sequence at s, or 0 when the byte starts none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n || (len == 2 && s[0] < 0xc2) || (len == 4 && s[0] > 0xf4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0;
    return len;
}

size_t json_quote(char *buf, size_t buflen, const char *s, size_t n)
{
    struct out o = {.p = buf, .cap = buflen};
    const unsigned char *u = (const unsigned char *)s;
    put(&o, "\"", 1);
    for (size_t i = 0; i < n;) {
        char esc[8];
        size_t len = utf8_len(u + i, n - i);
        if (u[i] == '"' || u[i] == '\\' || u[i] == '\n' || u[i] == '\t' || u[i] == '\r') {
            esc[0] = '\\';
            esc[1] = u[i] == '\n' ? 'n' : u[i] == '\t' ? 't' : u[i] == '\r' ? 'r' : (char)u[i];
            put(&o, esc, 2);
        } else if (u[i] < 0x20 || u[i] == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
            put(&o, esc, 6);
        } else if (len == 0) {
            put(&o, "\\ufffd", 6);
            len = 1;
        } else {
            put(&o, s + i, len);
        }
        i += len ? len : 1;
    }
    buf[o.written] = '"';
    buf[o.written + 1] = '\0';
    return o.written + 1;
}
