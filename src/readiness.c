/* readiness: a connect (and for http a request) per attempt, a timer between. */
#include "readiness.h"

#include <errno.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ports.h"

/* Short pauses: a worker that just started is added to nginx as soon as it answers. */
enum { FIRST_PAUSE_MS = 25, MAX_PAUSE_MS = 250, ATTEMPT_MS = 2000 };

struct probe {
    uv_loop_t *loop;
    enum ready_kind kind;
    int port, open;
    char request[512];
    probe_ready_cb *cb;
    probe_note_cb *note;
    void *ctx;
    pid_t owner;          /* the listener must be its, or a descendant's */
    bool verified;        /* it was: an http probe waiting for a 2xx asks no more */
    unsigned long foreign; /* the last listener found not to be: named once */
    char holder[128];      /* who holds that one */
    uv_timer_t timer; /* the pause between attempts, and each attempt's deadline */
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    char reply[64]; /* enough for "HTTP/1.1 200" */
    size_t got;
    unsigned pause;
    bool connecting, stopped;
    probe_result_cb *result; /* probe_once's: one attempt, told either way */
    uint64_t deadline_ms;    /* probe_once's: the attempt's */
    /* for the why of a failed attempt: a copy, since a reload may free the config
     * the caller's path is in while an attempt is in flight */
    char path[48];
};

static void attempt(uv_timer_t *t);

static void on_closed(uv_handle_t *h)
{
    struct probe *p = h->data;
    if (--p->open == 0 && p->stopped)
        free(p);
}

static void end_attempt(struct probe *p)
{
    if (p->connecting) {
        p->connecting = false;
        uv_close((uv_handle_t *)&p->tcp, on_closed);
    }
}

/* An attempt failed (why says how): probe_once tells it, a probe tries again. */
static void retry(struct probe *p, const char *why)
{
    end_attempt(p);
    if (p->result) {
        uv_timer_stop(&p->timer);
        return p->result(p->ctx, false, why);
    }
    uv_timer_start(&p->timer, attempt, p->pause, 0);
    p->pause = p->pause * 2 > MAX_PAUSE_MS ? MAX_PAUSE_MS : p->pause * 2;
}

static void ready(struct probe *p)
{
    end_attempt(p);
    uv_timer_stop(&p->timer);
    if (p->result)
        return p->result(p->ctx, true, "");
    p->cb(p->ctx);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    struct probe *p = h->data;
    (void)size;
    *buf = uv_buf_init(p->reply + p->got, (unsigned)(sizeof(p->reply) - 1 - p->got));
}

/* "HTTP/1.x NNN": ready on 2xx and 3xx. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct probe *p = s->data;
    (void)buf;
    if (n > 0)
        p->got += (size_t)n;
    p->reply[p->got] = '\0';
    const char *sp = strchr(p->reply, ' ');
    char why[96];
    if (sp && strlen(sp) >= 4) {
        snprintf(why, sizeof(why), "GET %.40s answered %.3s", p->path, sp + 1);
        return sp[1] == '2' || sp[1] == '3' ? ready(p) : retry(p, why);
    }
    if (n < 0 || p->got == sizeof(p->reply) - 1) {
        snprintf(why, sizeof(why), "GET %.40s: no HTTP answer", p->path);
        retry(p, why);
    }
}

static void on_written(uv_write_t *w, int status)
{
    struct probe *p = w->data;
    if (status < 0) {
        if (status != UV_ECANCELED)
            retry(p, uv_strerror(status));
        return;
    }
    uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
}

/* Whether the listener the connect reached is the process's own: another process
 * holding the port (an orphan of an earlier run, another program) would be routed
 * to by nginx. Asked on the success path only, until it is the process's; the
 * holder is named (a walk of /proc) once per listener found foreign. */
static bool owned(struct probe *p)
{
    unsigned long inode;
    if (p->verified || p->owner <= 0 || ports_listener_owned(p->port, p->owner, &inode) != 0)
        return p->verified = true; /* owned, or tend cannot tell: the connect is all it knows */
    if (inode && inode != p->foreign) {
        p->foreign = inode;
        ports_name_socket(inode, p->holder, sizeof(p->holder));
        if (p->note)
            p->note(p->ctx, p->holder);
    }
    return false;
}

static void on_connect(uv_connect_t *c, int status)
{
    struct probe *p = c->data;
    if (status == UV_ECANCELED)
        return;
    if (status < 0)
        return retry(p, uv_strerror(status));
    if (!owned(p))
        return retry(p, "another process holds the port");
    if (p->kind == READY_TCP)
        return ready(p);
    uv_buf_t b = uv_buf_init(p->request, (unsigned)strlen(p->request));
    p->write.data = p;
    if (uv_write(&p->write, (uv_stream_t *)&p->tcp, &b, 1, on_written) < 0)
        retry(p, "write failed");
}

static void on_attempt_timeout(uv_timer_t *t)
{
    retry(t->data, "no answer in time"); /* a listener that accepts but never answers */
}

static void attempt(uv_timer_t *t)
{
    struct probe *p = t->data;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", p->port, &addr);
    p->got = 0;
    uv_tcp_init(p->loop, &p->tcp);
    p->tcp.data = p;
    p->open++;
    p->connecting = true;
    p->connect.data = p;
    int r = uv_tcp_connect(&p->connect, &p->tcp, (struct sockaddr *)&addr, on_connect);
    if (r < 0)
        return retry(p, uv_strerror(r));
    uv_timer_start(&p->timer, on_attempt_timeout, p->result ? p->deadline_ms : ATTEMPT_MS, 0);
}

struct probe *probe_start(uv_loop_t *loop, const struct probe_target *t, probe_ready_cb *cb,
                          probe_note_cb *note, void *ctx)
{
    enum ready_kind kind = t->kind;
    int port = t->port;
    const char *path = t->path;
    struct probe *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->loop = loop;
    p->kind = kind;
    p->port = port;
    p->cb = cb;
    p->note = note;
    p->ctx = ctx;
    p->owner = t->owner;
    snprintf(p->path, sizeof(p->path), "%s", path ? path : "/");
    p->pause = FIRST_PAUSE_MS;
    snprintf(p->request, sizeof(p->request),
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: tend\r\nConnection: close\r\n\r\n",
             path ? path : "/", port);
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    p->open = 1;
    uv_timer_start(&p->timer, attempt, 0, 0);
    return p;
}

struct probe *probe_once(uv_loop_t *loop, const struct probe_target *t, uint64_t timeout_ms,
                         probe_result_cb *cb, void *ctx)
{
    struct probe *p = probe_start(loop, t, NULL, NULL, ctx);
    if (p) {
        p->result = cb;
        p->deadline_ms = timeout_ms ? timeout_ms : 1;
    }
    return p;
}

const char *probe_holder(const struct probe *p)
{
    return p && p->foreign ? p->holder : "";
}

void probe_stop(struct probe *p)
{
    if (!p)
        return;
    p->stopped = true;
    end_attempt(p);
    uv_close((uv_handle_t *)&p->timer, on_closed);
}

/* ---- ready = notify ---- */

struct notify_listener {
    uv_poll_t poll;
    int fd;
    notify_msg_cb *cb;
    void *ctx;
    char path[64]; /* "@tend-notify-...": an abstract socket, no file to clean up */
};

static void on_datagram(uv_poll_t *h, int status, int events)
{
    struct notify_listener *l = h->data;
    (void)events;
    for (int n = 0; status == 0 && n < 64; n++) { /* a burst, then back to the loop */
        /* room for the credentials alone: descriptors sent along (sd_notify_barrier's
         * BARRIER=1) are dropped by the kernel, which ends the sender's wait */
        char buf[4096], ctl[CMSG_SPACE(sizeof(struct ucred))];
        struct iovec iov = {buf, sizeof(buf) - 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                           .msg_controllen = sizeof(ctl)};
        ssize_t got = recvmsg(l->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (got < 0)
            return;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (!c || c->cmsg_type != SCM_CREDENTIALS || (m.msg_flags & MSG_TRUNC))
            continue; /* who sent it is the whole point: without it, ignored */
        struct ucred cred;
        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        buf[got] = '\0';
        l->cb(l->ctx, cred.pid, cred.uid, buf, (size_t)got);
    }
}

struct notify_listener *readiness_listen(uv_loop_t *loop, notify_msg_cb *cb, void *ctx, int *err)
{
    static unsigned serial;
    struct notify_listener *l = calloc(1, sizeof(*l));
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int one = 1;
    if (!l)
        return *err = -ENOMEM, NULL;
    snprintf(l->path, sizeof(l->path), "@tend-notify-%d-%08x-%u", (int)getpid(),
             (unsigned)uv_hrtime(), serial++);
    memcpy(addr.sun_path + 1, l->path + 1, strlen(l->path) - 1);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(l->path));
    l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
        bind(l->fd, (struct sockaddr *)&addr, len) < 0) {
        *err = -errno;
        if (l->fd >= 0)
            close(l->fd);
        free(l);
        return NULL;
    }
    l->cb = cb;
    l->ctx = ctx;
    uv_poll_init(loop, &l->poll, l->fd);
    l->poll.data = l;
    uv_poll_start(&l->poll, UV_READABLE, on_datagram);
    return l;
}

const char *readiness_path(const struct notify_listener *l)
{
    return l->path;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct notify_listener *l = h->data;
    close(l->fd);
    free(l);
}

void readiness_unlisten(struct notify_listener *l)
{
    if (l)
        uv_close((uv_handle_t *)&l->poll, on_listener_closed);
}
