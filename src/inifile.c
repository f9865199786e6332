/* inifile: an inih reader that tracks physical lines, and a handler that merges. */
#include "inifile.h"
#include "textfile.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { MAX_FILE = 16 << 20 };

struct reader {
    struct inidoc *doc;
    const char *file;
    const char *buf, *end, *pos; /* the whole file and the next unread byte */
    const char *line;            /* the current physical line, without its newline */
    size_t len;
    int lineno;
    bool indented, seen_key;
    struct ini_section *section;
    struct ini_entry *last; /* the entry a continuation line extends */
    struct diag_list *diags;
};

struct ini_section *inidoc_section(const struct inidoc *doc, const char *name)
{
    for (struct ini_section *s = doc->sections; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

struct ini_entry *ini_get(const struct ini_section *s, const char *key)
{
    for (struct ini_entry *e = s ? s->entries : NULL; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* The section of that name, made (where first seen) when there is none. */
static struct ini_section *section_of(struct inidoc *doc, const char *name, size_t n,
                                      const char *file, int line)
{
    while (n && isspace((unsigned char)*name))
        name++, n--;
    while (n && isspace((unsigned char)name[n - 1]))
        n--;
    char *key = arena_strndup(doc->a, name, n);
    struct ini_section *s = inidoc_section(doc, key), **tail = &doc->sections;
    if (s)
        return s;
    s = arena_alloc(doc->a, sizeof(*s));
    s->name = key;
    s->file = file;
    s->line = line;
    while (*tail)
        tail = &(*tail)->next;
    return *tail = s;
}

static struct ini_section *open_section(struct reader *r, const char *name, size_t n)
{
    return section_of(r->doc, name, n, r->file, r->lineno);
}

/* Sets key (lower-cased) in s: a key set again keeps its place and the last value. */
static struct ini_entry *entry_set(struct inidoc *doc, struct ini_section *s, const char *name,
                                   const char *value, const char *file, int line)
{
    struct ini_entry **tail = &s->entries, *e;
    char *key = arena_strdup(doc->a, name);
    for (char *k = key; *k; k++)
        *k = (char)tolower((unsigned char)*k);
    while (*tail && strcmp((*tail)->key, key) != 0)
        tail = &(*tail)->next;
    if (!(e = *tail)) {
        e = *tail = arena_alloc(doc->a, sizeof(*e));
        e->key = key;
    }
    e->value = value;
    e->file = file;
    e->line = line;
    return e;
}

void inidoc_set(struct inidoc *doc, const char *section, const char *key, const char *value,
                const char *file, int line)
{
    struct ini_section *s = section_of(doc, section, strlen(section), file, line);
    entry_set(doc, s, key, arena_strdup(doc->a, value), file, line);
}

/* The text after the key's delimiter (or the whole continuation line), without
 * an inline comment: ';' or '#' preceded by whitespace, as supervisord reads it. */
static char *raw_value(struct reader *r)
{
    const char *p = r->line, *end = r->line + r->len;
    if (!r->indented || !r->seen_key) {
        while (p < end && *p != '=' && *p != ':')
            p++;
        p += p < end;
    }
    const char *v = p;
    for (const char *q = p; q < end; q++)
        if ((*q == ';' || *q == '#') && (q == v || isspace((unsigned char)q[-1]))) {
            end = q;
            break;
        }
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    return arena_strndup(r->doc->a, p, (size_t)(end - p));
}

static void set_entry(struct reader *r, const char *name, char *value)
{
    r->last = entry_set(r->doc, r->section, name, value, r->file, r->lineno);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct reader *r = user;
    (void)section, (void)value; /* taken from the reader's line: see raw_value() */
    char *v = raw_value(r);
    if (r->indented && r->last && r->seen_key && strcasecmp(r->last->key, name) == 0) {
        r->last->value = arena_printf(r->doc->a, "%s\n%s", r->last->value, v);
        return 1;
    }
    if (!r->section) {
        diag_add(r->diags, DIAG_ERROR, DIAG_SYNTAX, r->file, r->lineno,
                 "'%s' comes before any [section]", name);
        return 1;
    }
    set_entry(r, name, v);
    r->seen_key = true;
    return 1;
}

/* Classifies the physical line as inih will, so that empty sections exist too. */
static void note_line(struct reader *r)
{
    const char *p = r->line, *end = r->line + r->len;
    while (p < end && isspace((unsigned char)*p))
        p++;
    r->indented = p > r->line;
    if (p == end || *p != '[' || (r->indented && r->seen_key))
        return;
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (close) {
        r->section = open_section(r, p + 1, (size_t)(close - p - 1));
        r->seen_key = false;
        r->last = NULL;
    }
}

/* Gives inih one physical line at a time. A line longer than inih's buffer is
 * handed over shortened to its key (its value comes from the raw line anyway). */
static char *read_line(char *str, int num, void *stream)
{
    struct reader *r = stream;
    if (r->pos >= r->end)
        return NULL;
    const char *nl = memchr(r->pos, '\n', (size_t)(r->end - r->pos));
    r->line = r->pos;
    r->len = (size_t)((nl ? nl : r->end) - r->pos);
    r->pos = nl ? nl + 1 : r->end;
    if (r->len && r->line[r->len - 1] == '\r')
        r->len--;
    r->lineno++;
    note_line(r);
    size_t n = r->len;
    if (n + 2 > (size_t)num) {
        n = strcspn(r->line, "=:\n");
        n = n + 3 > (size_t)num || n >= r->len ? (size_t)num - 3 : n + 1;
    }
    memcpy(str, r->line, n);
    memcpy(str + n, "\n", 2);
    return str;
}

int inidoc_read(struct inidoc *doc, const char *path, struct diag_list *diags)
{
    char *buf = NULL;
    size_t len = 0;
    int r = textfile_read(path, MAX_FILE, &buf, &len);
    if (r < 0)
        return r;
    /* into the arena before parsing: out of memory, the arena's builder lets go of
     * everything at once (arena_on_oom), this too */
    char *text = arena_alloc(doc->a, len + 1);
    memcpy(text, buf, len);
    free(buf);
    buf = text;
    struct reader rd = {.doc = doc, .file = arena_strdup(doc->a, path), .buf = buf, .end = buf + len,
                         .diags = diags};
    rd.pos = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? buf + 3 : buf;
    if (memchr(buf, '\0', len)) {
        diag_add(diags, DIAG_ERROR, DIAG_SYNTAX, path, 0, "not a text file (contains a NUL byte)");
        return -EINVAL;
    }
    int before = diag_errors(diags);
    int line = ini_parse_stream(read_line, &rd, handler, &rd);
    if (line == 0 && diag_errors(diags) > before)
        return -EINVAL;
    if (line != 0) {
        diag_add(diags, DIAG_ERROR, DIAG_SYNTAX, path, line,
                 "expected '[section]', 'key = value' or a comment");
        return -EINVAL;
    }
    return 0;
}
