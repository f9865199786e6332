/* Unit tests: ring, the bytes kept for tendctl tail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ring.h"

static const char *tail(const struct ring *r, int lines)
{
    static char out[256];
    out[ring_tail(r, lines, out, sizeof(out) - 1)] = '\0';
    return out;
}

static void test_tail_counts_lines(void **state)
{
    struct ring r;
    (void)state;
    ring_init(&r, 64);
    ring_append(&r, "one\ntwo\nthree\n", 14);
    assert_string_equal(tail(&r, 2), "two\nthree\n");
    assert_string_equal(tail(&r, 10), "one\ntwo\nthree\n");
    assert_string_equal(tail(&r, -1), "one\ntwo\nthree\n");
    ring_free(&r);
}

/* Once the oldest bytes are overwritten, the line they began is not shown cut. */
static void test_a_line_cut_by_wrap_around_is_left_out(void **state)
{
    struct ring r;
    (void)state;
    ring_init(&r, 16);
    ring_append(&r, "aaaaaaa\nbbbbbbb\ncccc\n", 21); /* the first 5 bytes are gone */
    assert_string_equal(tail(&r, 100), "bbbbbbb\ncccc\n");
    assert_string_equal(tail(&r, -1), "bbbbbbb\ncccc\n");
    assert_string_equal(tail(&r, 1), "cccc\n");
    ring_free(&r);
}

/* After a clear, what comes is shown whole: nothing was cut by wrap-around. */
static void test_clear_forgets_and_keeps_positions(void **state)
{
    struct ring r;
    uint64_t from = 0;
    char out[64];
    (void)state;
    ring_init(&r, 16);
    ring_append(&r, "aaaaaaa\nbbbbbbb\ncccc\n", 21);
    ring_clear(&r);
    assert_string_equal(tail(&r, -1), "");
    ring_append(&r, "one\ntwo\n", 8);
    assert_string_equal(tail(&r, 100), "one\ntwo\n");
    assert_int_equal(r.total, 29);
    from = 21;
    assert_int_equal(ring_since(&r, &from, out, sizeof(out)), 8);
    assert_int_equal(from, 29);
    ring_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_counts_lines),
        cmocka_unit_test(test_a_line_cut_by_wrap_around_is_left_out),
        cmocka_unit_test(test_clear_forgets_and_keeps_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
