/* envlist: KEY=value lists. A scanner for supervisord's comma-separated pairs with
 * optional quotes, and the one place that sets a variable in a list or starts a
 * child's environment from tend's. */
#include "envlist.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static size_t count(const char *const *list)
{
    size_t n = 0;
    while (list && list[n])
        n++;
    return n;
}

/* Whether entry ("KEY=value") sets the variable kv sets. */
static bool same_key(const char *entry, const char *kv)
{
    size_t keylen = strcspn(kv, "=");
    return !strncmp(entry, kv, keylen) && entry[keylen] == '=';
}

const char **envlist_set(struct arena *a, const char **list, const char *kv)
{
    size_t n = count(list);
    const char **out = arena_alloc(a, sizeof(char *) * (n + 2));
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (!same_key(list[i], kv))
            out[j++] = list[i];
    out[j++] = kv;
    out[j] = NULL;
    return out;
}

void envlist_put(const char **env, const char *kv)
{
    size_t i = 0;
    while (env[i] && !same_key(env[i], kv))
        i++;
    env[i] = kv;
}

/* systemd's variables are for tend: a child that saw them could speak for tend. */
static bool systemd_var(const char *kv)
{
    return !strncmp(kv, "NOTIFY_SOCKET=", 14) || !strncmp(kv, "WATCHDOG_USEC=", 14) ||
           !strncmp(kv, "WATCHDOG_PID=", 13);
}

const char **envlist_inherit(char *const *env, size_t room)
{
    size_t n = count((const char *const *)env);
    const char **out = calloc(n + room + 1, sizeof(char *));
    if (!out)
        return NULL;
    for (size_t i = 0, j = 0; i < n; i++)
        if (!systemd_var(env[i]))
            out[j++] = env[i];
    return out;
}

static const char *skip_space(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

/* Reads one value at p (quoted or up to the next comma); returns where it ends. */
static const char *read_value(const char *p, const char **start, size_t *len, const char **err)
{
    if (*p == '"' || *p == '\'') {
        const char *close = strchr(p + 1, *p);
        if (!close)
            return *err = "unterminated quote in environment", NULL;
        *start = p + 1;
        *len = (size_t)(close - p - 1);
        p = skip_space(close + 1);
        if (*p && *p != ',')
            return *err = "expected ',' after a quoted environment value", NULL;
        return p;
    }
    const char *end = p + strcspn(p, ",");
    *start = p;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    *len = (size_t)(end - p);
    return p + strcspn(p, ",");
}

static bool valid_key(const char *k, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)k[i]) || k[i] == '"' || k[i] == '\'' || k[i] == ',')
            return false;
    return true;
}

int envlist_parse(struct arena *a, const char *s, const char ***out, const char **err)
{
    const char **list = arena_alloc(a, sizeof(char *));
    for (const char *p = skip_space(s); *p; p = skip_space(p)) {
        const char *eq = p + strcspn(p, "=,");
        const char *kend = eq;
        while (kend > p && isspace((unsigned char)kend[-1]))
            kend--;
        if (*eq != '=')
            return *err = "expected KEY=value in environment", -EINVAL;
        if (!valid_key(p, (size_t)(kend - p)))
            return *err = "bad variable name in environment", -EINVAL;
        const char *v;
        size_t vlen;
        const char *next = read_value(skip_space(eq + 1), &v, &vlen, err);
        if (!next)
            return -EINVAL;
        list = envlist_set(a, list,
                           arena_printf(a, "%.*s=%.*s", (int)(kend - p), p, (int)vlen, v));
        p = *next == ',' ? next + 1 : next;
    }
    *out = list;
    return 0;
}
