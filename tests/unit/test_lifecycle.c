/* Unit tests: proc_fsm and backoff, without fork or clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"
#include "proc_fsm.h"

static struct proc_facts facts(void)
{
    return (struct proc_facts){.wanted_up = true, .retry = true, .delay_zero = true,
                               .autorestart = AUTORESTART_UNEXPECTED};
}

static void expect(enum proc_state s, enum proc_event ev, struct proc_facts f,
                   enum proc_state next, unsigned actions)
{
    struct proc_step st = proc_fsm_step(s, ev, &f);
    if (st.next != next || st.actions != actions)
        fail_msg("%s + event %d: got %s/%#x, want %s/%#x", proc_state_name(s), ev,
                 proc_state_name(st.next), st.actions, proc_state_name(next), actions);
}

static void test_start_to_running(void **state)
{
    (void)state;
    struct proc_facts f = facts();
    expect(PROC_STOPPED, EV_START, f, PROC_STARTING, ACT_SPAWN);
    expect(PROC_EXITED, EV_START, f, PROC_STARTING, ACT_SPAWN);
    expect(PROC_FATAL, EV_START, f, PROC_STARTING, ACT_SPAWN);
    expect(PROC_STARTING, EV_READY, f, PROC_RUNNING, ACT_DISARM);
    expect(PROC_STOPPED, EV_STOP, f, PROC_STOPPED, 0);
    expect(PROC_RUNNING, EV_READY, f, PROC_RUNNING, 0);
}

static void test_failed_starts(void **state)
{
    (void)state;
    struct proc_facts f = facts();
    expect(PROC_STARTING, EV_EXIT, f, PROC_STARTING,
           ACT_DISARM | ACT_COUNT_FAILURE | ACT_SPAWN | ACT_COUNT_RESTART);
    f.delay_zero = false;
    expect(PROC_STARTING, EV_EXIT, f, PROC_BACKOFF, ACT_DISARM | ACT_COUNT_FAILURE | ACT_ARM_BACKOFF);
    expect(PROC_STARTING, EV_SPAWN_FAILED, f, PROC_BACKOFF,
           ACT_DISARM | ACT_COUNT_FAILURE | ACT_ARM_BACKOFF);
    f.retry = false;
    expect(PROC_STARTING, EV_EXIT, f, PROC_FATAL, ACT_DISARM | ACT_COUNT_FAILURE);
    f.expected = true; /* even exit 0 before startsecs is a failed start, as supervisord */
    expect(PROC_STARTING, EV_EXIT, f, PROC_FATAL, ACT_DISARM | ACT_COUNT_FAILURE);
    expect(PROC_BACKOFF, EV_TIMEOUT, f, PROC_STARTING, ACT_SPAWN | ACT_COUNT_RESTART);
}

static void test_ready_timeout_is_a_failed_start(void **state)
{
    (void)state;
    struct proc_facts f = facts();
    expect(PROC_STARTING, EV_TIMEOUT, f, PROC_STOPPING,
           ACT_DISARM | ACT_SIGNAL_STOP | ACT_MARK_FAILING);
    f.failing = true;
    f.delay_zero = false;
    expect(PROC_STOPPING, EV_EXIT, f, PROC_BACKOFF, ACT_DISARM | ACT_COUNT_FAILURE | ACT_ARM_BACKOFF);
    f.retry = false;
    expect(PROC_STOPPING, EV_EXIT, f, PROC_FATAL, ACT_DISARM | ACT_COUNT_FAILURE);
}

static void test_autorestart(void **state)
{
    (void)state;
    struct proc_facts f = facts();
    f.expected = true;
    expect(PROC_RUNNING, EV_EXIT, f, PROC_EXITED, 0);
    f.expected = false;
    expect(PROC_RUNNING, EV_EXIT, f, PROC_STARTING, ACT_SPAWN | ACT_COUNT_RESTART);
    f.autorestart = AUTORESTART_FALSE;
    expect(PROC_RUNNING, EV_EXIT, f, PROC_EXITED, 0);
    f.autorestart = AUTORESTART_TRUE;
    f.expected = true;
    f.delay_zero = false;
    expect(PROC_RUNNING, EV_EXIT, f, PROC_BACKOFF, ACT_ARM_BACKOFF);
}

static void test_stopping(void **state)
{
    (void)state;
    struct proc_facts f = facts();
    f.wanted_up = false;
    expect(PROC_RUNNING, EV_STOP, f, PROC_STOPPING, ACT_SIGNAL_STOP);
    expect(PROC_STARTING, EV_STOP, f, PROC_STOPPING, ACT_DISARM | ACT_SIGNAL_STOP);
    expect(PROC_STOPPING, EV_TIMEOUT, f, PROC_STOPPING, ACT_SIGNAL_KILL);
    expect(PROC_STOPPING, EV_KILL, f, PROC_STOPPING, ACT_SIGNAL_KILL);
    expect(PROC_STOPPING, EV_STOP, f, PROC_STOPPING, 0);
    expect(PROC_STOPPING, EV_EXIT, f, PROC_STOPPED, ACT_DISARM);
    expect(PROC_BACKOFF, EV_STOP, f, PROC_STOPPED, ACT_DISARM);
    expect(PROC_RUNNING, EV_KILL, f, PROC_STOPPING, ACT_SIGNAL_KILL);
    f.wanted_up = true; /* restart: started again once it is down */
    expect(PROC_STOPPING, EV_EXIT, f, PROC_STARTING, ACT_DISARM | ACT_SPAWN);
}

/* A health failure stops a RUNNING process (SIGCONT goes with the stop signal), and
 * its exit is a crash's: autorestart decides, exitcodes do not count (tend killed
 * it), and a process wanted down meanwhile just stops. Elsewhere it changes nothing. */
static void test_sick(void **state)
{
    (void)state;
    struct proc_facts f = facts();
    expect(PROC_RUNNING, EV_SICK, f, PROC_STOPPING, ACT_SIGNAL_STOP);
    expect(PROC_STARTING, EV_SICK, f, PROC_STARTING, 0);
    expect(PROC_BACKOFF, EV_SICK, f, PROC_BACKOFF, 0);
    f.sick = true;
    expect(PROC_STOPPING, EV_EXIT, f, PROC_STARTING, ACT_DISARM | ACT_SPAWN | ACT_COUNT_RESTART);
    f.delay_zero = false;
    expect(PROC_STOPPING, EV_EXIT, f, PROC_BACKOFF, ACT_DISARM | ACT_ARM_BACKOFF);
    f.autorestart = AUTORESTART_FALSE;
    expect(PROC_STOPPING, EV_EXIT, f, PROC_EXITED, ACT_DISARM);
    f.wanted_up = false;
    f.autorestart = AUTORESTART_TRUE;
    expect(PROC_STOPPING, EV_EXIT, f, PROC_STOPPED, ACT_DISARM);
}

/* Shutting down, a program held back by the stop order may still exit on its own:
 * it is not started again. */
static void test_no_restart_once_not_wanted(void **state)
{
    (void)state;
    struct proc_facts f = facts();
    f.wanted_up = false;
    f.autorestart = AUTORESTART_TRUE;
    expect(PROC_RUNNING, EV_EXIT, f, PROC_EXITED, 0);
    expect(PROC_STARTING, EV_EXIT, f, PROC_EXITED, ACT_DISARM | ACT_COUNT_FAILURE);
    f.delay_zero = false;
    expect(PROC_RUNNING, EV_EXIT, f, PROC_EXITED, 0);
    expect(PROC_BACKOFF, EV_TIMEOUT, f, PROC_STOPPED, 0);
}

static void test_backoff_sequence(void **state)
{
    (void)state;
    struct backoff b = {0};
    struct backoff_cfg c = {.delay_ms = 100, .max_ms = 1000, .reset_ms = 10000};
    uint64_t want[] = {0, 100, 200, 400, 800, 1000, 1000};
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(backoff_next(&b, &c, 5, 100), want[i]); /* rnd 100: no jitter */
    assert_int_equal(backoff_next(&b, &c, 10000, 100), 0); /* a healthy run resets */
    assert_int_equal(backoff_next(&b, &c, 0, 100), 100);
    backoff_reset(&b);
    assert_int_equal(backoff_next(&b, &c, 0, 100), 0);
}

static void test_backoff_jitter_bounds(void **state)
{
    (void)state;
    struct backoff_cfg c = {.delay_ms = 1000, .max_ms = 30000, .reset_ms = 10000};
    for (uint32_t rnd = 0; rnd < 1000; rnd += 7) {
        struct backoff b = {.failures = 1};
        uint64_t d = backoff_next(&b, &c, 0, rnd);
        assert_true(d >= 900 && d <= 1100);
        b.failures = 40;
        assert_true(backoff_next(&b, &c, 0, rnd) <= 30000);
    }
    struct backoff b = {.failures = 3};
    struct backoff_cfg zero = {.delay_ms = 0, .max_ms = 0, .reset_ms = 10000};
    assert_int_equal(backoff_next(&b, &zero, 0, 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_to_running),
        cmocka_unit_test(test_failed_starts),
        cmocka_unit_test(test_ready_timeout_is_a_failed_start),
        cmocka_unit_test(test_autorestart),
        cmocka_unit_test(test_stopping),
        cmocka_unit_test(test_no_restart_once_not_wanted),
        cmocka_unit_test(test_sick),
        cmocka_unit_test(test_backoff_sequence),
        cmocka_unit_test(test_backoff_jitter_bounds),
    };
    return cmocka_run_group_tests_name("lifecycle", tests, NULL, NULL);
}
