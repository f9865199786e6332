/* Unit tests: tendctl's words for supervisorctl's users (habits), "did you mean"
 * (nearest), and how a server URL names the socket (sockconf_url). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "habits.h"
#include "nearest.h"
#include "sockconf.h"

static void test_distance_counts_a_swap_as_one(void **state)
{
    (void)state;
    assert_int_equal(nearest_distance("status", "status"), 0);
    assert_int_equal(nearest_distance("stauts", "status"), 1);
    assert_int_equal(nearest_distance("web_0", "web_00"), 1);
    assert_int_equal(nearest_distance("", "abc"), 3);
    assert_int_equal(nearest_distance("kitten", "sitting"), 3);
}

static void test_only_close_words_are_offered(void **state)
{
    struct nearest n = {0};
    (void)state;
    nearest_offer(&n, "strat", "stop");
    nearest_offer(&n, "strat", "start");
    nearest_offer(&n, "strat", "status");
    assert_string_equal(n.best, "start");
    n = (struct nearest){0};
    nearest_offer(&n, "ab", "xy"); /* two edits in two letters: a guess */
    nearest_offer(&n, "web", "web"); /* the word itself is no correction */
    assert_null(n.best);
}

static int translate(const char *line, char **out, int *n, char *hint)
{
    static char buf[256];
    static char *argv[16];
    int argc = 0;
    strcpy(buf, line);
    for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
        argv[argc++] = w;
    return habits_translate(argc, argv, out, n, hint, 256);
}

static void test_supervisorctl_verbs_become_tends(void **state)
{
    char *out[HABITS_MAX_ARGS], hint[256];
    int n;
    (void)state;
    assert_int_equal(translate("update web", out, &n, hint), 0);
    assert_int_equal(n, 1);
    assert_string_equal(out[0], "reload");
    assert_non_null(strstr(hint, "'update' is tend's 'reload'"));
    assert_int_equal(translate("reread", out, &n, hint), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out[1], "--dry-run");
    assert_int_equal(translate("maintail -f -100", out, &n, hint), 0);
    assert_int_equal(n, 3);
    assert_string_equal(out[0], "log");
    assert_string_equal(out[2], "-100");
    assert_int_equal(translate("fg web_00", out, &n, hint), 0);
    assert_int_equal(n, 3);
    assert_string_equal(out[1], "-f");
    assert_string_equal(out[2], "web_00");
    assert_int_equal(translate("status web", out, &n, hint), 0);
    assert_int_equal(n, 2);
    assert_string_equal(hint, "");
}

static void test_words_without_use_and_unknown_ones_say_why(void **state)
{
    char *out[HABITS_MAX_ARGS], hint[256];
    int n;
    (void)state;
    assert_int_equal(translate("fg", out, &n, hint), -1);
    assert_int_equal(translate("fg a b", out, &n, hint), -1);
    assert_int_equal(translate("quit", out, &n, hint), -1);
    assert_non_null(strstr(hint, "'quit'"));
    assert_int_equal(translate("maintial", out, &n, hint), -1);
    assert_string_equal(hint, "unknown command 'maintial' (did you mean 'maintail'?)");
    assert_int_equal(translate("frobnicate", out, &n, hint), -1);
    assert_null(strstr(hint, "did you mean"));
}

static void test_server_urls(void **state)
{
    const char *path = NULL;
    (void)state;
    assert_int_equal(sockconf_url("unix:///run/tend.sock", &path), 0);
    assert_string_equal(path, "/run/tend.sock");
    assert_int_equal(sockconf_url("/tmp/x.sock", &path), 0);
    assert_string_equal(path, "/tmp/x.sock");
    assert_int_equal(sockconf_url("http://localhost:9001", &path), -EPROTONOSUPPORT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance_counts_a_swap_as_one),
        cmocka_unit_test(test_only_close_words_are_offered),
        cmocka_unit_test(test_supervisorctl_verbs_become_tends),
        cmocka_unit_test(test_words_without_use_and_unknown_ones_say_why),
        cmocka_unit_test(test_server_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
