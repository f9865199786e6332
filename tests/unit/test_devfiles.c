/* Unit tests: the files `tend dev` reads, Procfile and .env. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dotenv.h"
#include "procfile.h"

struct fixture {
    struct arena *a;
    struct diag_list d;
    char dir[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->a = arena_new();
    strcpy(f->dir, "/tmp/tend-devfiles-XXXXXX");
    *state = f;
    return mkdtemp(f->dir) ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int r = system(cmd);
    diag_clear(&f->d);
    arena_free(f->a);
    free(f);
    return r == 0 ? 0 : -1;
}

/* Diagnostic i as "FILE:LINE: message", the way a user reads it. */
static const char *diag_text(struct fixture *f, int i)
{
    static char buf[512];
    assert_true(i < f->d.n);
    const struct diag *g = &f->d.items[i];
    assert_int_equal(g->severity, DIAG_ERROR);
    if (g->line > 0)
        snprintf(buf, sizeof(buf), "%s:%d: %s", g->file, g->line, g->msg);
    else
        snprintf(buf, sizeof(buf), "%s: %s", g->file, g->msg);
    return buf;
}

static const char *write_file(struct fixture *f, const char *name, const char *text)
{
    char *path = arena_printf(f->a, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

/* ---- Procfile ---- */

static struct procfile *procfile_ok(struct fixture *f, const char *text)
{
    struct procfile *pf = NULL;
    int r = procfile_parse(f->a, "Procfile", text, strlen(text), &pf, &f->d);
    if (r < 0)
        fail_msg("procfile_parse: %s", diag_text(f, 0));
    assert_int_equal(f->d.n, 0);
    return pf;
}

/* Parses text that must fail; returns how many errors it gave. */
static int procfile_bad(struct fixture *f, const char *text, size_t len)
{
    struct procfile *pf = (struct procfile *)f; /* must stay untouched */
    diag_clear(&f->d);
    assert_int_equal(procfile_parse(f->a, "Procfile", text, len, &pf, &f->d), -EINVAL);
    assert_ptr_equal(pf, f);
    return f->d.n;
}

static void assert_entry(const struct procfile *pf, int i, const char *name, const char *command,
                         int line)
{
    assert_true(i < pf->n);
    assert_string_equal(pf->entries[i].name, name);
    assert_string_equal(pf->entries[i].command, command);
    assert_int_equal(pf->entries[i].line, line);
}

static void test_procfile(void **state)
{
    struct fixture *f = *state;
    struct procfile *pf = procfile_ok(f, "web: node server.js\n"
                                         "worker:bundle exec sidekiq -q default  \n"
                                         "\n"
                                         "# a comment: with a colon\n"
                                         "   # an indented one\n"
                                         "clock:\t\t python clock.py # the shell's comment\n"
                                         "  api-v2_1:   ./api --bind 0.0.0.0:8000 'a: b'\n"
                                         "WEB: NODE");
    assert_int_equal(pf->n, 5);
    assert_entry(pf, 0, "web", "node server.js", 1);
    assert_entry(pf, 1, "worker", "bundle exec sidekiq -q default", 2);
    assert_entry(pf, 2, "clock", "python clock.py # the shell's comment", 6);
    assert_entry(pf, 3, "api-v2_1", "./api --bind 0.0.0.0:8000 'a: b'", 7);
    assert_entry(pf, 4, "WEB", "NODE", 8); /* names are case-sensitive, as in foreman */
}

static void test_procfile_crlf_bom_empty(void **state)
{
    struct fixture *f = *state;
    struct procfile *pf = procfile_ok(f, "\xEF\xBB\xBFweb: a b\r\n\r\n# c\r\nworker: x\r\n");
    assert_int_equal(pf->n, 2);
    assert_entry(pf, 0, "web", "a b", 1);
    assert_entry(pf, 1, "worker", "x", 4);
    assert_int_equal(procfile_ok(f, "")->n, 0);
    assert_int_equal(procfile_ok(f, "\n\n  \t\n# only comments\n")->n, 0);
    pf = procfile_ok(f, "web: echo \"a\rb\"\r\r\n"); /* a lone CR inside stays */
    assert_entry(pf, 0, "web", "echo \"a\rb\"", 1);
}

static void test_procfile_errors(void **state)
{
    struct fixture *f = *state;
    const char *text = "web: node a.js\n"
                       "worker node b.js\n"
                       "web: node c.js\n"
                       ": no name\n"
                       "web.1: dotted\n"
                       "web : spaced\n"
                       "empty:\n"
                       "blank:   \t \r\n"
                       "ok: fine\n";
    assert_int_equal(procfile_bad(f, text, strlen(text)), 7);
    assert_string_equal(diag_text(f, 0), "Procfile:2: expected 'name: command'");
    assert_string_equal(diag_text(f, 1), "Procfile:3: duplicate process 'web' (first at line 1)");
    assert_string_equal(diag_text(f, 2), "Procfile:4: expected 'name: command'");
    assert_string_equal(diag_text(f, 3), "Procfile:5: expected 'name: command'");
    assert_string_equal(diag_text(f, 4), "Procfile:6: expected 'name: command'");
    assert_string_equal(diag_text(f, 5), "Procfile:7: process 'empty' has no command");
    assert_string_equal(diag_text(f, 6), "Procfile:8: process 'blank' has no command");
    assert_int_equal(procfile_bad(f, "web: a\0b\n", 9), 1);
    assert_string_equal(diag_text(f, 0), "Procfile: not a text file (contains a NUL byte)");
    assert_int_equal(procfile_bad(f, "web", 3), 1);
    assert_string_equal(diag_text(f, 0), "Procfile:1: expected 'name: command'");
}

static void test_procfile_read(void **state)
{
    struct fixture *f = *state;
    struct procfile *pf = NULL;
    const char *path = write_file(f, "Procfile", "web: ./server\n");
    assert_int_equal(procfile_read(f->a, path, &pf, &f->d), 0);
    assert_entry(pf, 0, "web", "./server", 1);
    const char *missing = arena_printf(f->a, "%s/nope", f->dir);
    assert_int_equal(procfile_read(f->a, missing, &pf, &f->d), -ENOENT);
    assert_string_equal(diag_text(f, 0),
                        arena_printf(f->a, "%s: cannot read: No such file or directory", missing));
    diag_clear(&f->d);
    assert_int_equal(procfile_read(f->a, f->dir, &pf, &f->d), -EISDIR);
    assert_int_equal(f->d.n, 1);
    diag_clear(&f->d);
    assert_int_equal(procfile_read(f->a, "/dev/zero", &pf, &f->d), -EFBIG);
    assert_string_equal(diag_text(f, 0), "/dev/zero: cannot read: File too large");
    diag_clear(&f->d);
    path = write_file(f, "Bad", "web: x\nnonsense\n");
    assert_int_equal(procfile_read(f->a, path, &pf, &f->d), -EINVAL);
    assert_string_equal(diag_text(f, 0),
                        arena_printf(f->a, "%s:2: expected 'name: command'", path));
}

/* ---- .env ---- */

static const char **dotenv_ok(struct fixture *f, const char *text)
{
    const char **env = NULL;
    int r = dotenv_parse(f->a, ".env", text, strlen(text), &env, &f->d);
    if (r < 0)
        fail_msg("dotenv_parse: %s", diag_text(f, 0));
    assert_int_equal(f->d.n, 0);
    return env;
}

static int dotenv_bad(struct fixture *f, const char *text, size_t len)
{
    const char **env = (const char **)f; /* must stay untouched */
    diag_clear(&f->d);
    assert_int_equal(dotenv_parse(f->a, ".env", text, len, &env, &f->d), -EINVAL);
    assert_ptr_equal(env, f);
    return f->d.n;
}

static void assert_env(const char **env, const char *const *want)
{
    int i = 0;
    for (; want[i]; i++) {
        assert_non_null(env[i]);
        assert_string_equal(env[i], want[i]);
    }
    assert_null(env[i]);
}

static void test_dotenv_plain(void **state)
{
    struct fixture *f = *state;
    assert_env(dotenv_ok(f, "A=1\n"
                            "B = two words  \n"
                            "\tC\t=\tthree\t\n"
                            "\n"
                            "  # comment\n"
                            "D=x # inline comment\n"
                            "E=x#not-a-comment\n"
                            "F= # only a comment\n"
                            "G=#hash\n"
                            "H=\n"
                            "I=a=b=c\n"
                            "J=it's \"fine\"\n"
                            "URL=http://h/p?q=1#frag\n"
                            "K.v-1_x=dotted"),
               (const char *[]){"A=1", "B=two words", "C=three", "D=x", "E=x#not-a-comment", "F=",
                                "G=#hash", "H=", "I=a=b=c", "J=it's \"fine\"",
                                "URL=http://h/p?q=1#frag", "K.v-1_x=dotted", NULL});
}

static void test_dotenv_export_and_duplicates(void **state)
{
    struct fixture *f = *state;
    assert_env(dotenv_ok(f, "export A=1\n"
                            "export \t B = 2\n"
                            "export=3\n"
                            "exportC=4\n"
                            "A=5\n"
                            "export = 6\n"),
               (const char *[]){"A=5", "B=2", "export=6", "exportC=4", NULL});
    assert_env(dotenv_ok(f, ""), (const char *[]){NULL});
    assert_env(dotenv_ok(f, "\n# nothing\n   \n"), (const char *[]){NULL});
}

static void test_dotenv_quotes(void **state)
{
    struct fixture *f = *state;
    assert_env(dotenv_ok(f, "S='$HOME \\n \"x\" # kept'\n"
                            "D=\"a\\nb\\tc \\\"q\\\" \\\\ \\x \\$HOME ${HOME} 'y'\"\n"
                            "E=\"\"\n"
                            "F=''\n"
                            "G=\"x\"   # comment\n"
                            "H = 'spaced'\t\n"
                            "I=\"ends in \\\\\"\n"
                            "J=$HOME ${HOME}\n"),
               (const char *[]){"S=$HOME \\n \"x\" # kept",
                                "D=a\nb\tc \"q\" \\ \\x \\$HOME ${HOME} 'y'", "E=", "F=", "G=x",
                                "H=spaced", "I=ends in \\", "J=$HOME ${HOME}", NULL});
}

static void test_dotenv_multiline(void **state)
{
    struct fixture *f = *state;
    assert_env(dotenv_ok(f, "KEY=\"-----BEGIN-----\nabc\n-----END-----\"\n"
                            "S='one\r\ntwo'\r\n"
                            "N=after\n"),
               (const char *[]){"KEY=-----BEGIN-----\nabc\n-----END-----", "S=one\ntwo", "N=after",
                                NULL});
    /* line numbers keep counting through a value that spans lines */
    const char *text = "A=\"x\ny\nz\"\nBAD\n";
    assert_int_equal(dotenv_bad(f, text, strlen(text)), 1);
    assert_string_equal(diag_text(f, 0), ".env:4: expected 'KEY=value'");
}

static void test_dotenv_crlf_bom(void **state)
{
    struct fixture *f = *state;
    assert_env(dotenv_ok(f, "\xEF\xBB\xBF"
                            "A=1\r\n"
                            "B='x'\r\n"
                            "C=\"y\"\r\n"
                            "D=z # c\r\n"
                            "\r\n"
                            "E=\r\n"),
               (const char *[]){"A=1", "B=x", "C=y", "D=z", "E=", NULL});
}

static void test_dotenv_errors(void **state)
{
    struct fixture *f = *state;
    const char *text = "A=1\n"
                       "JUSTTEXT\n"
                       "1A=x\n"
                       "A B=x\n"
                       "=x\n"
                       "export\n"
                       "K=\"x\" y\n"
                       "L='a'b\n"
                       "ok=1\n"
                       "Ä=x\n";
    assert_int_equal(dotenv_bad(f, text, strlen(text)), 8);
    assert_string_equal(diag_text(f, 0), ".env:2: expected 'KEY=value'");
    assert_string_equal(diag_text(f, 1), ".env:3: bad variable name '1A'");
    assert_string_equal(diag_text(f, 2), ".env:4: bad variable name 'A B'");
    assert_string_equal(diag_text(f, 3), ".env:5: expected 'KEY=value'");
    assert_string_equal(diag_text(f, 4), ".env:6: expected 'KEY=value'");
    assert_string_equal(diag_text(f, 5), ".env:7: unexpected text after the closing quote");
    assert_string_equal(diag_text(f, 6), ".env:8: unexpected text after the closing quote");
    assert_string_equal(diag_text(f, 7), ".env:10: bad variable name 'Ä'");
}

static void test_dotenv_unterminated(void **state)
{
    struct fixture *f = *state;
    const char *text = "A=1\nB=\"abc\nC=2\n";
    assert_int_equal(dotenv_bad(f, text, strlen(text)), 1);
    assert_string_equal(diag_text(f, 0), ".env:2: unterminated double quote");
    text = "A='x\n\n";
    assert_int_equal(dotenv_bad(f, text, strlen(text)), 1);
    assert_string_equal(diag_text(f, 0), ".env:1: unterminated single quote");
    text = "A=\"x\\\"";
    assert_int_equal(dotenv_bad(f, text, strlen(text)), 1); /* the last quote is escaped */
    assert_string_equal(diag_text(f, 0), ".env:1: unterminated double quote");
    text = "A=\"x\ny\" z\n";
    assert_int_equal(dotenv_bad(f, text, strlen(text)), 1); /* reported where the quote closes */
    assert_string_equal(diag_text(f, 0), ".env:2: unexpected text after the closing quote");
    assert_int_equal(dotenv_bad(f, "A=1\nB=\0\n", 8), 1);
    assert_string_equal(diag_text(f, 0), ".env: not a text file (contains a NUL byte)");
}

static void test_dotenv_read(void **state)
{
    struct fixture *f = *state;
    const char **env = NULL;
    const char *path = write_file(f, ".env", "PORT=5000\nexport DEBUG=1\n");
    assert_int_equal(dotenv_read(f->a, path, false, &env, &f->d), 0);
    assert_env(env, (const char *[]){"PORT=5000", "DEBUG=1", NULL});
    const char *missing = arena_printf(f->a, "%s/.env.missing", f->dir);
    env = NULL;
    assert_int_equal(dotenv_read(f->a, missing, true, &env, &f->d), 0);
    assert_env(env, (const char *[]){NULL});
    assert_int_equal(f->d.n, 0);
    assert_int_equal(dotenv_read(f->a, missing, false, &env, &f->d), -ENOENT);
    assert_string_equal(diag_text(f, 0),
                        arena_printf(f->a, "%s: cannot read: No such file or directory", missing));
    diag_clear(&f->d);
    assert_int_equal(dotenv_read(f->a, f->dir, true, &env, &f->d), -EISDIR); /* not missing */
    assert_int_equal(f->d.n, 1);
    diag_clear(&f->d);
    path = write_file(f, "bad.env", "A=1\nB\n");
    assert_int_equal(dotenv_read(f->a, path, true, &env, &f->d), -EINVAL);
    assert_string_equal(diag_text(f, 0), arena_printf(f->a, "%s:2: expected 'KEY=value'", path));
}

/* ---- how a Procfile command runs ---- */

static void assert_how(const char *command, enum procfile_run how, int exec_at)
{
    int at = 99;
    enum procfile_run got = procfile_how(command, &at);
    if (got != how || at != exec_at)
        fail_msg("'%s': got %s at %d, wanted %s at %d", command,
                 got == PROCFILE_EXEC ? "exec" : "shell", at,
                 how == PROCFILE_EXEC ? "exec" : "shell", exec_at);
}

static void test_procfile_how_exec(void **state)
{
    (void)state;
    assert_how("node server.js", PROCFILE_EXEC, -1);
    assert_how("bundle exec puma -p 5000 --env=dev", PROCFILE_EXEC, -1); /* '=' past word 1 */
    assert_how("./bin/worker 100% sure", PROCFILE_EXEC, -1);
    assert_how("/usr/bin/exec-thing a", PROCFILE_EXEC, -1);
}

static void test_procfile_how_shell(void **state)
{
    (void)state;
    /* one simple command: "exec " goes before its command word */
    assert_how("rails s -p $PORT", PROCFILE_SHELL, 0);
    assert_how("node app.js 'a b' \"c d\"", PROCFILE_SHELL, 0);
    assert_how("RAILS_ENV=dev FOO=\"a b\" rails s", PROCFILE_SHELL, 24);
    assert_how("node app.js >> log 2>&1", PROCFILE_SHELL, 0);
    assert_how("python x.py *.txt # the glob", PROCFILE_SHELL, 0);
    assert_how("echo 'a | b; c && d'", PROCFILE_SHELL, 0);
    assert_how("~/bin/app", PROCFILE_SHELL, 0);
    /* more than one command, or the shell's own word first: left as written */
    assert_how("echo hi; exec sleep 1", PROCFILE_SHELL, -1);
    assert_how("npm run build && npm start", PROCFILE_SHELL, -1);
    assert_how("app | tee log", PROCFILE_SHELL, -1);
    assert_how("sleep 1 &", PROCFILE_SHELL, -1);
    assert_how("(cd web; node x)", PROCFILE_SHELL, -1);
    assert_how("node $(cat args)", PROCFILE_SHELL, -1);
    assert_how("node \"`cat args`\"", PROCFILE_SHELL, -1);
    assert_how("exec node x", PROCFILE_SHELL, -1);
    assert_how("cd web", PROCFILE_SHELL, -1);
    assert_how("export A=1", PROCFILE_SHELL, -1);
    assert_how("if true; then x; fi", PROCFILE_SHELL, -1);
    assert_how("A=1", PROCFILE_SHELL, -1);
    assert_how("echo 'unterminated", PROCFILE_SHELL, -1);
    assert_how("echo a\\", PROCFILE_SHELL, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_procfile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_procfile_crlf_bom_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_procfile_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_procfile_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotenv_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotenv_export_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotenv_quotes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotenv_multiline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotenv_crlf_bom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotenv_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotenv_unterminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotenv_read, setup, teardown),
        cmocka_unit_test(test_procfile_how_exec),
        cmocka_unit_test(test_procfile_how_shell),
    };
    return cmocka_run_group_tests_name("devfiles", tests, NULL, NULL);
}
