/* dotenv: a scanner over .env text that turns each assignment into "KEY=value". */
#include "dotenv.h"
#include "envlist.h"
#include "textfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Far above any real .env file. The parse sizes its arrays by the line count, so
 * this also bounds what /dev/zero or a stray binary file can make it allocate. */
enum { MAX_FILE = 1 << 20 };

struct scan {
    struct arena *a;
    const char *path;
    const char *pos, *end; /* the next unread byte and the end of the text */
    int line;              /* the line pos is on */
    /* room for one entry per line, and the NULL; a later KEY replaces the earlier one
     * where it stands (envlist_put): a child sees the last value */
    const char **env;
    struct diag_list *d;
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* ASCII only, whatever the locale: these names go into every child's environment. */
static bool is_key_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_key_char(char c)
{
    return is_key_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static bool valid_key(const char *k, size_t n)
{
    if (n == 0 || !is_key_start(k[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_key_char(k[i]))
            return false;
    return true;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank(*p))
        p++;
    return p;
}

static const char *line_end(const struct scan *s, const char *p)
{
    const char *nl = memchr(p, '\n', (size_t)(s->end - p));
    return nl ? nl : s->end;
}

/* Moves to the start of the line after the one p is on. */
static void next_line(struct scan *s, const char *p)
{
    const char *eol = line_end(s, p);
    s->pos = eol < s->end ? eol + 1 : s->end;
    s->line++;
}

static bool fail(struct scan *s, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(struct scan *s, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *msg = arena_vprintf(s->a, fmt, ap);
    va_end(ap);
    diag_add(s->d, DIAG_ERROR, DIAG_SYNTAX, s->path, line, "%s", msg);
    return false;
}

/* "KEY=" followed by room for a value of at most vmax bytes. */
static char *new_entry(struct scan *s, const char *key, size_t keylen, size_t vmax)
{
    char *kv = arena_alloc(s->a, keylen + vmax + 2);
    memcpy(kv, key, keylen);
    kv[keylen] = '=';
    return kv;
}

/* The closing quote for the one at open, or NULL; in double quotes \" and \\ hide. */
static const char *find_close(const char *open, const char *end)
{
    for (const char *p = open + 1; p < end; p++) {
        if (*p == *open)
            return p;
        if (*open == '"' && *p == '\\' && p + 1 < end)
            p++;
    }
    return NULL;
}

static char unescape(char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case '"':
    case '\\':
        return c;
    default:
        return 0; /* not an escape: the backslash stays */
    }
}

/* Copies the quoted text between open and close into out, decoding as the quote says. */
static void decode(const char *open, const char *close, char *out)
{
    for (const char *p = open + 1; p < close; p++) {
        char e = *open == '"' && *p == '\\' ? unescape(p[1]) : 0;
        if (e) {
            *out++ = e;
            p++;
        } else if (!(*p == '\r' && p + 1 < close && p[1] == '\n')) {
            *out++ = *p;
        }
    }
    *out = '\0';
}

static int count_newlines(const char *p, const char *end)
{
    int n = 0;
    while ((p = memchr(p, '\n', (size_t)(end - p)))) {
        n++;
        p++;
    }
    return n;
}

/* A quoted value at v for KEY; it may run over several lines. */
static bool quoted_value(struct scan *s, const char *key, size_t keylen, const char *v)
{
    int line = s->line;
    const char *close = find_close(v, s->end);
    if (!close) {
        s->pos = s->end;
        return fail(s, line, "unterminated %s quote", *v == '"' ? "double" : "single");
    }
    /* a decoded value is never longer than its text */
    char *kv = new_entry(s, key, keylen, (size_t)(close - v));
    decode(v, close, kv + keylen + 1);
    line += count_newlines(v, close);
    const char *rest = skip_blanks(close + 1, s->end);
    s->line = line;
    next_line(s, close);
    if (rest < s->end && *rest != '\n' && *rest != '#')
        return fail(s, line, "unexpected text after the closing quote");
    envlist_put(s->env, kv);
    return true;
}

/* An unquoted value runs to the end of the line or to a '#' after a blank, trimmed. */
static void plain_value(struct scan *s, const char *key, size_t keylen, const char *v)
{
    const char *eol = line_end(s, v), *end = v;
    while (end < eol && !(*end == '#' && is_blank(end[-1]))) /* end[-1] is '=' at worst */
        end++;
    while (end > v && is_blank(end[-1]))
        end--;
    char *kv = new_entry(s, key, keylen, (size_t)(end - v));
    memcpy(kv + keylen + 1, v, (size_t)(end - v));
    envlist_put(s->env, kv);
    next_line(s, v);
}

/* `export KEY=...` drops the word; `export=1` and `export = 1` set a key named export. */
static const char *skip_export(const char *p, const char *eol)
{
    if (eol - p <= 6 || memcmp(p, "export", 6) != 0 || !is_blank(p[6]))
        return p;
    const char *q = skip_blanks(p + 6, eol);
    return q < eol && *q != '=' ? q : p;
}

/* One KEY=value entry starting at p, which is on its first non-blank character. */
static bool entry(struct scan *s, const char *p)
{
    int line = s->line;
    const char *eol = line_end(s, p);
    p = skip_export(p, eol);
    const char *eq = memchr(p, '=', (size_t)(eol - p)), *kend = eq;
    while (kend && kend > p && is_blank(kend[-1]))
        kend--;
    if (!eq || kend == p) {
        next_line(s, p);
        return fail(s, line, "expected 'KEY=value'");
    }
    size_t keylen = (size_t)(kend - p);
    if (!valid_key(p, keylen)) {
        next_line(s, p);
        return fail(s, line, "bad variable name '%.*s'", (int)keylen, p);
    }
    const char *v = skip_blanks(eq + 1, eol);
    if (v < eol && (*v == '"' || *v == '\''))
        return quoted_value(s, p, keylen, v);
    plain_value(s, p, keylen, v);
    return true;
}

static int count_lines(const char *text, size_t len)
{
    return 1 + count_newlines(text, text + len);
}

int dotenv_parse(struct arena *a, const char *path, const char *text, size_t len,
                 const char ***env, struct diag_list *d)
{
    if (memchr(text, '\0', len)) {
        diag_add(d, DIAG_ERROR, DIAG_SYNTAX, path, 0, "not a text file (contains a NUL byte)");
        return -EINVAL;
    }
    struct scan s = {.a = a, .path = path, .pos = text, .end = text + len, .line = 1, .d = d};
    s.env = arena_alloc(a, sizeof(*s.env) * (size_t)(count_lines(text, len) + 1));
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        s.pos += 3;
    bool ok = true;
    while (s.pos < s.end) {
        const char *p = skip_blanks(s.pos, s.end);
        if (p == s.end || *p == '\n' || *p == '#')
            next_line(&s, p);
        else
            ok &= entry(&s, p);
    }
    if (!ok)
        return -EINVAL;
    *env = s.env;
    return 0;
}

int dotenv_read(struct arena *a, const char *path, bool optional, const char ***env,
                struct diag_list *d)
{
    char *text = NULL;
    size_t len = 0;
    int r = textfile_read(path, MAX_FILE, &text, &len);
    if (r == -ENOENT && optional) {
        *env = arena_alloc(a, sizeof(**env));
        return 0;
    }
    if (r < 0) {
        diag_add(d, DIAG_ERROR, DIAG_SYNTAX, path, 0, "cannot read: %s", strerror(-r));
        return r;
    }
    r = dotenv_parse(a, path, text, len, env, d);
    free(text);
    return r;
}
