/* expand: formats %(name)<spec> against a table of named strings and numbers. */
#include "expand.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

/* Finds name among the variables; ENV_X reads the environment. Returns 0, or
 * -ENOENT when the name is unknown. */
static int lookup(struct expand_ctx *ctx, const char *name, struct expand_var *out)
{
    for (int i = 0; i < ctx->nvars; i++)
        if (strcmp(ctx->vars[i].name, name) == 0)
            return *out = ctx->vars[i], 0;
    if (strncmp(name, "ENV_", 4) != 0 || !name[4])
        return -ENOENT;
    out->name = name;
    out->str = getenv(name + 4);
    if (!out->str) {
        if (!ctx->unset_env)
            ctx->unset_env = name + 4;
        out->str = "";
    }
    return 0;
}

/* Width and precision are numbers in the spec: a huge one would make printf pad
 * gigabytes. Anything beyond the output buffer is refused. */
static bool spec_fits(const char *spec, size_t speclen, size_t outlen)
{
    for (size_t i = 0; i < speclen;) {
        if (!isdigit((unsigned char)spec[i])) {
            i++;
            continue;
        }
        unsigned long n = 0;
        for (; i < speclen && isdigit((unsigned char)spec[i]); i++)
            if ((n = n * 10 + (unsigned long)(spec[i] - '0')) >= outlen)
                return false;
    }
    return true;
}

/* Renders one value with a printf conversion built from the spec (flags, width, type). */
static int render(struct expand_var *v, const char *spec, size_t speclen, char conv,
                  char *out, size_t outlen)
{
    char fmt[32], *end;
    long num = v->num;
    if (speclen > 16 || !spec_fits(spec, speclen, outlen / 2))
        return -ERANGE;
    if (conv == 's') {
        snprintf(fmt, sizeof(fmt), "%%%.*ss", (int)speclen, spec);
        if (v->str)
            return snprintf(out, outlen, fmt, v->str), 0;
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%ld", num);
        return snprintf(out, outlen, fmt, tmp), 0;
    }
    /* A number is wanted: a string variable qualifies when it holds one (ENV_N=4). */
    if (v->str) {
        num = strtol(v->str, &end, 10);
        if (!*v->str || *end)
            return -EINVAL;
    }
    snprintf(fmt, sizeof(fmt), "%%%.*sl%c", (int)speclen, spec, conv == 'i' ? 'd' : conv);
    snprintf(out, outlen, fmt, num);
    return 0;
}

__attribute__((format(printf, 3, 4))) static int fail(struct expand_ctx *ctx, struct arena *a,
                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ctx->error = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Expands the %(...) at *pp, appending to b and advancing *pp past it. */
static int expand_one(struct arena *a, struct expand_ctx *ctx, const char **pp, struct strbuf *b)
{
    const char *start = *pp, *p = start + 1;
    int shown = (int)strcspn(start, " \t\n\"'");
    const char *close = strchr(p, ')');
    if (*p != '(' || !close)
        return fail(ctx, a, "bad expansion '%.*s': write '%%%%' for a literal '%%'", shown, start);
    char *name = arena_strndup(a, p + 1, (size_t)(close - p - 1));
    const char *spec = close + 1;
    size_t speclen = strspn(spec, "-+ #0123456789.");
    char conv = spec[speclen];
    if (!conv || !strchr("sdixXo", conv))
        return fail(ctx, a, "bad expansion '%.*s': expected a type such as 's' or 'd' after ')'",
                    (int)(spec + speclen - start + (conv ? 1 : 0)), start);
    struct expand_var v = {0};
    if (lookup(ctx, name, &v) < 0)
        return fail(ctx, a, "unknown expansion '%.*s'", (int)(spec + speclen + 1 - start), start);
    char out[4096];
    int r = render(&v, spec, speclen, conv, out, sizeof(out));
    if (r == -ERANGE)
        return fail(ctx, a, "expansion '%.*s': width too large",
                    (int)(spec + speclen + 1 - start), start);
    if (r < 0)
        return fail(ctx, a, "expansion '%.*s' needs a number",
                    (int)(spec + speclen + 1 - start), start);
    strbuf_add(b, out, strlen(out));
    *pp = spec + speclen + 1;
    return 0;
}

int expand_value(struct arena *a, struct expand_ctx *ctx, const char *s, char **out)
{
    struct strbuf b = {0};
    strbuf_add(&b, "", 0);
    for (const char *p = s; *p;) {
        const char *pct = strchr(p, '%');
        if (!pct) {
            strbuf_add(&b, p, strlen(p));
            break;
        }
        strbuf_add(&b, p, (size_t)(pct - p));
        if (pct[1] == '%') {
            strbuf_add(&b, "%", 1);
            p = pct + 2;
        } else if (expand_one(a, ctx, &pct, &b) < 0) {
            strbuf_free(&b);
            return -EINVAL;
        } else {
            p = pct;
        }
    }
    size_t len = b.len;
    char *text = strbuf_take(&b);
    if (!text)
        return fail(ctx, a, "out of memory");
    *out = arena_strndup(a, text, len);
    free(text);
    return 0;
}
