/* control: the control socket: safe creation, peer checks, framed requests in,
 * framed replies out. What the requests mean is the callback's business. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "proto.h"
#include "safepath.h"

/* A client has this long to send its request; past MAX_CONNS open connections, a
 * new one is refused. Both keep a stuck or hostile client from holding descriptors.
 * Refusals of peers are logged at most once per REFUSED_LOG_MS. */
enum { REQUEST_MS = 5000, MAX_CONNS = 256, MAX_EXTRA = 65536, REFUSED_LOG_MS = 10000 };

struct conn {
    uv_pipe_t pipe;
    struct control *ctl;
    uint64_t since; /* accepted at, loop time */
    struct proto_request in;
    struct request *req; /* once the whole request has arrived */
    bool closing, taken; /* taken: its request arrived, or was refused */
    bool broken; /* a write could not be queued: the rest of the reply is dropped */
    size_t extra; /* bytes read and thrown away after the request */
    bool lingering; /* answered in HTTP: the rest of its request is read, then the close */
    struct conn *prev, *next;
};

struct control {
    uv_pipe_t listener;
    uv_timer_t deadline; /* armed while a connection or a request has a deadline */
    int nconns;
    unsigned version; /* of the waiting list: bumped when a request leaves it */
    uint64_t refused_at; /* when a refusal was last logged */
    unsigned refused;    /* refusals since, not logged */
    control_request_cb *cb;
    void *ctx;
    char *path;
    int dir;        /* the socket's directory, checked: the file is made and removed there */
    const char *name; /* the socket's name in it (in path) */
    dev_t dev;      /* the socket file tend made, removed only while it is still there */
    ino_t ino;
    uid_t owner;
    struct request *waiting;
    struct conn *conns; /* every open connection, to close them all at the end */
};

struct wbuf {
    uv_write_t req;
    char data[];
};


/* ---- replies ---- */

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *k = h->data;
    free(k);
}

static void conn_close(struct conn *k)
{
    if (k->closing)
        return;
    k->closing = true;
    if (k->req) { /* the client left first: the command lets go of it */
        struct request *r = k->req;
        k->req = NULL;
        r->conn = NULL;
        if (!r->ended && r->pending.cancel)
            r->pending.cancel(r);
        if (!r->ended)
            reply_end(r, PROTO_FAILED);
    }
    struct control *c = k->ctl;
    if (k->prev)
        k->prev->next = k->next;
    else
        c->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    c->nconns--;
    uv_close((uv_handle_t *)&k->pipe, on_conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
    struct conn *k = w->handle->data;
    free(w);
    if (status < 0)
        conn_close(k);
}

/* Queues one frame. A failure here never closes the connection at once: the caller
 * may be a command in the middle of its reply (STYLE rule 12). The connection
 * closes after reply_end, or when the client leaves. */
static void frame(struct conn *k, char type, const char *buf, size_t len)
{
    struct wbuf *w = k->broken ? NULL : malloc(sizeof(*w) + PROTO_HEADER + 1 + len);
    if (!w) {
        k->broken = true;
        return;
    }
    proto_header(w->data, (uint32_t)(len + 1));
    w->data[PROTO_HEADER] = type;
    memcpy(w->data + PROTO_HEADER + 1, buf, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)(PROTO_HEADER + 1 + len));
    if (uv_write(&w->req, (uv_stream_t *)&k->pipe, &b, 1, on_written) < 0) {
        free(w);
        k->broken = true;
    }
}

void reply_data(struct request *r, char stream, const char *buf, size_t len)
{
    while (r->conn && !r->conn->closing && len > 0) {
        size_t n = len < PROTO_MAX_REPLY - 1 ? len : PROTO_MAX_REPLY - 1;
        frame(r->conn, stream, buf, n);
        buf += n;
        len -= n;
    }
}

void reply(struct request *r, char stream, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n >= 0)
        reply_data(r, stream, text, (size_t)n);
    free(text);
}

static void unlink_waiting(struct request *r)
{
    struct control *c = r->ctl;
    if (r->prev)
        r->prev->next = r->next;
    else if (c->waiting == r)
        c->waiting = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    c->version++;
}

static void on_shutdown(uv_shutdown_t *s, int status)
{
    struct conn *k = s->handle->data;
    (void)status;
    free(s);
    conn_close(k);
}

void reply_end(struct request *r, int status)
{
    char code = (char)status;
    if (r->ended)
        return;
    r->ended = true;
    unlink_waiting(r);
    struct conn *k = r->conn;
    free(r->argv);
    free(r);
    if (!k)
        return;
    k->req = NULL;
    frame(k, 'x', &code, 1);
    uv_shutdown_t *s = malloc(sizeof(*s)); /* close once the reply is out */
    if (!s || uv_shutdown(s, (uv_stream_t *)&k->pipe, on_shutdown) < 0) {
        free(s);
        conn_close(k);
    }
}

size_t reply_queued(const struct request *r)
{
    return r->conn ? uv_stream_get_write_queue_size((uv_stream_t *)&r->conn->pipe) : 0;
}

static void on_deadline(uv_timer_t *t);

static void arm(struct control *c, uint64_t at)
{
    uint64_t now = uv_now(c->deadline.loop), due = uv_timer_get_due_in(&c->deadline);
    uint64_t in = at > now ? at - now : 0;
    if (!uv_is_active((uv_handle_t *)&c->deadline) || in < due)
        uv_timer_start(&c->deadline, on_deadline, in, 0);
}

void request_wait(struct request *r, struct pending p)
{
    struct control *c = r->ctl;
    r->pending = p;
    r->next = c->waiting;
    if (c->waiting)
        c->waiting->prev = r;
    c->waiting = r;
    if (p.bound_ms) {
        r->deadline = uv_now(c->deadline.loop) + p.bound_ms;
        arm(c, r->deadline);
    }
}

/* Gives each waiting request one look. Progress may end any request, not only its
 * own (STYLE rule 12): when the list changed, the walk starts again from the head,
 * skipping those already seen this time. */
void control_progress(struct control *c)
{
    if (!c)
        return;
    static unsigned walks;
    unsigned walk = ++walks;
    for (struct request *r = c->waiting; r;) {
        if (r->walk == walk || !r->pending.progress) {
            r = r->next;
            continue;
        }
        unsigned version = c->version;
        r->walk = walk;
        r->pending.progress(r);
        r = c->version == version ? r->next : c->waiting;
    }
}

/* A request past its deadline says what it waited for, lets go, and ends. */
static void expire(struct request *r)
{
    uint64_t waited = r->pending.bound_ms / 1000;
    if (r->pending.expire)
        r->pending.expire(r);
    reply(r, 'e', "tend: gave up after %llus\n", (unsigned long long)waited);
    if (r->pending.cancel)
        r->pending.cancel(r);
    reply_end(r, PROTO_FAILED);
}

/* ---- requests ---- */

/* Says why, then closes once that is written. What the client sent beyond is left
 * unread: it can still read the reason (a unix socket's peer reads what was queued
 * for it before it sees the reset). */
static void answered(struct conn *k)
{
    k->taken = true;
    uv_shutdown_t *s = malloc(sizeof(*s));
    if (!s || uv_shutdown(s, (uv_stream_t *)&k->pipe, on_shutdown) < 0) {
        free(s);
        conn_close(k);
    }
}

static void refuse(struct conn *k, int status, const char *msg)
{
    frame(k, 'e', msg, strlen(msg));
    char code = (char)status;
    frame(k, 'x', &code, 1);
    answered(k);
}

/* The answer is out; the connection stays until the client has sent its request's
 * body and closed (closing before would reset its send, and it would show that
 * instead), or its REQUEST_MS are up. */
static void on_half_closed(uv_shutdown_t *s, int status)
{
    (void)status;
    free(s);
}

/* An HTTP client (supervisorctl -s unix://..., curl) gets an answer it can show
 * rather than frames it would call a bad status line: one write, then the close.
 * The text is the reason phrase too: supervisorctl prints that, not the body. */
static void answer_http(struct conn *k)
{
    static const char text[] = "this is tend's control socket: use tendctl (see tendctl(1))";
    enum { ROOM = 320 };
    struct wbuf *w = malloc(sizeof(*w) + ROOM);
    int n = w ? snprintf(w->data, ROOM, "HTTP/1.0 400 %s\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                         text, sizeof(text), text) : -1;
    uv_buf_t b = uv_buf_init(w ? w->data : NULL, n > 0 ? (unsigned)n : 0);
    if (n > 0 && uv_write(&w->req, (uv_stream_t *)&k->pipe, &b, 1, on_written) < 0)
        n = -1;
    if (n <= 0)
        free(w);
    k->lingering = true;
    uv_shutdown_t *s = malloc(sizeof(*s));
    if (!s || uv_shutdown(s, (uv_stream_t *)&k->pipe, on_half_closed) < 0) {
        free(s);
        conn_close(k);
    }
}

/* The first bytes of an HTTP request: a method, then a space. */
static bool looks_like_http(const char *buf, size_t len)
{
    static const char *const methods[] = {"GET ", "POST ", "PUT ", "HEAD ", "DELETE ",
                                          "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};
    for (unsigned i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t m = strlen(methods[i]);
        if (!strncmp(buf, methods[i], len < m ? len : m) && len >= PROTO_HEADER)
            return true;
    }
    return false;
}

static void start_request(struct conn *k, uint32_t len)
{
    char *argv[PROTO_MAX_ARGS];
    int argc = proto_split(k->in.buf + PROTO_HEADER, len, argv, PROTO_MAX_ARGS);
    if (argc < 0)
        return refuse(k, PROTO_USAGE, "tend: malformed request\n");
    struct request *r = calloc(1, sizeof(*r));
    if (!r || !(r->argv = calloc((size_t)argc + 1, sizeof(char *)))) {
        free(r);
        return refuse(k, PROTO_FAILED, "tend: out of memory\n");
    }
    memcpy(r->argv, argv, sizeof(char *) * (size_t)argc);
    r->argc = argc;
    r->ctl = k->ctl;
    r->ctx = k->ctl->ctx;
    r->conn = k;
    k->req = r;
    k->taken = true; /* reading goes on: the client's leaving cancels what it waits for */
    k->ctl->cb(k->ctl->ctx, r);
}

static void take_bytes(struct conn *k, const char *data, size_t n)
{
    uint32_t len = 0;
    if (k->in.len == 0 && n >= PROTO_HEADER && looks_like_http(data, n))
        return answer_http(k); /* before its size is judged: a request may be long */
    switch (proto_feed(&k->in, data, n, &len)) {
    case PROTO_MORE:
        return;
    case PROTO_DONE:
        return start_request(k, len);
    case PROTO_BAD_MAGIC:
        if (looks_like_http(k->in.buf, k->in.len))
            return answer_http(k);
        return refuse(k, PROTO_USAGE, "tend: unknown protocol (tend speaks " PROTO_MAGIC ")\n");
    case PROTO_TOO_LARGE:
        return refuse(k, PROTO_USAGE, "tend: request too large (at most 4096 bytes)\n");
    case PROTO_EXTRA:
        return refuse(k, PROTO_USAGE, "tend: one request per connection\n");
    }
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    static char scratch[PROTO_HEADER + PROTO_MAX_REQUEST + 1];
    (void)h, (void)size;
    *buf = uv_buf_init(scratch, sizeof(scratch));
}

/* One request per connection. After it, the end of the connection means the client
 * left: what it waits for is cancelled (a half-close with the reply not yet asked
 * for, too: tendctl never half-closes). Bytes after the request are dropped. */
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct conn *k = s->data;
    if (k->lingering && (n < 0 || (k->extra += (size_t)n) > MAX_EXTRA))
        return conn_close(k);
    if (k->lingering)
        return;
    if (n == UV_EOF && k->taken && !k->req)
        return (void)uv_read_stop(s); /* answered: the reply finishes, then the close */
    if (n < 0)
        return conn_close(k);
    if (k->taken && (k->extra += (size_t)n) > MAX_EXTRA)
        return conn_close(k);
    if (n > 0 && !k->taken && !k->closing)
        take_bytes(k, buf->base, (size_t)n);
}

/* Root, or the socket's owner: anyone else is refused (the socket's mode is the
 * first gate; this one holds even when the mode is wide open). */
static bool peer_allowed(struct conn *k, uid_t *uid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&k->pipe, &fd) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return false;
    *uid = cred.uid;
    return cred.uid == 0 || cred.uid == k->ctl->owner;
}

/* Ends the requests past their deadline; expiring one may end others, so each
 * time the list changed the walk starts again from the head. */
static uint64_t expire_requests(struct control *c, uint64_t now)
{
    uint64_t next = 0;
    for (struct request *r = c->waiting; r;) {
        if (r->deadline && now >= r->deadline) {
            expire(r);
            r = c->waiting;
            continue;
        }
        if (r->deadline && (!next || r->deadline < next))
            next = r->deadline;
        r = r->next;
    }
    return next;
}

/* Closes the connections that have had REQUEST_MS without a whole request and the
 * requests past their deadline, then waits for the next one to run out; nothing is
 * armed while none is waiting. */
static void on_deadline(uv_timer_t *t)
{
    struct control *c = t->data;
    uint64_t now = uv_now(t->loop), next = expire_requests(c, now);
    for (struct conn *k = c->conns, *after; k; k = after) {
        after = k->next;
        uint64_t due = k->since + REQUEST_MS;
        if (k->taken || k->closing)
            continue;
        if (now >= due)
            conn_close(k);
        else if (!next || due < next)
            next = due;
    }
    if (next)
        uv_timer_start(t, on_deadline, next - now, 0);
}

/* Another user knocking: told why in one non-blocking write, closed at once, not
 * counted; logged once, then as a count at most every REFUSED_LOG_MS (a hostile
 * loop must not fill the log). */
static void refuse_peer(struct conn *k, uid_t uid)
{
    struct control *c = k->ctl;
    char msg[128], buf[PROTO_HEADER + 1 + sizeof(msg) + PROTO_HEADER + 2];
    int n = snprintf(msg, sizeof(msg), "tend: permission denied: uid %d is not root or the "
                     "socket's owner\n", (int)uid);
    proto_header(buf, (uint32_t)n + 1);
    buf[PROTO_HEADER] = 'e';
    memcpy(buf + PROTO_HEADER + 1, msg, (size_t)n);
    char *end = buf + PROTO_HEADER + 1 + n;
    proto_header(end, 2);
    end[PROTO_HEADER] = 'x';
    end[PROTO_HEADER + 1] = PROTO_FAILED;
    uv_buf_t b = uv_buf_init(buf, (unsigned)(end + PROTO_HEADER + 2 - buf));
    uv_try_write((uv_stream_t *)&k->pipe, &b, 1);
    conn_close(k);
    uint64_t now = uv_now(c->listener.loop);
    if (c->refused_at && now - c->refused_at < REFUSED_LOG_MS) {
        c->refused++;
        return;
    }
    if (c->refused)
        log_warn("control: refused %u more connections of other users", c->refused);
    log_warn("control: refused a connection from uid %d", (int)uid);
    c->refused_at = now;
    c->refused = 0;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct control *c = server->data;
    struct conn *k = status < 0 ? NULL : calloc(1, sizeof(*k));
    uid_t uid = (uid_t)-1;
    if (!k)
        return;
    k->ctl = c;
    k->since = uv_now(server->loop);
    k->next = c->conns;
    if (c->conns)
        c->conns->prev = k;
    c->conns = k;
    c->nconns++;
    uv_pipe_init(server->loop, &k->pipe, 0);
    k->pipe.data = k;
    if (uv_accept(server, (uv_stream_t *)&k->pipe) < 0)
        return conn_close(k);
    if (!peer_allowed(k, &uid))
        return refuse_peer(k, uid);
    arm(c, k->since + REQUEST_MS);
    uv_read_start((uv_stream_t *)&k->pipe, on_alloc, on_read);
    if (c->nconns > MAX_CONNS)
        return refuse(k, PROTO_FAILED, "tend: too many control connections, try again\n");
}

/* ---- the socket ---- */

/* The address of name in the checked directory: through /proc/self/fd, so that
 * nothing between the check and the bind or connect can move it elsewhere (there is
 * no bindat); the path itself when /proc is not there or the address is too long. */
static void address(const struct control *c, struct sockaddr_un *addr)
{
    *addr = (struct sockaddr_un){.sun_family = AF_UNIX};
    int n = snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", c->dir,
                     c->name);
    if (n < 0 || (size_t)n >= sizeof(addr->sun_path) || access("/proc/self/fd", F_OK) < 0)
        snprintf(addr->sun_path, sizeof(addr->sun_path), "%s", c->path);
}

static bool trusted_uid(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

/* A file of another user's where tend's socket should be: an impostor's socket (or
 * another user's tend on the same path), or a link waiting for a chown. It goes when
 * tend may remove it (root may, even in /tmp); else tend does not start rather than
 * leave tendctl talking to it. */
static int remove_foreign(const struct control *c, const struct stat *st, char *err, size_t len)
{
    uid_t uid = st->st_uid;
    if (unlinkat(c->dir, c->name, 0) == 0) {
        log_warn("socket '%s': removed a %s of uid %d that was in tend's place", c->path,
                 S_ISSOCK(st->st_mode) ? "socket" : S_ISLNK(st->st_mode) ? "link" : "file",
                 (int)uid);
        return 0;
    }
    snprintf(err, len, "socket '%s' belongs to uid %d: someone else made it (remove it, or "
             "choose another path)", c->path, (int)uid);
    return -EPERM;
}

/* A socket file left by a tend that died is replaced; one a live tend answers on is not. */
static int claim_path(const struct control *c, char *err, size_t len)
{
    struct sockaddr_un addr;
    struct stat st;
    if (fstatat(c->dir, c->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return 0;
    if (!trusted_uid(st.st_uid) && !S_ISDIR(st.st_mode))
        return remove_foreign(c, &st, err, len);
    if (!S_ISSOCK(st.st_mode))
        return snprintf(err, len, "socket '%s': exists and is not a socket", c->path), -EEXIST;
    address(c, &addr);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), r = -errno;
    if (fd >= 0) {
        r = connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) == 0 ? 0 : -errno;
        close(fd);
    }
    if (r == 0 || r == -EAGAIN) /* EAGAIN: its backlog is full, but it lives */
        return snprintf(err, len, "socket '%s': another tend answers on it", c->path),
               -EADDRINUSE;
    if (r != -ECONNREFUSED) /* only a refusal says nobody listens: keep the file */
        return snprintf(err, len, "socket '%s': %s: cannot tell whether a tend answers on it",
                        c->path, strerror(-r)), r;
    unlinkat(c->dir, c->name, 0);
    return 0;
}

/* The directory: checked (root's or tend's, and nobody else may write in it, unless
 * it is sticky as /tmp is), made when missing: 0700, or 0711 when another user is to
 * reach the socket in it. */
static int open_dir(struct control *c, bool shared, char *err, size_t len)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], why[512];
    snprintf(dir, sizeof(dir), "%s", c->path);
    char *slash = strrchr(dir, '/');
    c->name = strrchr(c->path, '/') ? strrchr(c->path, '/') + 1 : c->path;
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        snprintf(dir, sizeof(dir), "/");
    else
        *slash = '\0';
    if (!*c->name || !strcmp(c->name, ".") || !strcmp(c->name, ".."))
        return snprintf(err, len, "socket '%s': names a directory", c->path), -EISDIR;
    c->dir = safepath_dir(dir, geteuid(), getegid(), shared ? 0711 : 0700, true, why,
                          sizeof(why));
    if (c->dir < 0)
        snprintf(err, len, "socket %s", why);
    return c->dir < 0 ? c->dir : 0;
}

/* The file never exists with a wider mode than asked: umask is set around bind. It is
 * given to its owner by a call that does not follow links, in the checked directory. */
static int bind_socket(struct control *c, const struct tend_cfg *t, uid_t uid, gid_t gid,
                       char *err, size_t len)
{
    struct sockaddr_un addr;
    struct stat st;
    if (strlen(t->socket) >= sizeof(addr.sun_path))
        return snprintf(err, len, "socket '%s': path too long", t->socket), -ENAMETOOLONG;
    int r = open_dir(c, uid != (uid_t)-1 && uid != geteuid(), err, len);
    if (r < 0 || (r = claim_path(c, err, len)) < 0)
        return r;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return snprintf(err, len, "socket: %s", strerror(errno)), -errno;
    address(c, &addr);
    mode_t old = umask(0777 & ~(mode_t)t->socket_mode);
    r = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
    umask(old);
    if (r == 0 && uid != (uid_t)-1 && fchownat(c->dir, c->name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        r = -errno;
    if (r == 0 && fstatat(c->dir, c->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode))
        c->dev = st.st_dev, c->ino = st.st_ino;
    if (r == 0 && listen(fd, 64) < 0)
        r = -errno;
    if (r < 0) {
        snprintf(err, len, "socket '%s': %s", t->socket, strerror(-r));
        close(fd);
        return r;
    }
    return fd;
}

/* socket_owner is USER or USER:GROUP (supervisord's chown); the group defaults to the
 * user's own. One that does not exist was warned of at load: the socket stays tend's. */
static void owner_of(const struct tend_cfg *t, uid_t *uid, gid_t *gid)
{
    *uid = (uid_t)-1;
    *gid = (gid_t)-1;
    const char *owner = t->socket_owner ? t->socket_owner : t->user; /* tend's, once it drops */
    if (!owner)
        return;
    char user[256];
    size_t n = strcspn(owner, ":");
    snprintf(user, sizeof(user), "%.*s", (int)n, owner);
    struct passwd *pw = getpwnam(user);
    struct group *gr = owner[n] ? getgrnam(owner + n + 1) : NULL;
    if (pw) {
        *uid = pw->pw_uid;
        *gid = gr ? gr->gr_gid : pw->pw_gid;
    }
}

struct control *control_start(uv_loop_t *loop, const struct tend_cfg *t, control_request_cb *cb,
                              void *ctx, int *error, char *err, size_t len)
{
    uid_t uid;
    gid_t gid;
    owner_of(t, &uid, &gid);
    struct control *c = calloc(1, sizeof(*c));
    if (!c || !(c->path = strdup(t->socket))) {
        free(c);
        snprintf(err, len, "out of memory");
        *error = -ENOMEM;
        return NULL;
    }
    c->dir = -1;
    int fd = bind_socket(c, t, uid, gid, err, len);
    if (fd < 0) {
        *error = fd;
        if (c->dir >= 0)
            close(c->dir);
        free(c->path);
        free(c);
        return NULL;
    }
    c->cb = cb;
    c->ctx = ctx;
    c->owner = uid != (uid_t)-1 ? uid : geteuid();
    uv_pipe_init(loop, &c->listener, 0);
    uv_timer_init(loop, &c->deadline);
    c->listener.data = c->deadline.data = c;
    uv_pipe_open(&c->listener, fd);
    uv_listen((uv_stream_t *)&c->listener, 64, on_connection);
    return c;
}

static void on_listener_closed(uv_handle_t *h)
{
    struct control *c = h->data;
    if (h == (uv_handle_t *)&c->listener) /* then the timer, whose close frees c */
        return uv_close((uv_handle_t *)&c->deadline, on_listener_closed);
    close(c->dir);
    free(c->path);
    free(c);
}

void control_stop(struct control *c)
{
    if (!c)
        return;
    while (c->waiting) { /* their clients hear the end */
        struct request *r = c->waiting;
        if (r->pending.cancel)
            r->pending.cancel(r);
        if (!r->ended)
            reply_end(r, PROTO_FAILED);
    }
    while (c->conns)
        conn_close(c->conns);
    struct stat st; /* only the file tend made: after a drop of privileges it may stay */
    if (fstatat(c->dir, c->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == c->dev &&
        st.st_ino == c->ino)
        unlinkat(c->dir, c->name, 0);
    uv_close((uv_handle_t *)&c->listener, on_listener_closed);
}
