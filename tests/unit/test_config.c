/* Unit tests: config loading (inih reader, includes, expansions, snapshot). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/tend-unit-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static struct config *load(const char *text, struct diag_list *d)
{
    struct config *c = NULL;
    const char *path = write_file("main.ini", text);
    int r = config_load(path, &c, d);
    if (r < 0) {
        diag_print(d, stderr);
        fail_msg("config_load failed: %d", r);
    }
    return c;
}

static void test_supervisord_dialect(void **state)
{
    (void)state;
    struct diag_list d = {0};
    char longline[600];
    snprintf(longline, sizeof(longline), "command = /bin/echo %0400d ; long\n", 7);
    char text[2048];
    snprintf(text, sizeof(text),
             "[supervisord]\nnodaemon=true\n"
             "[program:a]\r\n"
             "COMMAND: /bin/echo one   ; inline comment\n"
             "command = /bin/echo two # hash comment\n"
             "environment = A=\"x,y\",\n    B=2\n"
             "autostart = %%(ENV_TEND_UNIT_BOOL)s\n"
             "startsecs = 0\nstartsecs = 3\n"
             "[program:b]\n%s"
             "[program:c]\ncommand=/bin/sh -c \"x\"\n    --flag\n"
             "stopsignal = quit\nexitcodes = 0,2\nautorestart = unexpected\n",
             longline);
    setenv("TEND_UNIT_BOOL", "no", 1);
    struct config *c = load(text, &d);
    assert_int_equal(c->nprograms, 3);
    const struct program_cfg *a = config_program(c, "a");
    assert_string_equal(a->procs[0].argv[1], "two");
    assert_string_equal(a->procs[0].env[0], "A=x,y");
    assert_string_equal(a->procs[0].env[1], "B=2");
    assert_false(a->autostart);
    assert_int_equal(a->startsecs_ms, 3000);
    const struct program_cfg *b = config_program(c, "b");
    assert_int_equal(strlen(b->procs[0].argv[1]), 400);
    const struct program_cfg *cc = config_program(c, "c");
    assert_string_equal(cc->procs[0].argv[2], "x");
    assert_string_equal(cc->procs[0].argv[3], "--flag");
    assert_int_equal(cc->stopsignal, 3);
    assert_true(cc->exitcodes[0] & 1 && cc->exitcodes[0] & 4);
    assert_int_equal(cc->autorestart, AUTORESTART_UNEXPECTED);
    config_free(c);
    diag_clear(&d);
}

static void test_processes_and_ports(void **state)
{
    (void)state;
    struct diag_list d = {0};
    struct config *c = load("[program:web]\n"
                            "command=/bin/echo %(port)d %(process_num)d\n"
                            "numprocs=3\nnumprocs_start=1\nport=8000\n"
                            "[program:one]\ncommand=/bin/true\nport=9000\nport_env=HTTP_PORT\n"
                            "process_name=%(program_name)s-x\n",
                            &d);
    const struct program_cfg *w = config_program(c, "web");
    assert_int_equal(w->nprocs, 3);
    assert_string_equal(w->procs[0].name, "web_01");
    assert_string_equal(w->procs[2].name, "web_03");
    assert_int_equal(w->procs[2].port, 8002);
    assert_string_equal(w->procs[2].argv[1], "8002");
    assert_string_equal(w->procs[2].argv[2], "3");
    assert_string_equal(w->procs[2].env[0], "PORT=8002");
    const struct program_cfg *one;
    const struct proc_cfg *p = config_process(c, "one-x", &one);
    assert_non_null(p);
    assert_string_equal(p->env[0], "HTTP_PORT=9000");
    config_free(c);
    diag_clear(&d);
}

static void test_include_and_groups(void **state)
{
    (void)state;
    struct diag_list d = {0};
    mkdir(strcat(strcpy((char[256]){0}, dir), "/conf.d"), 0755);
    write_file("conf.d/a.conf", "[program:inc]\ncommand=/bin/true\ndirectory=%(here)s\n");
    write_file("conf.d/b.conf", "[group:g]\nprograms=inc,main\npriority=5\n");
    struct config *c = load("[include]\nfiles = conf.d/*.conf nothing/*.none\n"
                            "[program:main]\ncommand=/bin/true\n",
                            &d);
    const struct program_cfg *inc = config_program(c, "inc");
    assert_non_null(inc);
    assert_string_equal(inc->group, "g");
    assert_non_null(strstr(inc->procs[0].directory, "/conf.d"));
    assert_string_equal(config_program(c, "main")->group, "g");
    assert_int_equal(c->ngroups, 1);
    assert_int_equal(c->groups[0].priority, 5);
    config_free(c);
    diag_clear(&d);
}

static void test_settings_mapping(void **state)
{
    (void)state;
    struct diag_list d = {0};
    struct config *c = load("[unix_http_server]\nfile=/tmp/x.sock\nchmod=0770\n"
                            "[supervisord]\nloglevel=debug\n"
                            "[tend]\nlog_format=json\nshutdown_timeout=5s\n"
                            "environment=K=v\n",
                            &d);
    assert_string_equal(c->tend.socket, "/tmp/x.sock");
    assert_int_equal(c->tend.socket_mode, 0770);
    assert_int_equal(c->tend.log_format, LOG_FORMAT_JSON);
    assert_int_equal(c->tend.shutdown_timeout_ms, 5000);
    assert_string_equal(c->tend.env[0], "K=v");
    assert_int_equal(c->nprograms, 0);
    config_free(c);
    diag_clear(&d);
}

static void test_unknown_key_suggestion(void **state)
{
    (void)state;
    struct diag_list d = {0};
    struct config *c = load("[program:x]\ncommand=/bin/true\nstartsec=5\nauto_start=false\n", &d);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.items[0].severity, DIAG_WARNING);
    assert_int_equal(d.items[0].line, 3);
    assert_non_null(strstr(d.items[0].msg, "did you mean 'startsecs'"));
    assert_non_null(strstr(d.items[1].msg, "did you mean 'autostart'"));
    config_free(c);
    diag_clear(&d);
}

static void test_nginx_program_defined(void **state)
{
    (void)state;
    struct diag_list d = {0};
    struct config *c = load("[program:web]\ncommand=/bin/true\nport=8000\nnumprocs=2\n"
                            "[nginx]\nupstream=web\nlisten=127.0.0.1:8080\nconfig=/tmp/t/n.conf\n",
                            &d);
    assert_non_null(c->nginx);
    assert_int_equal(c->nginx->listen_port, 8080);
    const struct program_cfg *n = config_program(c, "nginx");
    assert_non_null(n);
    assert_true(c->nginx->defined_program);
    assert_string_equal(n->procs[0].argv[0], "nginx");
    assert_string_equal(n->procs[0].argv[2], "/tmp/t/n.conf");
    assert_int_equal(n->stopsignal, 3);
    assert_string_equal(n->depends_on[0].name, "web");
    config_free(c);
    diag_clear(&d);
}

static char *printed(const struct diag_list *d)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    diag_print(d, f);
    fclose(f);
    return text;
}

/* One fact, one line: its lines in order, each once; files in the order first seen. */
static void test_same_message_said_once(void **state)
{
    (void)state;
    struct diag_list d = {0};
    diag_add(&d, DIAG_WARNING, DIAG_HOST, "b.ini", 2, "user: 'x' does not exist");
    diag_add(&d, DIAG_WARNING, DIAG_HOST, "a.ini", 14, "user: 'x' does not exist");
    diag_add(&d, DIAG_WARNING, DIAG_HOST, "a.ini", 3, "user: 'x' does not exist");
    diag_add(&d, DIAG_WARNING, DIAG_HOST, "a.ini", 3, "user: 'x' does not exist");
    diag_add(&d, DIAG_WARNING, DIAG_UNKNOWN, "a.ini", 5, "other");
    diag_add(&d, DIAG_ERROR, DIAG_SYNTAX, "a.ini", 9, "user: 'x' does not exist");
    diag_add(&d, DIAG_WARNING, DIAG_UNKNOWN, "a.ini", 0, "no programs");
    diag_add(&d, DIAG_WARNING, DIAG_UNKNOWN, "a.ini", 0, "no programs");
    char *text = printed(&d);
    assert_string_equal(text, "b.ini:2: warning: user: 'x' does not exist\n"
                              "a.ini: warning: no programs\n"
                              "a.ini:3,14: warning: user: 'x' does not exist\n"
                              "a.ini:5: warning: other\n"
                              "a.ini:9: error: user: 'x' does not exist\n");
    assert_int_equal(diag_warnings(&d), 7); /* each place is still counted */
    free(text);
    diag_clear(&d);
    for (int line = 1; line <= 11; line++)
        diag_add(&d, DIAG_WARNING, DIAG_HOST, "a.ini", line, "same");
    text = printed(&d);
    assert_string_equal(text, "a.ini:1,2,3,4,5,6,7,8: warning: same (and 3 more lines)\n");
    free(text);
    diag_clear(&d);
}

static int msg_index(const struct diag_list *d, const char *part)
{
    for (int i = 0; i < d->n; i++)
        if (strstr(d->items[i].msg, part))
            return i;
    return -1;
}

/* The diag whose message holds part; the test fails when there is none. */
static struct diag find_msg(const struct diag_list *d, const char *part)
{
    int i = msg_index(d, part);
    if (i < 0)
        fail_msg("no message with '%s'", part);
    return i < 0 ? (struct diag){0} : d->items[i];
}

static void test_events_say_where_output_goes(void **state)
{
    (void)state;
    struct diag_list d = {0};
    struct config *c = load("[program:a]\ncommand=/bin/true\nstdout_events_enabled=true\n"
                            "stdout_logfile=NONE\nstderr_events_enabled=false\n"
                            "[program:b]\ncommand=/bin/true\nstderr_events_enabled=yes\n",
                            &d);
    struct diag none = find_msg(&d, "stdout_events_enabled = true");
    assert_int_equal(none.line, 3);
    assert_non_null(strstr(none.msg, "with stdout_logfile = NONE this output goes nowhere"));
    struct diag own = find_msg(&d, "stderr_events_enabled = yes");
    assert_int_equal(own.line, 8);
    assert_non_null(strstr(own.msg, "tend writes this output to its own stderr"));
    assert_int_equal(msg_index(&d, "= false"), -1);
    config_free(c);
    diag_clear(&d);
}

static void test_no_programs_is_warned(void **state)
{
    (void)state;
    struct diag_list d = {0};
    struct config *c = load("[supervisord]\nnodaemon=true\n", &d);
    struct diag w = find_msg(&d, "no programs");
    assert_int_equal(w.severity, DIAG_WARNING);
    assert_int_equal(w.line, 0);
    config_free(c);
    diag_clear(&d);
}

/* A config that must not load: its diagnostics. */
static void load_fails(const char *text, struct diag_list *d)
{
    struct config *c = NULL;
    const char *path = write_file("main.ini", text);
    assert_int_equal(config_load(path, &c, d), -EINVAL);
    assert_null(c);
}

static void test_depends_on_conditions(void **state)
{
    (void)state;
    struct diag_list d = {0};
    struct config *c = load("[program:migrate]\ncommand=/bin/true\nautorestart=false\n"
                            "[program:db]\ncommand=/bin/true\n"
                            "[program:web]\ncommand=/bin/true\n"
                            "depends_on = migrate:succeeded, db:healthy db:started\n"
                            "[program:cron]\ncommand=/bin/true\ndepends_on=migrate:completed db\n",
                            &d);
    const struct program_cfg *web = config_program(c, "web"), *cron = config_program(c, "cron");
    assert_string_equal(web->depends_on[0].name, "migrate");
    assert_int_equal(web->depends_on[0].cond, DEP_SUCCEEDED);
    assert_string_equal(web->depends_on[1].name, "db");
    assert_int_equal(web->depends_on[1].cond, DEP_HEALTHY);
    assert_int_equal(web->depends_on[2].cond, DEP_STARTED);
    assert_null(web->depends_on[3].name);
    assert_int_equal(cron->depends_on[0].cond, DEP_COMPLETED);
    assert_string_equal(cron->depends_on[1].name, "db");
    assert_int_equal(cron->depends_on[1].cond, DEP_READY); /* the default */
    assert_null(config_program(c, "db")->depends_on[0].name);
    assert_true(config_depends(c, web, config_program(c, "migrate")));
    assert_string_equal(config_dep_cond_name(DEP_SUCCEEDED), "succeeded");
    assert_int_equal(diag_errors(&d), 0);
    config_free(c);
    diag_clear(&d);
}

static void test_depends_on_errors_say_where(void **state)
{
    (void)state;
    struct diag_list d = {0};
    load_fails("[program:migrate]\ncommand=/bin/true\n"
               "[program:web]\ncommand=/bin/true\ndepends_on = migrate:succeded\n", &d);
    struct diag e = find_msg(&d, "'migrate:succeded'");
    assert_int_equal(e.severity, DIAG_ERROR);
    assert_int_equal(e.line, 5);
    assert_non_null(strstr(e.file, "main.ini"));
    assert_non_null(strstr(e.msg, "did you mean 'succeeded'?"));
    diag_clear(&d);

    load_fails("[program:web]\ncommand=/bin/true\ndepends_on = :ready\n", &d);
    assert_int_equal(find_msg(&d, "expected NAME or NAME:CONDITION").line, 3);
    diag_clear(&d);

    load_fails("[program:web]\ncommand=/bin/true\ndepends_on = nope:started\n", &d);
    assert_int_equal(find_msg(&d, "depends_on: no [program:nope]").line, 3);
    diag_clear(&d);

    load_fails("[program:a]\ncommand=/bin/true\ndepends_on = b:completed\n"
               "[program:b]\ncommand=/bin/true\ndepends_on = a:started\n", &d);
    find_msg(&d, "depends on itself through a cycle");
    diag_clear(&d);

    struct config *c = load("[program:a]\ncommand=/bin/true\nautorestart=true\n"
                            "[program:b]\ncommand=/bin/true\ndepends_on = a:succeeded\n", &d);
    struct diag w = find_msg(&d, "a:succeeded: [program:a] has autorestart = true");
    assert_int_equal(w.severity, DIAG_WARNING);
    assert_int_equal(w.line, 6);
    config_free(c);
    diag_clear(&d);
}

static void test_nginx_read_timeout(void **state)
{
    (void)state;
    struct diag_list d = {0};
    struct config *c = load("[program:web]\ncommand=/bin/true\nport=8000\n"
                            "[nginx]\nupstream=web\n", &d);
    assert_int_equal(c->nginx->read_timeout_ms, 30000);
    config_free(c);
    c = load("[program:web]\ncommand=/bin/true\nport=8000\n"
             "[nginx]\nupstream=web\nread_timeout=2s\n", &d);
    assert_int_equal(c->nginx->read_timeout_ms, 2000);
    config_free(c);
    diag_clear(&d);
    load_fails("[program:web]\ncommand=/bin/true\nport=8000\n"
               "[nginx]\nupstream=web\nread_timeout=0\n", &d);
    assert_int_equal(find_msg(&d, "read_timeout").line, 6);
    diag_clear(&d);
    load_fails("[program:web]\ncommand=/bin/true\nport=8000\n"
               "[nginx]\nupstream=web\nread_timeout=soon\n", &d);
    assert_int_equal(find_msg(&d, "read_timeout").line, 6);
    diag_clear(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_supervisord_dialect),
        cmocka_unit_test(test_processes_and_ports),
        cmocka_unit_test(test_include_and_groups),
        cmocka_unit_test(test_settings_mapping),
        cmocka_unit_test(test_unknown_key_suggestion),
        cmocka_unit_test(test_nginx_program_defined),
        cmocka_unit_test(test_same_message_said_once),
        cmocka_unit_test(test_events_say_where_output_goes),
        cmocka_unit_test(test_no_programs_is_warned),
        cmocka_unit_test(test_depends_on_conditions),
        cmocka_unit_test(test_depends_on_errors_say_where),
        cmocka_unit_test(test_nginx_read_timeout),
    };
    return cmocka_run_group_tests_name("config", tests, make_dir, remove_dir);
}
