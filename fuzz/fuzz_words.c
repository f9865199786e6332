/* fuzz_words: runs the string parsers of config values (shellwords, expand, envlist,
 * json, strconv) on each input and checks the properties their headers state. */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "envlist.h"
#include "expand.h"
#include "json.h"
#include "shellwords.h"
#include "strconv.h"

/* A broken promise is a finding: abort so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "fuzz_words: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* Up to three NUL-separated strings: command line, value to expand, environment list.
 * A missing one is the first again, so a one-string seed reaches every parser. */
struct pieces {
    const char *s[3];
    int n;
};

static struct pieces split(const char *copy, size_t size)
{
    struct pieces p = {.n = 0};
    for (const char *q = copy; p.n < 3 && q <= copy + size; q += strlen(q) + 1)
        p.s[p.n++] = q;
    for (int i = p.n; i < 3; i++)
        p.s[i] = p.s[0];
    return p;
}

/* Every word quoted by shellwords_quote reads back as that one word. */
static void check_quote(const char *word)
{
    size_t len = strlen(word) * 4 + 8; /* each ' becomes '\'' and two quotes wrap it */
    char *buf = calloc(1, len), **argv;
    const char *err = NULL;
    int argc;
    struct arena *a = arena_new();
    CHECK(buf);
    shellwords_quote(word, buf, len);
    CHECK(shellwords_split(a, buf, &argv, &argc, &err) == 0);
    CHECK(argc == 1 && strcmp(argv[0], word) == 0);
    arena_free(a);
    free(buf);
}

static void fuzz_shellwords(const char *s)
{
    struct arena *a = arena_new();
    char **argv = NULL;
    const char *err = NULL;
    int argc = -1;
    if (shellwords_split(a, s, &argv, &argc, &err) == 0) {
        CHECK(argc >= 1 && argv[argc] == NULL);
        for (int i = 0; i < argc; i++)
            check_quote(argv[i]);
    } else {
        CHECK(err);
    }
    arena_free(a);
}

/* The variables a [program:x] sees, plus a string that holds a number (as ENV_N=4 does). */
static const struct expand_var vars[] = {
    {.name = "program_name", .str = "web"},  {.name = "group_name", .str = "web"},
    {.name = "process_num", .num = 3},       {.name = "numprocs", .num = 4},
    {.name = "port", .num = 8003},           {.name = "here", .str = "/etc/tend"},
    {.name = "host_node_name", .str = "box"}, {.name = "str_num", .str = "42"},
    {.name = "negative", .num = LONG_MIN},
};

static void fuzz_expand(const char *s)
{
    struct arena *a = arena_new();
    struct expand_ctx ctx = {.vars = vars, .nvars = (int)(sizeof(vars) / sizeof(vars[0]))};
    char *out = NULL;
    if (expand_value(a, &ctx, s, &out) == 0)
        CHECK(out);
    else
        CHECK(ctx.error);
    arena_free(a);
}

/* envlist.h: every entry is KEY=value, and a key given twice keeps only its last value. */
static void check_env(const char **list)
{
    for (int i = 0; list[i]; i++) {
        size_t klen = strcspn(list[i], "=");
        CHECK(list[i][klen] == '=' && klen > 0);
        for (int j = 0; j < i; j++)
            CHECK(strncmp(list[j], list[i], klen + 1) != 0);
    }
}

static void fuzz_envlist(const char *s)
{
    struct arena *a = arena_new();
    const char **list = NULL, *err = NULL;
    if (envlist_parse(a, s, &list, &err) == 0) {
        check_env(list);
        list = envlist_set(a, list, "PORT=8000");
        check_env(list);
    } else {
        CHECK(err);
    }
    arena_free(a);
}

/* The buffer is exactly outlen bytes on the heap, so a write past it is caught. */
static void fuzz_json(const uint8_t *data, size_t size)
{
    size_t outlen = 3 + (size ? data[0] % 64 : 0);
    char *out = malloc(outlen);
    CHECK(out);
    size_t n = json_quote(out, outlen, (const char *)data, size);
    CHECK(n < outlen && out[n] == '\0' && out[0] == '"' && out[n - 1] == '"');
    free(out);
}

static void fuzz_signal(const char *s)
{
    int sig;
    if (strconv_signal(s, &sig) < 0)
        return;
    const char *name = strconv_signal_name(sig);
    int again = -1;
    if (name) /* a name reads back as its signal */
        CHECK(strconv_signal(name, &again) == 0 && again == sig);
}

/* A unit suffix and what one of it is worth. */
struct unit {
    const char *name;
    long double value;
};

static const struct unit duration_units[] = {
    {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {NULL, 0},
};
static const struct unit size_units[] = {
    {"", 1}, {"b", 1}, {"kb", 1024}, {"mb", 1 << 20}, {"gb", 1 << 30}, {NULL, 0},
};

/* An independent reading of a value that strconv accepted ("1.5s", "10MB"), in long
 * double: the two must agree to within one unit, since strconv keeps three digits of
 * a fraction. This catches a result that wrapped around instead of being -ERANGE. */
static void check_scaled(const char *s, uint64_t got, const struct unit *units)
{
    char *end;
    long double num = strtold(s, &end); /* accepted means digits[.digits]unit */
    for (; units->name; units++)
        if (strcasecmp(end, units->name) == 0)
            break;
    CHECK(units->name);
    long double want = num * units->value, diff = (long double)got - want;
    if ((diff < 0 ? -diff : diff) > units->value + 1 + want * 1e-15L) {
        fprintf(stderr, "fuzz_words: strconv read '%s' as %llu, not about %.0Lf\n", s,
                (unsigned long long)got, want);
        abort();
    }
}

static void fuzz_strconv(const char *s)
{
    bool b;
    long l;
    uint64_t u;
    unsigned o;
    char buf[12]; /* shorter than the longest duration, to cover cutting */
    strconv_bool(s, &b);
    strconv_long(s, LONG_MIN, LONG_MAX, &l);
    strconv_long(s, -1, 65535, &l);
    if (strconv_duration_ms(s, &u) == 0) {
        check_scaled(s, u, duration_units);
        strconv_format_duration(u, buf, sizeof(buf));
        CHECK(memchr(buf, '\0', sizeof(buf)));
    }
    if (strconv_size(s, &u) == 0)
        check_scaled(s, u, size_units);
    strconv_octal(s, 0777, &o);
    strconv_octal(s, 07777, &o);
    fuzz_signal(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    CHECK(copy);
    memcpy(copy, data, size);
    copy[size] = '\0';
    struct pieces p = split(copy, size);
    fuzz_shellwords(p.s[0]);
    fuzz_expand(p.s[1]);
    fuzz_envlist(p.s[2]);
    for (int i = 0; i < p.n; i++)
        fuzz_strconv(p.s[i]);
    fuzz_json(data, size);
    free(copy);
    return 0;
}
