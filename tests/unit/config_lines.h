/* The unit tests' configs, written as "section key=value" lines (cmocka included
 * first). A config that does not load fails the test, saying why. */
#ifndef TEND_TEST_CONFIG_LINES_H
#define TEND_TEST_CONFIG_LINES_H

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "diag.h"

/* A config from "section key=value" lines, e.g. "program:a command=/bin/a". */
static struct config *config_of(const char *const *lines)
{
    struct config_entry e[64];
    char buf[64][128];
    int n = 0;
    for (; lines[n]; n++) {
        snprintf(buf[n], sizeof(buf[n]), "%s", lines[n]);
        char *key = strchr(buf[n], ' '), *value = strchr(buf[n], '=');
        assert_non_null(key);
        assert_non_null(value);
        *key++ = 0;
        *value++ = 0;
        e[n] = (struct config_entry){buf[n], key, value, "test.ini", n + 1};
    }
    struct diag_list d = {0};
    struct config *c = NULL;
    int r = config_build("test.ini", e, n, &c, &d);
    if (r < 0)
        diag_print(&d, stderr);
    assert_int_equal(r, 0);
    diag_clear(&d);
    return c;
}

#endif
