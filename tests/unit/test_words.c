/* Unit tests: shellwords, expand, envlist, json. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "envlist.h"
#include "expand.h"
#include "json.h"
#include "shellwords.h"

static int setup(void **state)
{
    *state = arena_new();
    return 0;
}

static int teardown(void **state)
{
    arena_free(*state);
    return 0;
}

static void assert_words(struct arena *a, const char *in, const char *const *want)
{
    char **argv;
    int argc;
    const char *err = NULL;
    assert_int_equal(shellwords_split(a, in, &argv, &argc, &err), 0);
    int i = 0;
    for (; want[i]; i++)
        assert_string_equal(argv[i], want[i]);
    assert_int_equal(argc, i);
    assert_null(argv[argc]);
}

static void test_split(void **state)
{
    struct arena *a = *state;
    assert_words(a, "nginx -g 'daemon off;'", (const char *[]){"nginx", "-g", "daemon off;", NULL});
    assert_words(a, "a\"b\"'c' d", (const char *[]){"abc", "d", NULL});
    assert_words(a, "  x\n  y\t", (const char *[]){"x", "y", NULL});
    assert_words(a, "echo \"a \\\"q\\\" \\$x\"", (const char *[]){"echo", "a \"q\" \\$x", NULL});
    assert_words(a, "a\\ b ''", (const char *[]){"a b", "", NULL});
    assert_words(a, "bash -c \"x \\\n y\"", (const char *[]){"bash", "-c", "x \\\n y", NULL});
    assert_words(a, "cut 2> >(cut) | x", (const char *[]){"cut", "2>", ">(cut)", "|", "x", NULL});
}

static void test_split_errors(void **state)
{
    struct arena *a = *state;
    char **argv;
    int argc;
    const char *err = NULL;
    assert_int_equal(shellwords_split(a, "echo 'x", &argv, &argc, &err), -EINVAL);
    assert_string_equal(err, "unterminated single quote");
    assert_int_equal(shellwords_split(a, "echo \"x", &argv, &argc, &err), -EINVAL);
    assert_int_equal(shellwords_split(a, "x\\", &argv, &argc, &err), -EINVAL);
    assert_int_equal(shellwords_split(a, "   ", &argv, &argc, &err), -EINVAL);
}

static void test_quote_roundtrip(void **state)
{
    struct arena *a = *state;
    const char *words[] = {"plain", "with space", "it's", "$HOME", "", "a\"b"};
    for (unsigned i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        char buf[128] = "", **argv;
        int argc;
        const char *err;
        shellwords_quote(words[i], buf, sizeof(buf));
        assert_int_equal(shellwords_split(a, buf, &argv, &argc, &err), 0);
        assert_int_equal(argc, 1);
        assert_string_equal(argv[0], words[i]);
    }
}

static char *expand(struct arena *a, const char *in, const char **error)
{
    struct expand_var vars[] = {{.name = "program_name", .str = "web"},
                                {.name = "process_num", .num = 3},
                                {.name = "port", .num = 8003}};
    struct expand_ctx ctx = {.vars = vars, .nvars = 3};
    char *out = NULL;
    int r = expand_value(a, &ctx, in, &out);
    if (error)
        *error = r < 0 ? ctx.error : ctx.unset_env;
    return r < 0 ? NULL : out;
}

static void test_expand(void **state)
{
    struct arena *a = *state;
    const char *err;
    setenv("TEND_TEST_X", "xval", 1);
    unsetenv("TEND_TEST_UNSET");
    assert_string_equal(expand(a, "%(program_name)s_%(process_num)02d", NULL), "web_03");
    assert_string_equal(expand(a, "%(process_num)d %(process_num)s %(port)d", NULL), "3 3 8003");
    assert_string_equal(expand(a, "100%% %(ENV_TEND_TEST_X)s", NULL), "100% xval");
    assert_string_equal(expand(a, "[%(program_name)5s]", NULL), "[  web]");
    assert_string_equal(expand(a, "a%(ENV_TEND_TEST_UNSET)sb", &err), "ab");
    assert_string_equal(err, "TEND_TEST_UNSET");
    assert_null(expand(a, "%(nope)s", &err));
    assert_non_null(strstr(err, "unknown expansion '%(nope)s'"));
    assert_null(expand(a, "%HOME%", &err));
    assert_non_null(strstr(err, "bad expansion '%HOME%'"));
    assert_null(expand(a, "%(program_name)d", &err));
    assert_null(expand(a, "%(program_name)", &err));
    assert_null(expand(a, "date +%s", &err));
}

static void test_envlist(void **state)
{
    struct arena *a = *state;
    const char **env, *err;
    assert_int_equal(envlist_parse(a, "A=1,B=\"x,y\",C='q' , D = spaced value ,", &env, &err), 0);
    assert_string_equal(env[0], "A=1");
    assert_string_equal(env[1], "B=x,y");
    assert_string_equal(env[2], "C=q");
    assert_string_equal(env[3], "D=spaced value");
    assert_null(env[4]);
    assert_int_equal(envlist_parse(a, "A=1,\n  B=2,A=3", &env, &err), 0);
    assert_string_equal(env[0], "B=2");
    assert_string_equal(env[1], "A=3");
    assert_int_equal(envlist_parse(a, "OPTS=a=b", &env, &err), 0);
    assert_string_equal(env[0], "OPTS=a=b");
    assert_int_equal(envlist_parse(a, "", &env, &err), 0);
    assert_null(env[0]);
    assert_int_equal(envlist_parse(a, "A=\"x", &env, &err), -EINVAL);
    assert_int_equal(envlist_parse(a, "NOVALUE", &env, &err), -EINVAL);
    assert_int_equal(envlist_parse(a, "=x", &env, &err), -EINVAL);
    assert_int_equal(envlist_parse(a, "A=\"x\"y", &env, &err), -EINVAL);
}

static void test_json(void **state)
{
    (void)state;
    char buf[64];
    json_quote(buf, sizeof(buf), "a\"b\\c\n\x01", 7);
    assert_string_equal(buf, "\"a\\\"b\\\\c\\n\\u0001\"");
    json_quote(buf, sizeof(buf), "\xff\xc3\xa9", 3);
    assert_string_equal(buf, "\"\\ufffd\xc3\xa9\"");
    assert_int_equal(json_quote(buf, 8, "abcdefghij", 10), 7);
    assert_string_equal(buf, "\"abcde\"");
    assert_int_equal(json_quote(buf, 9, "abc\ndef", 7), 8); /* never half an escape */
    assert_string_equal(buf, "\"abc\\nd\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quote_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_envlist, setup, teardown),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests_name("words", tests, NULL, NULL);
}
