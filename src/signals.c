/* signals: one uv_signal_t per watched signal, all reporting to one callback. */
#include "signals.h"

#include <stdlib.h>

struct signals {
    signals_cb *cb;
    void *ctx;
    int n, open;
    uv_signal_t handles[]; /* one per watched signal */
};

static void on_signal(uv_signal_t *h, int signo)
{
    struct signals *s = h->data;
    s->cb(s->ctx, signo);
}

static void on_close(uv_handle_t *h)
{
    struct signals *s = h->data;
    if (--s->open == 0)
        free(s);
}

struct signals *signals_start(uv_loop_t *loop, const sigset_t *set, signals_cb *cb, void *ctx,
                              int *err)
{
    int count = 0;
    for (int sig = 1; sig < NSIG; sig++)
        count += sigismember(set, sig) == 1;
    struct signals *s = calloc(1, sizeof(*s) + sizeof(uv_signal_t) * (size_t)count);
    if (!s)
        return *err = UV_ENOMEM, NULL;
    s->cb = cb;
    s->ctx = ctx;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sigismember(set, sig) != 1)
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
    for (int i = 0; i < s->n; i++)
        uv_close((uv_handle_t *)&s->handles[i], on_close);
}

void signals_forwardable(sigset_t *set)
{
    /* SIGPIPE too: tend's own write to a closed stream must not reach the child */
    static const int never[] = {SIGKILL, SIGSTOP, SIGCHLD, SIGFPE,  SIGILL,  SIGSEGV, SIGBUS,
                                SIGABRT, SIGTRAP, SIGSYS,  SIGTTIN, SIGTTOU, SIGPIPE};
    sigfillset(set);
    for (unsigned i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        sigdelset(set, never[i]);
    for (int sig = 32; sig < SIGRTMIN; sig++) /* glibc keeps these for its threads */
        sigdelset(set, sig);
}
