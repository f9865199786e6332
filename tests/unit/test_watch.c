/* Unit tests: watch, on a real loop and a temporary directory. Each test runs a
 * script of file changes from a timer and ends once the loop has been quiet for
 * QUIET_MS after the last step and the last callback, or at a deadline. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "watch.h"

/* The burst test writes every 10 ms, well inside DEBOUNCE_MS; a step that must
 * give a callback of its own comes STEP_MS after the one before. */
enum { DEBOUNCE_MS = 100, QUIET_MS = 300, STEP_MS = 400, DEADLINE_MS = 10000 };

struct run {
    uv_loop_t loop;
    uv_timer_t steps, quiet, deadline;
    struct watch *w;
    char dir[64];
    void (*step)(struct run *r, int i);
    int nsteps, done;  /* steps in the script, steps taken */
    int calls;         /* callbacks so far */
    int calls_at[16];  /* callbacks seen before step i */
    bool timed_out;
};

static int setup(void **state)
{
    struct run *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    strcpy(r->dir, "/tmp/tend-watch-XXXXXX");
    *state = r;
    if (!mkdtemp(r->dir) || uv_loop_init(&r->loop) < 0)
        return -1;
    uv_timer_init(&r->loop, &r->steps);
    uv_timer_init(&r->loop, &r->quiet);
    uv_timer_init(&r->loop, &r->deadline);
    return 0;
}

/* Closing everything and running the loop dry must free every handle the watch
 * made: uv_loop_close fails with EBUSY otherwise. */
static int teardown(void **state)
{
    struct run *r = *state;
    char cmd[128];
    watch_stop(r->w);
    uv_close((uv_handle_t *)&r->steps, NULL);
    uv_close((uv_handle_t *)&r->quiet, NULL);
    uv_close((uv_handle_t *)&r->deadline, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    int closed = uv_loop_close(&r->loop);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
    int rm = system(cmd);
    free(r);
    return closed == 0 && rm == 0 ? 0 : -1;
}

static const char *path_of(struct run *r, const char *name)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", r->dir, name);
    return path;
}

static void write_file(struct run *r, const char *name, const char *text)
{
    FILE *f = fopen(path_of(r, name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void make_dir(struct run *r, const char *name)
{
    assert_int_equal(mkdir(path_of(r, name), 0755), 0);
}

static void on_quiet(uv_timer_t *t)
{
    struct run *r = t->data;
    if (r->done == r->nsteps)
        uv_stop(&r->loop);
}

static void on_deadline(uv_timer_t *t)
{
    struct run *r = t->data;
    r->timed_out = true;
    uv_stop(&r->loop);
}

static void on_change(void *ctx)
{
    struct run *r = ctx;
    r->calls++;
    uv_timer_start(&r->quiet, on_quiet, QUIET_MS, 0);
}

static void on_step(uv_timer_t *t)
{
    struct run *r = t->data;
    r->calls_at[r->done] = r->calls;
    r->step(r, r->done++);
    if (r->done == r->nsteps)
        uv_timer_stop(&r->steps);
    uv_timer_start(&r->quiet, on_quiet, QUIET_MS, 0);
}

static void start(struct run *r, const char *const *globs)
{
    r->w = watch_start(&r->loop, r->dir, globs, DEBOUNCE_MS, on_change, r);
    assert_non_null(r->w);
}

/* Runs nsteps of the script, every_ms apart, the first at once; returns the callbacks. */
static int run_script(struct run *r, void (*step)(struct run *, int), int nsteps, unsigned every_ms)
{
    r->step = step;
    r->nsteps = nsteps;
    r->steps.data = r->quiet.data = r->deadline.data = r;
    uv_timer_start(&r->steps, on_step, 0, every_ms);
    uv_timer_start(&r->deadline, on_deadline, DEADLINE_MS, 0);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&r->deadline);
    assert_false(r->timed_out);
    return r->calls;
}

static void write_app(struct run *r, int i)
{
    (void)i;
    write_file(r, "app.js", "x");
}

static void test_one_write(void **state)
{
    struct run *r = *state;
    write_file(r, "app.js", "");
    start(r, (const char *[]){"*.js", NULL});
    /* Idle is no timer armed: the loop would sleep in epoll until a change. One
     * turn first, for libuv to hand the inotify descriptor to epoll. */
    uv_run(&r->loop, UV_RUN_NOWAIT);
    assert_int_equal(uv_backend_timeout(&r->loop), -1);
    assert_int_equal(run_script(r, write_app, 1, 0), 1);
    assert_int_equal(uv_backend_timeout(&r->loop), -1);
}

static void test_burst(void **state)
{
    struct run *r = *state;
    start(r, (const char *[]){"app.js", NULL});
    assert_int_equal(run_script(r, write_app, 10, 10), 1);
}

static void write_other_then_app(struct run *r, int i)
{
    if (i == 0) {
        write_file(r, "notes.txt", "x");
        write_file(r, "app.json", "x");
        write_file(r, "lib/app.js", "x"); /* `*.js` is only the top directory */
    } else {
        write_file(r, "app.js", "x");
    }
}

/* The second step proves the watch was alive: it must give the only callback. */
static void test_no_match(void **state)
{
    struct run *r = *state;
    make_dir(r, "lib");
    start(r, (const char *[]){"*.js", NULL});
    assert_int_equal(run_script(r, write_other_then_app, 2, STEP_MS), 1);
    assert_int_equal(r->calls_at[1], 0);
}

static void write_temps_then_app(struct run *r, int i)
{
    static const char *const temps[] = {"app.js~", ".app.js.swp", ".app.js.swx", ".app.js.swo",
                                        "app.js.tmp", ".#app.js", "#app.js#", "4913"};
    for (size_t k = 0; i == 0 && k < sizeof(temps) / sizeof(temps[0]); k++)
        write_file(r, temps[k], "x");
    if (i == 0)
        assert_int_equal(unlink(path_of(r, "4913")), 0); /* as vim does */
    if (i == 1)
        write_file(r, "app.js", "x");
}

static void test_editor_temp_files(void **state)
{
    struct run *r = *state;
    start(r, (const char *[]){"*", NULL});
    assert_int_equal(run_script(r, write_temps_then_app, 2, STEP_MS), 1);
    assert_int_equal(r->calls_at[1], 0);
}

/* A new directory two levels deep, with a file written before any watch on it
 * could exist; then a change in it, which needs that watch. */
static void new_subdir(struct run *r, int i)
{
    if (i == 0) {
        make_dir(r, "src/a");
        make_dir(r, "src/a/b");
        write_file(r, "src/a/b/new.js", "x");
    } else {
        write_file(r, "src/a/b/new.js", "y");
    }
}

static void test_new_subdir(void **state)
{
    struct run *r = *state;
    make_dir(r, "src");
    start(r, (const char *[]){"src/**/*.js", NULL});
    assert_int_equal(run_script(r, new_subdir, 2, STEP_MS), 2);
    assert_int_equal(r->calls_at[1], 1);
}

static void skipped_dirs(struct run *r, int i)
{
    if (i == 0) {
        write_file(r, "node_modules/x.js", "x");
        write_file(r, ".git/x.js", "x");
        write_file(r, "src/.hidden/x.js", "x");
        write_file(r, "src/.x.js", "x");
    } else {
        write_file(r, "src/deep/x.js", "x");
    }
}

static void test_skipped_dirs(void **state)
{
    struct run *r = *state;
    make_dir(r, "node_modules");
    make_dir(r, ".git");
    make_dir(r, "src");
    make_dir(r, "src/.hidden");
    make_dir(r, "src/deep");
    start(r, (const char *[]){"**/*.js", NULL});
    assert_int_equal(run_script(r, skipped_dirs, 2, STEP_MS), 1);
    assert_int_equal(r->calls_at[1], 0);
}

/* Removing a directory and making it again, as `git checkout` may: the new one is
 * watched, though it has the old name. */
static void recreate(struct run *r, int i)
{
    if (i == 0) {
        assert_int_equal(unlink(path_of(r, "lib/sub/x.py")), 0);
        assert_int_equal(rmdir(path_of(r, "lib/sub")), 0);
    } else if (i == 1) {
        make_dir(r, "lib/sub");
    } else {
        write_file(r, "lib/sub/x.py", "x");
    }
}

static void test_dir_recreated(void **state)
{
    struct run *r = *state;
    make_dir(r, "lib");
    make_dir(r, "lib/sub");
    write_file(r, "lib/sub/x.py", "");
    start(r, (const char *[]){"lib/", NULL});
    /* the removal is a change, the empty directory is not, the new file is */
    assert_int_equal(run_script(r, recreate, 3, STEP_MS), 2);
    assert_int_equal(r->calls_at[1], 1);
    assert_int_equal(r->calls_at[2], 1);
}

/* A literal directory that does not exist yet is seen when it appears. */
static void later_dir(struct run *r, int i)
{
    if (i == 0)
        make_dir(r, "conf");
    else
        write_file(r, "conf/app.ini", "x");
}

static void test_literal_dir_later(void **state)
{
    struct run *r = *state;
    start(r, (const char *[]){"conf/*.ini", NULL});
    assert_int_equal(run_script(r, later_dir, 2, STEP_MS), 1);
    assert_int_equal(r->calls_at[1], 0);
}

static void test_start_errors(void **state)
{
    struct run *r = *state;
    const char *const js[] = {"*.js", NULL}, *const empty[] = {"", NULL}, *const none[] = {NULL};
    errno = 0;
    assert_null(watch_start(&r->loop, path_of(r, "missing"), js, 10, on_change, r));
    assert_int_equal(errno, ENOENT);
    write_file(r, "file", "");
    assert_null(watch_start(&r->loop, path_of(r, "file"), js, 10, on_change, r));
    assert_int_equal(errno, ENOTDIR);
    assert_null(watch_start(&r->loop, r->dir, none, 10, on_change, r));
    assert_int_equal(errno, EINVAL);
    assert_null(watch_start(&r->loop, r->dir, NULL, 10, on_change, r));
    assert_int_equal(errno, EINVAL);
    assert_null(watch_start(&r->loop, r->dir, empty, 10, on_change, r));
    assert_int_equal(errno, EINVAL);
    watch_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_editor_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_subdir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skipped_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir_recreated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literal_dir_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
    };
    return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
