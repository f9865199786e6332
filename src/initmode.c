/* initmode: spawn one child, forward signals to it, reap everything, and leave
 * with its status once leftovers had a chance to exit. Owns its own loop. */
#include "initmode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"
#include "pid1.h"
#include "reaper.h"
#include "signals.h"
#include "spawn.h"
#include "strconv.h"

extern char **environ;

/* How long leftover processes get between SIGTERM and SIGKILL once the child is gone. */
enum { SWEEP_GRACE_MS = 2000 };

struct init {
    uv_loop_t loop;
    uv_timer_t grace;
    struct signals *signals;
    const struct initmode_opts *o;
    pid_t child;
    bool sweeping;
    int status; /* the child's, as the exit status to return */
};

/* The child's status as tend reports it: one the user expects (-e) is a success. */
static int reported(const struct init *in, int status)
{
    return in->o->expected[status] ? 0 : status;
}

static void finish(struct init *in)
{
    signals_stop(in->signals);
    uv_close((uv_handle_t *)&in->grace, NULL);
}

static void on_grace(uv_timer_t *t)
{
    (void)t;
    pid1_signal_all(SIGKILL);
}

static void on_exit_status(void *ctx, pid_t pid, int wstatus)
{
    struct init *in = ctx;
    if (pid != in->child || in->sweeping)
        return;
    in->status = reported(in, strconv_exit_code(wstatus));
    in->sweeping = true;
    if (pid1_signal_all(SIGTERM) > 0)
        uv_timer_start(&in->grace, on_grace, SWEEP_GRACE_MS, 0);
}

static void on_signal(void *ctx, int signo)
{
    struct init *in = ctx;
    if (signo == SIGCHLD) {
        if (reaper_reap(on_exit_status, in) == -ECHILD && in->sweeping)
            finish(in);
        return;
    }
    if (in->sweeping) { /* asked again while leftovers linger: don't wait for them */
        if (signo == SIGTERM || signo == SIGINT)
            pid1_signal_all(SIGKILL);
        return;
    }
    if (kill(in->o->to_group ? -in->child : in->child, signo) < 0 && errno != ESRCH)
        log_warn("forward signal %d: %s", signo, strerror(errno));
}

int initmode_main(const struct initmode_opts *o)
{
    struct init in = {.o = o};
    const struct pid1_origin *origin = pid1_origin();
    struct spawn_opts opts = {
        .argv = o->argv, .envp = environ, .umask = -1, .fds = {0, 1, 2}, .mask = &origin->mask,
        .ignored = &origin->ignored, .foreground = true, .inherit_fds = true,
        .nofile = (long)origin->nofile.rlim_cur,
    };
    sigset_t set;
    int err;
    char why[512];
    uv_loop_init(&in.loop);
    uv_timer_init(&in.loop, &in.grace);
    in.grace.data = &in;
    signals_forwardable(&set);
    sigaddset(&set, SIGCHLD);
    if (!(in.signals = signals_start(&in.loop, &set, on_signal, &in, &err))) {
        log_error("watch signals: %s", uv_strerror(err));
        uv_close((uv_handle_t *)&in.grace, NULL);
        uv_run(&in.loop, UV_RUN_DEFAULT); /* the handles that were opened close */
        uv_loop_close(&in.loop);
        return 1;
    }
    /* after the signals are watched: a catchable one is forwarded like any other */
    if (o->parent_death && (err = pid1_watch_parent(o->parent_death)) < 0)
        log_warn("set the parent death signal: %s", strerror(-err));
    if ((err = spawn_process(&opts, &in.child, why, sizeof(why))) < 0) {
        log_error("%s", why);
        in.status = reported(&in, err == -ENOENT ? 127 : 126);
        in.sweeping = true;
        on_signal(&in, SIGCHLD); /* reap the failed child, then leave */
    }
    uv_run(&in.loop, UV_RUN_DEFAULT);
    uv_loop_close(&in.loop);
    return in.status;
}
