/* Golden files: the nginx config rendered for tests/golden/nginx/NAME.ini must be
 * NAME.conf byte for byte. UPDATE_GOLDEN=1 rewrites the .conf files instead. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "nginx_conf.h"

#define GOLDEN "tests/golden/nginx"

/* "; ready: 8000 8002" on the first line: the ports of the workers that are ready. */
static int ready_ports(const char *ini, int *ports, int max)
{
    char line[256] = "";
    FILE *f = fopen(ini, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    int n = 0;
    for (char *p = strchr(line, ':') + 1, *end; n < max; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        ports[n++] = (int)v;
    }
    return n;
}

static char *render(const char *ini)
{
    struct diag_list d = {0};
    struct config *c = NULL;
    if (config_load(ini, &c, &d) < 0) {
        diag_print(&d, stderr);
        fail_msg("%s does not load", ini);
    }
    int ready[64], nready = ready_ports(ini, ready, 64), mine[64];
    struct nginx_pool pools[8];
    int *at = mine;
    for (int r = 0; r < c->nginx->nroutes; r++) {
        const struct program_cfg *p = config_program(c, c->nginx->routes[r].program);
        pools[r] = (struct nginx_pool){.program = p->name, .ports = at};
        for (int i = 0; i < nready; i++)
            if (ready[i] >= p->port && ready[i] < p->port + p->nprocs)
                at[pools[r].nports++] = ready[i];
        at += pools[r].nports;
    }
    char *text = nginx_conf_render(c, pools, c->nginx->nroutes);
    config_free(c);
    diag_clear(&d);
    return text;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_golden(void **state)
{
    (void)state;
    DIR *d = opendir(GOLDEN);
    int cases = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".ini"))
            continue;
        char ini[512], golden[512];
        snprintf(ini, sizeof(ini), GOLDEN "/%s", e->d_name);
        snprintf(golden, sizeof(golden), GOLDEN "/%.*s.conf", (int)(len - 4), e->d_name);
        char *text = render(ini);
        assert_non_null(text);
        if (getenv("UPDATE_GOLDEN")) {
            FILE *f = fopen(golden, "w");
            fputs(text, f);
            fclose(f);
        }
        char *want = slurp(golden);
        if (!want || strcmp(want, text))
            fail_msg("%s differs from %s; got:\n%s", ini, golden, text);
        free(want);
        free(text);
        cases++;
    }
    closedir(d);
    assert_true(cases >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden)};
    return cmocka_run_group_tests_name("nginx_conf", tests, NULL, NULL);
}
