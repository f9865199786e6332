/* Unit tests: strconv. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "strconv.h"

static void test_bool(void **state)
{
    (void)state;
    bool b = false;
    const char *yes[] = {"true", "YES", "On", "1"}, *no[] = {"false", "No", "OFF", "0"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(strconv_bool(yes[i], &b), 0);
        assert_true(b);
        assert_int_equal(strconv_bool(no[i], &b), 0);
        assert_false(b);
    }
    assert_int_equal(strconv_bool("", &b), -EINVAL);
    assert_int_equal(strconv_bool("yess", &b), -EINVAL);
}

static void test_duration(void **state)
{
    (void)state;
    uint64_t ms = 0;
    struct { const char *in; uint64_t ms; } ok[] = {
        {"0", 0}, {"10", 10000}, {"250ms", 250}, {"2s", 2000}, {"1.5s", 1500},
        {"3m", 180000}, {"1h", 3600000}, {"0.1", 100}, {"30S", 30000},
    };
    for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(strconv_duration_ms(ok[i].in, &ms), 0);
        assert_int_equal(ms, ok[i].ms);
    }
    const char *bad[] = {"", "s", "10x", "-1", "1.s", "1 s", "abc",
                         "18446744073709559", "18446744073709551616" /* would wrap */};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(strconv_duration_ms(bad[i], &ms), 0);
}

static void test_size(void **state)
{
    (void)state;
    uint64_t n = 0;
    assert_int_equal(strconv_size("0", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(strconv_size("50MB", &n), 0);
    assert_int_equal(n, 50u << 20);
    assert_int_equal(strconv_size("1kb", &n), 0);
    assert_int_equal(n, 1024);
    assert_int_equal(strconv_size("2GB", &n), 0);
    assert_int_equal(n, 2ull << 30);
    assert_int_not_equal(strconv_size("10TB", &n), 0);
    assert_int_not_equal(strconv_size("MB", &n), 0);
    assert_int_not_equal(strconv_size("18446744073709559", &n), 0);
}

static void test_signal(void **state)
{
    (void)state;
    int sig = 0;
    assert_int_equal(strconv_signal("TERM", &sig), 0);
    assert_int_equal(sig, SIGTERM);
    assert_int_equal(strconv_signal("sigquit", &sig), 0);
    assert_int_equal(sig, SIGQUIT);
    assert_int_equal(strconv_signal("9", &sig), 0);
    assert_int_equal(sig, SIGKILL);
    assert_int_equal(strconv_signal("RTMIN+2", &sig), 0);
    assert_int_equal(sig, SIGRTMIN + 2);
    assert_int_not_equal(strconv_signal("TERMINATE", &sig), 0);
    assert_int_not_equal(strconv_signal("0", &sig), 0);
    assert_int_not_equal(strconv_signal("", &sig), 0);
    assert_string_equal(strconv_signal_name(SIGHUP), "HUP");
    assert_string_equal(strconv_signal_name(SIGABRT), "ABRT");
}

static void test_long_and_octal(void **state)
{
    (void)state;
    long n = 0;
    unsigned u = 0;
    assert_int_equal(strconv_long("42", 0, 100, &n), 0);
    assert_int_equal(n, 42);
    assert_int_equal(strconv_long("101", 0, 100, &n), -ERANGE);
    assert_int_equal(strconv_long("4x", 0, 100, &n), -EINVAL);
    assert_int_equal(strconv_long(" 4", 0, 100, &n), -EINVAL);
    assert_int_equal(strconv_octal("022", 0777, &u), 0);
    assert_int_equal(u, 022);
    assert_int_equal(strconv_octal("0800", 0777, &u), -EINVAL);
    assert_int_equal(strconv_octal("1777", 0777, &u), -ERANGE);
}

static void test_format_duration(void **state)
{
    (void)state;
    char buf[32];
    strconv_format_duration(250, buf, sizeof(buf));
    assert_string_equal(buf, "250ms");
    strconv_format_duration(1500, buf, sizeof(buf));
    assert_string_equal(buf, "1.5s");
    strconv_format_duration(61000, buf, sizeof(buf));
    assert_string_equal(buf, "1m01s");
    strconv_format_duration(90061000, buf, sizeof(buf));
    assert_string_equal(buf, "1d01h");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bool),   cmocka_unit_test(test_duration),
        cmocka_unit_test(test_size),   cmocka_unit_test(test_signal),
        cmocka_unit_test(test_long_and_octal), cmocka_unit_test(test_format_duration),
    };
    return cmocka_run_group_tests_name("strconv", tests, NULL, NULL);
}
