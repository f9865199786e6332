/* shellwords: a small state machine over the characters of a command line. */
#include "shellwords.h"

#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

struct words {
    struct arena *a;
    char **argv;
    int argc, cap;
    char *word; /* the word being built, in a scratch buffer as long as the input */
    size_t wlen;
    bool in_word;
};

static void push_word(struct words *w)
{
    if (w->argc + 1 >= w->cap) {
        int cap = w->cap ? w->cap * 2 : 8;
        char **argv = arena_alloc(w->a, sizeof(char *) * (size_t)cap);
        if (w->argc)
            memcpy(argv, w->argv, sizeof(char *) * (size_t)w->argc);
        w->argv = argv;
        w->cap = cap;
    }
    w->argv[w->argc++] = arena_strndup(w->a, w->word, w->wlen);
    w->argv[w->argc] = NULL;
    w->wlen = 0;
    w->in_word = false;
}

static void add(struct words *w, char c)
{
    w->word[w->wlen++] = c;
    w->in_word = true;
}

/* Inside double quotes a backslash escapes only '"' and '\' (as shlex does). */
static const char *double_quoted(struct words *w, const char *p)
{
    for (; *p && *p != '"'; p++) {
        if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
            p++;
        add(w, *p);
    }
    return *p ? p : NULL;
}

static const char *single_quoted(struct words *w, const char *p)
{
    for (; *p && *p != '\''; p++)
        add(w, *p);
    return *p ? p : NULL;
}

int shellwords_split(struct arena *a, const char *s, char ***argv, int *argc, const char **err)
{
    struct words w = {.a = a, .word = arena_alloc(a, strlen(s) + 1)};
    for (const char *p = s; *p; p++) {
        if (strchr(" \t\r\n", *p)) {
            if (w.in_word)
                push_word(&w);
            continue;
        }
        w.in_word = true;
        if (*p == '\\') {
            if (!*++p)
                return *err = "trailing backslash", -EINVAL;
            add(&w, *p);
        } else if (*p == '"') {
            if (!(p = double_quoted(&w, p + 1)))
                return *err = "unterminated double quote", -EINVAL;
        } else if (*p == '\'') {
            if (!(p = single_quoted(&w, p + 1)))
                return *err = "unterminated single quote", -EINVAL;
        } else {
            add(&w, *p);
        }
    }
    if (w.in_word)
        push_word(&w);
    if (w.argc == 0)
        return *err = "empty command", -EINVAL;
    *argv = w.argv;
    *argc = w.argc;
    return 0;
}

void shellwords_quote(const char *s, char *buf, size_t len)
{
    size_t n = strlen(buf);
    bool plain = *s != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = strchr(" \t\r\n'\"\\$`;&|<>(){}*?#~", *p) == NULL;
    if (plain) {
        snprintf(buf + n, len - n, "%s", s);
        return;
    }
    /* Single quotes keep everything literal; an embedded ' closes, escapes, reopens. */
    if (n + 1 < len)
        buf[n++] = '\'';
    for (const char *p = s; *p && n + 5 < len; p++) {
        if (*p == '\'') {
            memcpy(buf + n, "'\\''", 4);
            n += 4;
        } else {
            buf[n++] = *p;
        }
    }
    if (n + 1 < len)
        buf[n++] = '\'';
    buf[n] = '\0';
}
