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

/* ---- how a command runs ---- */

/* Words a shell reads as its own: Ruby's list (Process.spawn, which foreman runs
 * commands with), and builtins no program on the PATH stands for. */
static const char *const shell_words[] = {
    "!",     ".",    ":",      "break", "case",     "continue", "do",     "done",  "elif",
    "else",  "esac", "eval",   "exec",  "exit",     "export",   "fi",     "for",   "if",
    "in",    "readonly", "return", "set", "shift",  "then",     "times",  "trap",  "unset",
    "until", "while", "alias", "cd",    "function", "local",    "select", "source", "ulimit",
    "umask", "{",    "}",      "[[",    NULL};

static bool is_shell_word(const char *w, size_t n)
{
    for (const char *const *k = shell_words; *k; k++)
        if (strlen(*k) == n && !memcmp(*k, w, n))
            return true;
    return false;
}

/* What separates words for the shell: a vertical tab or a form feed is part of a word. */
static bool is_separator(char c)
{
    return c == ' ' || c == '\t';
}

/* The end of the word at p: quotes and backslashes hide separators. */
static const char *word_end(const char *p)
{
    char quote = 0;
    for (; *p && (quote || !is_separator(*p)); p++) {
        if (quote && *p == quote)
            quote = 0;
        else if (!quote && (*p == '\'' || *p == '"'))
            quote = *p;
        else if (*p == '\\' && quote != '\'' && p[1])
            p++;
    }
    return p;
}

static bool is_assignment(const char *w, const char *end)
{
    if (w == end || !((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || *w == '_'))
        return false;
    while (w < end && (is_name_char(*w) && *w != '-'))
        w++;
    return w < end && *w == '=';
}

/* An operator that makes more than one command: a pipe, a list, a subshell, a group,
 * a command substitution. `2>&1` and `>|` are redirections, which `exec` keeps. */
static bool is_operator(const char *c, const char *start)
{
    bool after_redirect = c > start && (c[-1] == '>' || c[-1] == '<');
    if ((*c == '&' || *c == '|') && after_redirect)
        return false;
    return strchr("|&;(){}\n`", *c) || (*c == '$' && c[1] == '(');
}

/* Where the command word of a single simple command starts (after VAR=value words),
 * or -1 when the text is more than one command or its word is the shell's own. */
static int simple_command_at(const char *cmd)
{
    char quote = 0;
    for (const char *c = cmd; *c; c++) {
        if (quote == '\'') {
            quote = *c == '\'' ? 0 : quote;
        } else if (*c == '\\') {
            if (!*++c)
                return -1;
        } else if (*c == '`' || (*c == '$' && c[1] == '(')) {
            return -1; /* inside double quotes too: a command of its own */
        } else if (quote == '"') {
            quote = *c == '"' ? 0 : quote;
        } else if (*c == '\'' || *c == '"') {
            quote = *c;
        } else if (is_operator(c, cmd)) {
            return -1;
        }
    }
    if (quote)
        return -1;
    const char *w = cmd, *end;
    for (; *w && is_assignment(w, end = word_end(w)); w = end)
        while (is_separator(*end))
            end++;
    end = word_end(w);
    return w == end || is_shell_word(w, (size_t)(end - w)) ? -1 : (int)(w - cmd);
}

/* Ruby's rule: none of its shell characters, no VAR=value first, no shell word first. */
static bool needs_shell(const char *cmd)
{
    size_t first = strcspn(cmd, " \t");
    if (cmd[strcspn(cmd, "*?{}[]<>()~&|\\$;'`\"\n#")])
        return true;
    return memchr(cmd, '=', first) || is_shell_word(cmd, first);
}

enum procfile_run procfile_how(const char *command, int *exec_at)
{
    *exec_at = -1;
    if (!needs_shell(command))
        return PROCFILE_EXEC;
    *exec_at = simple_command_at(command);
    return PROCFILE_SHELL;
}
