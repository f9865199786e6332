/* Unit tests: index, checked against a plain array through puts and removals that
 * wrap around the table and collide on purpose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "index.h"

enum { N = 5000 };

static bool same_int(const void *value, const void *key)
{
    return *(const int *)value == *(const int *)key;
}

/* Few distinct hashes: long runs, many collisions, removals inside runs. */
static uint64_t weak(int n)
{
    return (uint64_t)(n % 97) * 0x9e3779b97f4a7c15ULL;
}

static void check_all(const struct index *ix, const int *v, const bool *in, uint64_t (*h)(int))
{
    for (int i = 0; i < N; i++) {
        const int *found = index_find(ix, h(v[i]), same_int, &v[i]);
        if (in[i])
            assert_ptr_equal(found, &v[i]);
        else
            assert_null(found);
    }
}

static uint64_t strong(int n)
{
    return index_hash_int((uint64_t)n);
}

static void run(uint64_t (*h)(int))
{
    static int v[N];
    static bool in[N];
    struct index ix = {0};
    for (int i = 0; i < N; i++) {
        v[i] = i * 7 + 1;
        in[i] = false;
    }
    srand(42);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++)
            if (!in[i] && rand() % 2) {
                assert_int_equal(index_put(&ix, h(v[i]), &v[i]), 0);
                in[i] = true;
            }
        for (int i = 0; i < N; i++)
            if (in[i] && rand() % 3 == 0) {
                index_del(&ix, h(v[i]), &v[i]);
                in[i] = false;
            }
        check_all(&ix, v, in, h);
    }
    size_t count = 0;
    for (int i = 0; i < N; i++)
        count += in[i];
    assert_int_equal(ix.len, count);
    index_free(&ix);
}

static void test_strong_hash(void **state)
{
    (void)state;
    run(strong);
}

static void test_colliding_hash(void **state)
{
    (void)state;
    run(weak);
}

static void test_strings(void **state)
{
    (void)state;
    assert_true(index_hash_str("web_00") != index_hash_str("web_01"));
    assert_true(index_hash_str("") == index_hash_str(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strong_hash),
        cmocka_unit_test(test_colliding_hash),
        cmocka_unit_test(test_strings),
    };
    return cmocka_run_group_tests_name("index", tests, NULL, NULL);
}
