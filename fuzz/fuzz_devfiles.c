/* fuzz_devfiles: runs the Procfile and .env parsers of `tend dev` on each input and
 * checks the properties their headers state, and that what they accept, written
 * back out, reads back the same. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "dotenv.h"
#include "procfile.h"

/* A broken promise is a finding: abort so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "fuzz_devfiles: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

/* An exact-size copy, without a terminator: the parsers take a length, and a read
 * one byte past it is then an ASan report. */
static char *copy_of(const uint8_t *data, size_t len)
{
    char *p = malloc(len ? len : 1);
    CHECK(p);
    memcpy(p, data, len);
    return p;
}

static int count_lines(const char *text, size_t len)
{
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    return n;
}

/* diag.h: a failure reports errors, each on a line the text has (0 for the file). */
static void check_failure(const struct diag_list *d, int r, int lines)
{
    CHECK(r == -EINVAL);
    CHECK(diag_errors(d) > 0);
    for (int i = 0; i < d->n; i++)
        CHECK(d->items[i].line >= 0 && d->items[i].line <= lines && d->items[i].msg[0]);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* procfile.h: a command exec'd has no shell character; "exec " goes before a word
 * of the command, never past its end. */
static void check_how(const char *command)
{
    int at = -2;
    enum procfile_run how = procfile_how(command, &at);
    size_t len = strlen(command);
    if (how == PROCFILE_EXEC)
        CHECK(at == -1 && strcspn(command, "*?{}[]<>()~&|\\$;'`\"\n#") == len);
    else
        CHECK(how == PROCFILE_SHELL && at >= -1 && (size_t)(at + 1) <= len &&
              (at <= 0 || command[at - 1] == ' ' || command[at - 1] == '\t'));
}

/* procfile.h: names of [A-Za-z0-9_-], unique; commands trimmed, non-empty, one
 * line; entries in file order. */
static void check_procfile(const struct procfile *pf, int lines)
{
    static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789_-";
    for (int i = 0; i < pf->n; i++) {
        const struct procfile_entry *e = &pf->entries[i];
        size_t clen = strlen(e->command);
        CHECK(e->name[0] && strspn(e->name, name_chars) == strlen(e->name));
        CHECK(clen > 0 && !is_blank(e->command[0]) && !is_blank(e->command[clen - 1]));
        CHECK(!strchr(e->command, '\n'));
        CHECK(e->line >= 1 && e->line <= lines);
        CHECK(i == 0 || e->line > pf->entries[i - 1].line);
        for (int j = 0; j < i; j++)
            CHECK(strcmp(pf->entries[j].name, e->name) != 0);
        check_how(e->command);
    }
}

/* Each entry written as "name: command" reads back as itself. */
static void roundtrip_procfile(const struct procfile *pf)
{
    struct arena *a = arena_new();
    struct diag_list d = {0};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f);
    for (int i = 0; i < pf->n; i++)
        fprintf(f, "%s: %s\n", pf->entries[i].name, pf->entries[i].command);
    CHECK(fclose(f) == 0);
    struct procfile *again = NULL;
    char *copy = copy_of((const uint8_t *)text, len);
    CHECK(procfile_parse(a, "again", copy, len, &again, &d) == 0 && d.n == 0);
    CHECK(again->n == pf->n);
    for (int i = 0; i < pf->n; i++) {
        CHECK(strcmp(again->entries[i].name, pf->entries[i].name) == 0);
        CHECK(strcmp(again->entries[i].command, pf->entries[i].command) == 0);
    }
    free(copy);
    free(text);
    arena_free(a);
}

static void fuzz_procfile(const uint8_t *data, size_t len)
{
    struct arena *a = arena_new();
    struct diag_list d = {0};
    char *text = copy_of(data, len);
    struct procfile *pf = (struct procfile *)&d, *untouched = pf;
    int r = procfile_parse(a, "Procfile", text, len, &pf, &d);
    if (r == 0) {
        CHECK(d.n == 0);
        check_procfile(pf, count_lines(text, len));
        roundtrip_procfile(pf);
    } else {
        CHECK(pf == untouched);
        check_failure(&d, r, count_lines(text, len));
    }
    free(text);
    diag_clear(&d);
    arena_free(a);
}

static bool valid_key(const char *k, size_t n)
{
    static const char start[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    return n > 0 && strchr(start, k[0]) &&
           strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789.-") == n;
}

/* dotenv.h: every entry is KEY=value with a valid key, each key once. */
static void check_env(const char **env)
{
    for (int i = 0; env[i]; i++) {
        size_t klen = strcspn(env[i], "=");
        CHECK(env[i][klen] == '=' && valid_key(env[i], klen));
        for (int j = 0; j < i; j++)
            CHECK(strncmp(env[j], env[i], klen + 1) != 0);
    }
}

/* A value in double quotes with \\, \" and \n escaped, so that no CR stands
 * before a raw newline (a CRLF inside quotes would read back as "\n"). */
static void put_quoted(FILE *f, const char *v)
{
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"' || *v == '\n')
            fputc('\\', f);
        fputc(*v == '\n' ? 'n' : *v, f);
    }
    fputc('"', f);
}

/* Each entry written as export KEY="value" reads back as itself, in order. */
static void roundtrip_env(const char **env)
{
    struct arena *a = arena_new();
    struct diag_list d = {0};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f);
    for (int i = 0; env[i]; i++) {
        size_t klen = strcspn(env[i], "=");
        fprintf(f, "export %.*s = ", (int)klen, env[i]);
        put_quoted(f, env[i] + klen + 1);
        fputc('\n', f);
    }
    CHECK(fclose(f) == 0);
    const char **again = NULL;
    char *copy = copy_of((const uint8_t *)text, len);
    CHECK(dotenv_parse(a, "again", copy, len, &again, &d) == 0 && d.n == 0);
    int i = 0;
    for (; env[i]; i++)
        CHECK(again[i] && strcmp(again[i], env[i]) == 0);
    CHECK(again[i] == NULL);
    free(copy);
    free(text);
    arena_free(a);
}

static void fuzz_dotenv(const uint8_t *data, size_t len)
{
    struct arena *a = arena_new();
    struct diag_list d = {0};
    char *text = copy_of(data, len);
    const char **env = (const char **)&d, **untouched = env;
    int r = dotenv_parse(a, ".env", text, len, &env, &d);
    if (r == 0) {
        CHECK(d.n == 0);
        check_env(env);
        roundtrip_env(env);
    } else {
        CHECK(env == untouched);
        check_failure(&d, r, count_lines(text, len));
    }
    free(text);
    diag_clear(&d);
    arena_free(a);
}

/* Input: a Procfile, a NUL, a .env file. Without a NUL both parsers read it all,
 * so that any seed reaches both. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t plen = nul ? (size_t)(nul - data) : size;
    fuzz_procfile(data, plen);
    if (nul)
        fuzz_dotenv(nul + 1, size - plen - 1);
    else
        fuzz_dotenv(data, size);
    return 0;
}
