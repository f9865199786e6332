/* signals: one uv_signal_t per watched signal, all reporting to one callback;
 * SIGPIPE, SIGTTIN and SIGTTOU through a signalfd instead (see signals.h). */
#include "signals.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct signals {
    signals_cb *cb;
    void *ctx;
    int n, open;
    int sfd;               /* the quiet signals' signalfd, -1 when none is watched */
    uv_poll_t quiet;       /* polls sfd */
    uv_signal_t handles[]; /* one per watched signal */
};

/* Signals tend must never act on by default (stop, die) and that a handler cannot
 * keep quiet: the terminal raises SIGTTOU again each time a write restarts after
 * one, and SIGPIPE would come back on each of tend's writes to a closed stream. */
static void quiet_set(sigset_t *quiet, const sigset_t *set)
{
    static const int sigs[] = {SIGPIPE, SIGTTIN, SIGTTOU};
    sigemptyset(quiet);
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigismember(set, sigs[i]) == 1)
            sigaddset(quiet, sigs[i]);
}

static void on_signal(uv_signal_t *h, int signo)
{
    struct signals *s = h->data;
    s->cb(s->ctx, signo);
}

static void on_quiet(uv_poll_t *h, int status, int events)
{
    struct signals *s = h->data;
    struct signalfd_siginfo si;
    (void)status, (void)events;
    /* a callback may stop the watch: nothing is reported after that */
    while (!uv_is_closing((uv_handle_t *)h) &&
           read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        /* the kernel's SIGPIPE for tend's own write names tend as sender */
        if (si.ssi_code == SI_USER && (pid_t)si.ssi_pid == getpid())
            continue;
        s->cb(s->ctx, (int)si.ssi_signo);
    }
}

static void on_close(uv_handle_t *h)
{
    struct signals *s = h->data;
    if (h == (uv_handle_t *)&s->quiet)
        close(s->sfd);
    if (--s->open == 0)
        free(s);
}

/* Ignored, so the terminal lets tend read and write from the background and a
 * closed stream is an error, not death; blocked as well, because a blocked signal
 * is queued even when ignored: the signalfd still reads one sent by kill(2). */
static int start_quiet(struct signals *s, uv_loop_t *loop, const sigset_t *quiet)
{
    struct sigaction ign = {.sa_handler = SIG_IGN};
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(quiet, sig) == 1)
            sigaction(sig, &ign, NULL);
    sigprocmask(SIG_BLOCK, quiet, NULL);
    if ((s->sfd = signalfd(-1, quiet, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        return -errno;
    int err = uv_poll_init(loop, &s->quiet, s->sfd);
    if (err < 0) {
        close(s->sfd);
        s->sfd = -1;
        return err;
    }
    s->quiet.data = s;
    s->open++;
    return uv_poll_start(&s->quiet, UV_READABLE, on_quiet);
}

struct signals *signals_start(uv_loop_t *loop, const sigset_t *set, signals_cb *cb, void *ctx,
                              int *err)
{
    sigset_t quiet;
    int count = 0;
    quiet_set(&quiet, set);
    for (int sig = 1; sig < NSIG; sig++)
        count += sigismember(set, sig) == 1 && sigismember(&quiet, sig) != 1;
    struct signals *s = calloc(1, sizeof(*s) + sizeof(uv_signal_t) * (size_t)count);
    if (!s)
        return *err = UV_ENOMEM, NULL;
    s->cb = cb;
    s->ctx = ctx;
    s->sfd = -1;
    if (!sigisemptyset(&quiet) && (*err = start_quiet(s, loop, &quiet)) < 0) {
        signals_stop(s);
        return NULL;
    }
    for (int sig = 1; sig < NSIG; sig++) {
        if (sigismember(set, sig) != 1 || sigismember(&quiet, sig) == 1)
            continue;
        uv_signal_t *h = &s->handles[s->n];
        uv_signal_init(loop, h);
        h->data = s;
        s->n++, s->open++;
        *err = uv_signal_start(h, on_signal, sig);
        if (*err == UV_EINVAL) /* one the runtime keeps for itself (valgrind does) */
            continue;
        if (*err < 0) {
            signals_stop(s);
            return NULL;
        }
    }
    *err = 0;
    return s;
}

void signals_stop(struct signals *s)
{
    if (!s)
        return;
    if (s->open == 0) {
        free(s);
        return;
    }
    if (s->sfd >= 0)
        uv_close((uv_handle_t *)&s->quiet, on_close);
    for (int i = 0; i < s->n; i++)
        uv_close((uv_handle_t *)&s->handles[i], on_close);
}

void signals_forwardable(sigset_t *set)
{
    static const int never[] = {SIGKILL, SIGSTOP, SIGCHLD, SIGFPE,  SIGILL,
                                SIGSEGV, SIGBUS,  SIGABRT, SIGTRAP, SIGSYS};
    sigfillset(set);
    for (unsigned i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        sigdelset(set, never[i]);
    for (int sig = 32; sig < SIGRTMIN; sig++) /* glibc keeps these for its threads */
        sigdelset(set, sig);
}
