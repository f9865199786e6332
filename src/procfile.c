/* procfile: splits a Procfile into lines and each line into a name and a command. */
#include "procfile.h"
#include "textfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Far above any real Procfile. The parse sizes its arrays by the line count, so
 * this also bounds what /dev/zero or a stray binary file can make it allocate. */
enum { MAX_FILE = 1 << 20 };

/* One physical line, without its line end. */
struct line {
    const char *s;
    size_t len;
    int no;
};

static bool next_line(const char **pos, const char *end, struct line *l)
{
    if (*pos >= end)
        return false;
    const char *nl = memchr(*pos, '\n', (size_t)(end - *pos));
    const char *stop = nl ? nl : end;
    l->s = *pos;
    l->len = (size_t)(stop - *pos);
    if (l->len && l->s[l->len - 1] == '\r')
        l->len--;
    l->no++;
    *pos = nl ? nl + 1 : end;
    return true;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* ASCII only, whatever the locale: names become log prefixes and env values. */
static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static int find(const struct procfile *pf, const char *name)
{
    for (int i = 0; i < pf->n; i++)
        if (strcmp(pf->entries[i].name, name) == 0)
            return i;
    return -1;
}

static bool add_entry(const char *path, int line, struct procfile *pf, const char *name,
                      const char *command, struct diag_list *d)
{
    int dup = find(pf, name);
    if (dup >= 0) {
        diag_add(d, DIAG_ERROR, DIAG_SYNTAX, path, line,
                 "duplicate process '%s' (first at line %d)", name, pf->entries[dup].line);
        return false;
    }
    pf->entries[pf->n++] = (struct procfile_entry){.name = name, .command = command, .line = line};
    return true;
}

/* Adds one `name: command` line; returns false after reporting what is wrong with it. */
static bool parse_line(struct arena *a, const char *path, struct line l, struct procfile *pf,
                       struct diag_list *d)
{
    const char *p = l.s, *end = l.s + l.len;
    while (p < end && is_blank(*p))
        p++;
    if (p == end || *p == '#')
        return true;
    const char *name = p;
    while (p < end && is_name_char(*p))
        p++;
    size_t nlen = (size_t)(p - name);
    if (nlen == 0 || p == end || *p != ':') {
        diag_add(d, DIAG_ERROR, DIAG_SYNTAX, path, l.no, "expected 'name: command'");
        return false;
    }
    const char *cmd = p + 1;
    while (cmd < end && is_blank(*cmd))
        cmd++;
    while (end > cmd && is_blank(end[-1]))
        end--;
    if (cmd == end) {
        diag_add(d, DIAG_ERROR, DIAG_SYNTAX, path, l.no, "process '%.*s' has no command",
                 (int)nlen, name);
        return false;
    }
    return add_entry(path, l.no, pf, arena_strndup(a, name, nlen),
                     arena_strndup(a, cmd, (size_t)(end - cmd)), d);
}

static int count_lines(const char *text, size_t len)
{
    int n = 1;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + len - p))); p++)
        n++;
    return n;
}

int procfile_parse(struct arena *a, const char *path, const char *text, size_t len,
                   struct procfile **out, struct diag_list *d)
{
    if (memchr(text, '\0', len)) {
        diag_add(d, DIAG_ERROR, DIAG_SYNTAX, path, 0, "not a text file (contains a NUL byte)");
        return -EINVAL;
    }
    struct procfile *pf = arena_alloc(a, sizeof(*pf));
    pf->entries = arena_alloc(a, sizeof(*pf->entries) * (size_t)count_lines(text, len));
    const char *pos = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? text + 3 : text;
    struct line l = {.no = 0};
    bool ok = true;
    while (next_line(&pos, text + len, &l))
        ok &= parse_line(a, path, l, pf, d);
    if (!ok)
        return -EINVAL;
    *out = pf;
    return 0;
}

int procfile_read(struct arena *a, const char *path, struct procfile **out, struct diag_list *d)
{
    char *text = NULL;
    size_t len = 0;
    int r = textfile_read(path, MAX_FILE, &text, &len);
    if (r < 0) {
        diag_add(d, DIAG_ERROR, DIAG_SYNTAX, path, 0, "cannot read: %s", strerror(-r));
        return r;
    }
    r = procfile_parse(a, path, text, len, out, d);
    free(text);
    return r;
}
