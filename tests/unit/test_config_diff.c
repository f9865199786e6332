/* Unit tests: config_diff, the change list of tendctl reload: which programs were
 * added, removed or changed between two snapshots, and by which keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_diff.h"
#include "diag.h"
#include "config_lines.h"

static void test_added_removed_and_changed_keys(void **state)
{
    static const char *const a[] = {
        "program:web command=node a.js", "program:web numprocs=2",
        "program:web process_name=%(program_name)s_%(process_num)02d",
        "program:same command=sleep 1", "program:old command=sleep 2",
        "program:tuned command=sleep 3", NULL};
    static const char *const b[] = {
        "program:web command=node b.js", "program:web numprocs=4",
        "program:web process_name=%(program_name)s_%(process_num)02d",
        "program:same command=sleep 1", "program:tuned command=sleep 3",
        "program:tuned startsecs=5", "program:tuned ready=notify",
        "program:new command=sleep 4", NULL};
    struct config *ca = config_of(a), *cb = config_of(b);
    struct config_diff_item *d;
    (void)state;
    int n = config_diff(ca, cb, &d);
    assert_int_equal(n, 4);
    assert_string_equal(d[0].program, "web");
    assert_int_equal(d[0].what, CONFIG_CHANGED);
    assert_string_equal(d[0].keys, "command, numprocs");
    assert_int_equal(d[0].nprocs, 4);
    assert_string_equal(d[1].program, "old");
    assert_int_equal(d[1].what, CONFIG_REMOVED);
    assert_string_equal(d[2].program, "tuned");
    assert_string_equal(d[2].keys, "startsecs, ready"); 
    assert_string_equal(d[3].program, "new");
    assert_int_equal(d[3].what, CONFIG_ADDED);
    free(d);
    assert_int_equal(config_diff(ca, ca, &d), 0);
    assert_null(d);
    config_free(ca);
    config_free(cb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_added_removed_and_changed_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
