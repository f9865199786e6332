/* Unit tests: the last-exit record (lastexit.h): its bounds, its words, its JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lastexit.h"
#include "strbuf.h"

/* n lines "line 1".."line n", each ending in a newline. */
static size_t lines(char *buf, size_t len, int n)
{
    size_t at = 0;
    for (int i = 1; i <= n; i++)
        at += (size_t)snprintf(buf + at, len - at, "line %d\n", i);
    return at;
}

static int count_lines(const struct lastexit *e)
{
    int n = 0;
    for (size_t i = 0; i < e->tail_len; i++)
        n += e->tail[i] == '\n';
    return n;
}

static void test_tail_keeps_the_last_twenty_lines(void **state)
{
    struct lastexit e;
    char buf[1024];
    (void)state;
    lastexit_init(&e);
    size_t n = lines(buf, sizeof(buf), 30);
    lastexit_keep_tail(&e, buf, n, false);
    assert_int_equal(e.tail_lines, LASTEXIT_LINES);
    assert_int_equal(count_lines(&e), LASTEXIT_LINES);
    assert_memory_equal(e.tail, "line 11\n", 8);
    assert_memory_equal(e.tail + e.tail_len - 8, "line 30\n", 8);
    n = lines(buf, sizeof(buf), 3); /* the next exit replaces it */
    lastexit_keep_tail(&e, buf, n, false);
    assert_int_equal(e.tail_lines, 3);
    assert_int_equal(e.tail_len, n);
    lastexit_keep_tail(&e, "", 0, false);
    assert_null(e.tail);
    assert_int_equal(e.tail_lines, 0);
    lastexit_free(&e);
}

/* A last line without its newline is a line; a first line whose start was lost is
 * not shown; empty lines are kept. */
static void test_tail_edges(void **state)
{
    struct lastexit e;
    (void)state;
    lastexit_init(&e);
    lastexit_keep_tail(&e, "a\n\nb", 4, false);
    assert_int_equal(e.tail_lines, 3);
    assert_int_equal(e.tail_len, 5);
    assert_memory_equal(e.tail, "a\n\nb\n", 5);
    lastexit_keep_tail(&e, "rt of a line\nwhole\n", 19, true);
    assert_int_equal(e.tail_lines, 1);
    assert_memory_equal(e.tail, "whole\n", 6);
    lastexit_keep_tail(&e, "\nx\n", 3, false);
    assert_int_equal(e.tail_lines, 2);
    assert_memory_equal(e.tail, "\nx\n", 3);
    lastexit_free(&e);
}

/* A long line is cut (its start kept, marked, whole UTF-8 characters); the whole
 * tail stays within its bytes, dropping the oldest lines first. */
static void test_tail_is_bounded_in_bytes(void **state)
{
    struct lastexit e;
    static char buf[20000];
    (void)state;
    lastexit_init(&e);
    memset(buf, 'x', 3000);
    buf[3000] = '\n';
    lastexit_keep_tail(&e, buf, 3001, false);
    assert_int_equal(e.tail_lines, 1);
    assert_int_equal(e.tail_len, LASTEXIT_LINE_BYTES);
    assert_memory_equal(e.tail + e.tail_len - 7, LASTEXIT_CUT "\n", 7);
    /* an é (2 bytes) across the cut: not split */
    buf[LASTEXIT_LINE_BYTES - 1 - 6 - 1] = (char)0xc3;
    buf[LASTEXIT_LINE_BYTES - 1 - 6] = (char)0xa9;
    lastexit_keep_tail(&e, buf, 3001, false);
    assert_int_equal(e.tail_len, LASTEXIT_LINE_BYTES - 1);
    size_t n = 0;
    for (int i = 0; i < 10; i++) { /* ten lines of 2000 bytes: four fit */
        memset(buf + n, 'a' + i, 1999);
        buf[n + 1999] = '\n';
        n += 2000;
    }
    lastexit_keep_tail(&e, buf, n, false);
    assert_int_equal(e.tail_lines, 4);
    assert_true(e.tail_len <= LASTEXIT_TAIL_BYTES);
    assert_int_equal(e.tail[0], 'g');
    lastexit_free(&e);
}

static void test_restart_ring_keeps_the_last_ten(void **state)
{
    struct lastexit e;
    int64_t t[LASTEXIT_RESTARTS];
    (void)state;
    lastexit_init(&e);
    assert_int_equal(lastexit_restart_times(&e, t), 0);
    for (int i = 1; i <= 3; i++)
        lastexit_restarted(&e, i);
    assert_int_equal(lastexit_restart_times(&e, t), 3);
    assert_int_equal(t[0], 1);
    assert_int_equal(t[2], 3);
    for (int i = 4; i <= 25; i++)
        lastexit_restarted(&e, i);
    assert_int_equal(lastexit_restart_times(&e, t), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(t[i], 16 + i);
    assert_int_equal(e.nrestarts, 25);
    lastexit_free(&e);
}

static void describe(const struct lastexit *e, const char *want)
{
    char text[512];
    lastexit_describe(e, text, sizeof(text));
    assert_string_equal(text, want);
}

static void test_words_for_each_cause(void **state)
{
    struct lastexit e;
    (void)state;
    lastexit_init(&e);
    describe(&e, "");
    assert_null(lastexit_cause_name(CAUSE_NONE));
    lastexit_set(&e, CAUSE_EXITED, 1 << 8, 0, NULL);
    describe(&e, "exited with status 1");
    lastexit_set(&e, CAUSE_SIGNALED, SIGTERM, 0, NULL);
    describe(&e, "killed by SIGTERM");
    lastexit_set(&e, CAUSE_OOM, SIGKILL, 0, NULL);
    describe(&e, "killed by SIGKILL (out of memory)");
    assert_string_equal(lastexit_cause_name(e.cause), "oom");
    lastexit_set(&e, CAUSE_STOPPED, 0, 0, NULL);
    describe(&e, "stopped by tend (exited with status 0)");
    lastexit_set(&e, CAUSE_WATCHDOG, SIGTERM, 0, "no WATCHDOG=1 within 2s");
    describe(&e, "stopped by tend: no WATCHDOG=1 within 2s (killed by SIGTERM)");
    lastexit_set(&e, CAUSE_EXEC, -1, 0, "exec 'x': No such file or directory");
    describe(&e, "could not start: exec 'x': No such file or directory");
    assert_string_equal(lastexit_cause_name(CAUSE_NOT_READY), "not_ready");
    char big[600];
    memset(big, 'r', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    lastexit_set(&e, CAUSE_EXEC, -1, 0, big);
    assert_int_equal(strlen(e.reason), LASTEXIT_REASON_BYTES - 1);
    lastexit_free(&e);
}

static void test_json(void **state)
{
    struct lastexit e;
    struct strbuf t = {0};
    (void)state;
    lastexit_init(&e);
    lastexit_json(&t, &e);
    assert_string_equal(t.p, ",\"last_exit\":null,\"cause\":null,\"why\":null,\"ended_at\":null,"
                             "\"stderr_tail\":[],\"restart_times\":[]");
    strbuf_free(&t);
    lastexit_set(&e, CAUSE_OOM, SIGKILL, 1700000000123, NULL);
    lastexit_keep_tail(&e, "a\"b\nc\n", 6, false);
    lastexit_restarted(&e, 1700000001000);
    lastexit_json(&t, &e);
    assert_string_equal(t.p, ",\"last_exit\":{\"signal\":\"SIGKILL\",\"core\":false},"
                             "\"cause\":\"oom\",\"why\":\"killed by SIGKILL (out of memory)\","
                             "\"ended_at\":\"2023-11-14T22:13:20.123Z\","
                             "\"stderr_tail\":[\"a\\\"b\",\"c\"],"
                             "\"restart_times\":[\"2023-11-14T22:13:21.000Z\"]");
    strbuf_free(&t);
    lastexit_set(&e, CAUSE_EXITED, 3 << 8, 0, NULL);
    lastexit_json(&t, &e);
    assert_non_null(strstr(t.p, "\"last_exit\":{\"code\":3},\"cause\":\"exited\""));
    strbuf_free(&t);
    lastexit_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_keeps_the_last_twenty_lines),
        cmocka_unit_test(test_tail_edges),
        cmocka_unit_test(test_tail_is_bounded_in_bytes),
        cmocka_unit_test(test_restart_ring_keeps_the_last_ten),
        cmocka_unit_test(test_words_for_each_cause),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
