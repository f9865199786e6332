/* sockconf: reads the keys naming tend's socket from a tend.ini or supervisord.conf. */
#include "sockconf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "expand.h"

/* The keys, most telling first (a later one is used only when none before is set). */
static const struct {
    const char *section, *key;
} wanted[] = {
    {"tend", "socket"},
    {"supervisord", "socket"},
    {"unix_http_server", "file"},
    {"supervisorctl", "serverurl"},
};
enum { NWANTED = sizeof(wanted) / sizeof(wanted[0]) };

int sockconf_url(const char *url, const char **path)
{
    if (!strncmp(url, "unix://", 7))
        return *path = url + 7, 0;
    if (strstr(url, "://"))
        return -EPROTONOSUPPORT;
    return *path = url, 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* An inline comment starts at ';' or '#' after whitespace (supervisord's rule). */
static void cut_comment(char *s)
{
    for (char *p = s; *p; p++)
        if ((*p == ';' || *p == '#') && p > s && isspace((unsigned char)p[-1])) {
            *p = '\0';
            return;
        }
}

/* One line: a section header sets section; a wanted key's value is kept (the last
 * one read wins, as in tend). */
static void take_line(char *line, char *section, size_t seclen, char *found[NWANTED])
{
    char *s = trim(line);
    if (*s == ';' || *s == '#' || !*s || isspace((unsigned char)*line))
        return; /* comments, blank lines, continuations: none of these keys spans lines */
    if (*s == '[') {
        char *end = strchr(s, ']');
        snprintf(section, seclen, "%.*s", end ? (int)(end - s - 1) : 0, s + 1);
        return;
    }
    size_t k = strcspn(s, "=:");
    if (!s[k])
        return;
    s[k] = '\0';
    char *key = trim(s), *value = s + k + 1;
    cut_comment(value);
    for (int i = 0; i < NWANTED; i++)
        if (!strcasecmp(section, wanted[i].section) && !strcasecmp(key, wanted[i].key)) {
            free(found[i]);
            found[i] = strdup(trim(value));
        }
}

/* %(here)s is the file's directory, made absolute as tend makes it. */
static int expand(const char *path, const char *value, char *out, size_t len, char *err,
                  size_t errlen)
{
    char dir[PATH_MAX], real[PATH_MAX], *v = NULL;
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    struct expand_var here = {.name = "here", .str = realpath(slash ? dir : ".", real) ? real : dir};
    struct expand_ctx ctx = {.vars = &here, .nvars = 1};
    struct arena *a = arena_new();
    int r = a ? expand_value(a, &ctx, value, &v) : -ENOMEM;
    if (r == 0 && ctx.unset_env)
        v = NULL; /* tend keeps its default then: so does tendctl */
    else if (r < 0)
        snprintf(err, errlen, "%s: socket '%s': %s", path, value, a ? ctx.error : "out of memory");
    if (v)
        snprintf(out, len, "%s", v);
    arena_free(a);
    return r < 0 ? r : v != NULL;
}

static int choose(const char *path, char *found[NWANTED], char *out, size_t len, char *err,
                  size_t errlen)
{
    for (int i = 0; i < NWANTED; i++) {
        const char *value = found[i];
        if (!value || !*value)
            continue;
        if (!strcmp(wanted[i].key, "serverurl") && sockconf_url(value, &value) < 0)
            continue; /* http://: not where tend listens */
        int r = expand(path, value, out, len, err, errlen);
        if (r != 0)
            return r;
    }
    return 0;
}

int sockconf_read(const char *path, char *out, size_t len, char *err, size_t errlen)
{
    char *found[NWANTED] = {0}, section[128] = "", *line = NULL;
    size_t cap = 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "reading '%s': %s", path, strerror(e));
        return -e;
    }
    while (getline(&line, &cap, f) >= 0)
        take_line(line, section, sizeof(section), found);
    fclose(f);
    free(line);
    int r = choose(path, found, out, len, err, errlen);
    for (int i = 0; i < NWANTED; i++)
        free(found[i]);
    return r;
}
