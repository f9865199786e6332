/* The manual cannot drift: every key tend knows is in man/tend.ini.5. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A key is documented when an item of a list names it: ".It Ic KEY ...", or one of
 * ".It Ic a , KEY , b". */
static int documented(const char *page, const char *key)
{
    size_t n = strlen(key);
    for (const char *line = page; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
        if (strncmp(line, ".It ", 4) != 0)
            continue;
        const char *end = strchr(line, '\n');
        for (const char *w = line; w && w < end; w = strchr(w, ' '), w = w ? w + 1 : NULL)
            if (!strncmp(w, key, n) && (w[n] == ' ' || w[n] == '\n'))
                return 1;
    }
    return 0;
}

static void test_every_key_is_documented(void **state)
{
    (void)state;
    static const char *const kinds[] = {"tend", "unix_http_server", "include", "group",
                                        "program", "nginx"};
    char *page = slurp("man/tend.ini.5");
    int missing = 0, total = 0;
    for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
        for (int i = 0; config_known_key(kinds[k], i); i++, total++)
            if (!documented(page, config_known_key(kinds[k], i))) {
                fprintf(stderr, "man/tend.ini.5 does not document [%s] %s\n", kinds[k],
                        config_known_key(kinds[k], i));
                missing++;
            }
    free(page);
    assert_true(total > 60);
    assert_int_equal(missing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_key_is_documented)};
    return cmocka_run_group_tests_name("manual", tests, NULL, NULL);
}
