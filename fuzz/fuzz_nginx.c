/* fuzz_nginx: builds a config snapshot from a small description decoded from each input,
 * renders nginx.conf for a few ready sets drawn from the input, and checks the text by
 * reading it back as nginx would tokenize it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "nginx_conf.h"

/* A broken promise is a finding: abort so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "fuzz_nginx: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

enum {
    MAX_PROGS = 6,
    MAX_ROUTES = 4,
    MAX_NUMPROCS = 50,
    WORD = 40, /* room for a drawn name or path and its NUL */
    MAX_ENTRIES = MAX_PROGS * 3 + 5,
    MAX_SETS = 3,
};

/* ---- the input, read as a description; an exhausted input reads as zeros ---- */

struct reader {
    const uint8_t *p;
    size_t n;
};

static uint8_t byte(struct reader *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static int u16(struct reader *in)
{
    int high = byte(in);
    return high << 8 | byte(in);
}

/* Mostly characters the config accepts, so that most inputs build; 0xf0 and above
 * escape to the next byte as it is, so any character can still be tried. */
static void draw(struct reader *in, char *out, size_t cap, const char *alphabet)
{
    size_t len = 1 + byte(in) % 12, n = strlen(out), k = strlen(alphabet);
    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        uint8_t b = byte(in);
        out[n++] = (char)(b < 0xf0 ? alphabet[b % k] : byte(in));
    }
    out[n] = '\0';
}

static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-.@+";
static const char path_chars[] = "abcdefxyz0189/_.-~";

/* ---- the description, as config entries ---- */

struct desc {
    char names[MAX_PROGS][WORD], sections[MAX_PROGS][WORD + 8];
    char numprocs[MAX_PROGS][8], ports[MAX_PROGS][8];
    char upstream[MAX_ROUTES * (2 * WORD + 2)], listen[WORD + 8], config[WORD + 24];
    int nprogs;
    struct config_entry e[MAX_ENTRIES];
    int n;
};

static void add(struct desc *d, const char *section, const char *key, const char *value)
{
    CHECK(d->n < MAX_ENTRIES);
    d->e[d->n] = (struct config_entry){section, key, value, "fuzz.ini", d->n + 1};
    d->n++;
}

/* Distinct names from the list by default, so that most configs build; "nginx" is
 * there to cover a worker program that is also nginx's own. */
static void program_name(struct reader *in, struct desc *d, int i, int rotate)
{
    static const char *const names[] = {"web", "api", "worker", "static", "admin",
                                        "ws",  "a.b", "x-1",    "u@h+2",  "nginx"};
    const int count = (int)(sizeof(names) / sizeof(names[0]));
    uint8_t b = byte(in);
    if (b < 0xe0)
        snprintf(d->names[i], WORD, "%s", names[(rotate + i) % count]);
    else if (b < 0xf0)
        snprintf(d->names[i], WORD, "%s", names[b % count]); /* perhaps a second time */
    else
        draw(in, d->names[i], WORD, name_chars);
}

/* Port ranges 100 apart by default, which numprocs <= 50 cannot make overlap; now
 * and then none (an upstream must then be refused) or any 16-bit number. */
static void program(struct reader *in, struct desc *d, int i, int rotate)
{
    program_name(in, d, i, rotate);
    snprintf(d->sections[i], sizeof(d->sections[i]), "program:%s", d->names[i]);
    snprintf(d->numprocs[i], sizeof(d->numprocs[i]), "%d", 1 + byte(in) % MAX_NUMPROCS);
    uint8_t m = byte(in);
    if (m % 8 < 6)
        snprintf(d->ports[i], sizeof(d->ports[i]), "%d", 2000 + 100 * i + (m >> 3) % 50);
    else if (m % 8 == 7)
        snprintf(d->ports[i], sizeof(d->ports[i]), "%d", u16(in));
    add(d, d->sections[i], "command", "/bin/true");
    add(d, d->sections[i], "numprocs", d->numprocs[i]);
    if (m % 8 != 6)
        add(d, d->sections[i], "port", d->ports[i]);
}

/* A program of the description, or now and then one that does not exist. */
static const char *target(struct reader *in, const struct desc *d)
{
    uint8_t b = byte(in);
    return b < 0xf8 ? d->names[b % d->nprogs] : "missing";
}

static void route_path(struct reader *in, char *out)
{
    static const char *const paths[] = {"/", "/api", "/static/", "/ws", "/admin/x", "/v1/", "/~u"};
    uint8_t b = byte(in);
    if (b < 0xe0) {
        snprintf(out, WORD, "%s", paths[b % (sizeof(paths) / sizeof(paths[0]))]);
    } else {
        snprintf(out, WORD, "/");
        draw(in, out, WORD, path_chars);
    }
}

/* upstream = PROGRAM, or 1..4 PATH=PROGRAM pairs. */
static void upstream(struct reader *in, struct desc *d)
{
    uint8_t b = byte(in);
    if (b % 4 == 0) {
        snprintf(d->upstream, sizeof(d->upstream), "%s", target(in, d));
        return;
    }
    for (int i = 0, n = 1 + b / 4 % MAX_ROUTES; i < n; i++) {
        char path[WORD];
        size_t len = strlen(d->upstream);
        route_path(in, path);
        snprintf(d->upstream + len, sizeof(d->upstream) - len, "%s%s=%s", i ? " " : "", path,
                 target(in, d));
    }
}

/* PORT or ADDRESS:PORT; the address is drawn from the input now and then. */
static void listen_value(struct reader *in, struct desc *d)
{
    static const char *const forms[] = {"%s%d", "127.0.0.1:%s%d", "*:%s%d", "[::1]:%s%d", "%s:%d"};
    static const int ports[] = {8080, 80, 443};
    uint8_t f = byte(in), q = byte(in);
    int port = q % 4 < 3 ? ports[q % 4] : u16(in);
    char addr[WORD] = "";
    if (f % 5 == 4)
        draw(in, addr, sizeof(addr), "0123456789.abcdef");
    snprintf(d->listen, sizeof(d->listen), forms[f % 5], addr, port);
}

static void config_path(struct reader *in, struct desc *d)
{
    static const char *const fixed[] = {"/tmp/tend-fuzz/nginx.conf", "/tmp/nginx.conf",
                                        "/tmp/a/b/c/tend.nginx.conf"};
    uint8_t b = byte(in);
    if (b < 0xf0) {
        snprintf(d->config, sizeof(d->config), "%s", fixed[b % 3]);
    } else {
        snprintf(d->config, sizeof(d->config), "/tmp/");
        draw(in, d->config, sizeof(d->config) - 11, path_chars);
        strcat(d->config, "/nginx.conf");
    }
}

static void nginx_section(struct reader *in, struct desc *d)
{
    static const char *const modes[] = {"full", "full", "include", "include", "full", "inc"};
    static const char *const logs[] = {"on", "off", "true", "false"};
    upstream(in, d);
    listen_value(in, d);
    config_path(in, d);
    add(d, "nginx", "upstream", d->upstream);
    add(d, "nginx", "listen", d->listen);
    add(d, "nginx", "config", d->config);
    uint8_t m = byte(in), a = byte(in);
    if (m % 8 < 6) /* else the default, full */
        add(d, "nginx", "mode", modes[m % 8]);
    if (a % 5 < 4)
        add(d, "nginx", "access_log", logs[a % 5]);
}

static void describe(struct reader *in, struct desc *d)
{
    memset(d, 0, sizeof(*d));
    d->nprogs = 1 + byte(in) % MAX_PROGS;
    int rotate = byte(in);
    for (int i = 0; i < d->nprogs; i++)
        program(in, d, i, rotate);
    nginx_section(in, d);
}

/* ---- nginx's reading of the text: tokens, then directives ---- */

/* A word, or one of ; { } */
struct tok {
    const char *s;
    int len;
    char kind; /* 'w' or the punctuation itself */
};

struct toks {
    struct tok *t;
    int n, cap;
};

static void push(struct toks *t, const char *s, int len, char kind)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->t = realloc(t->t, sizeof(*t->t) * (size_t)t->cap);
        CHECK(t->t);
    }
    t->t[t->n++] = (struct tok){s, len, kind};
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A quoted word, as nginx reads one: a backslash takes the next character, and the
 * closing quote must be followed by a separator. Returns the end, or NULL. */
static const char *quoted(const char *p)
{
    char q = *p++;
    for (; *p && *p != q; p++)
        if (*p == '\\' && p[1])
            p++;
    if (!*p)
        return NULL;
    p++;
    return *p && !is_space(*p) && *p != ';' && *p != '{' ? NULL : p;
}

/* A bare word ends at a space, ';' or '{', except a '{' right after '$' ("${name}");
 * a '}' inside one is just a character, and a backslash takes the next one. This is
 * nginx 1.22's reading, the version nginx_conf.c writes for. */
static const char *bare(const char *p)
{
    for (bool variable = false; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            variable = false;
            continue;
        }
        if (is_space(*p) || *p == ';' || (*p == '{' && !variable))
            break;
        variable = *p == '$';
    }
    return p;
}

/* nginx's ngx_conf_read_token, as far as tend's text needs: comments start only where
 * a token could, quotes only open a token. Returns false on what nginx would refuse. */
static bool tokenize(const char *s, struct toks *t)
{
    for (const char *p = s, *end; *p; p = end) {
        if (is_space(*p)) {
            end = p + 1;
        } else if (*p == '#') {
            end = p + strcspn(p, "\n");
        } else if (*p == ';' || *p == '{' || *p == '}') {
            push(t, p, 1, *p);
            end = p + 1;
        } else {
            end = *p == '"' || *p == '\'' ? quoted(p) : bare(p);
            if (!end)
                return false;
            push(t, p, (int)(end - p), 'w');
        }
    }
    return true;
}

/* One directive: its words, then ';' or a block. */
struct dir {
    int word, nwords;
    int body, body_end; /* tokens of the block, [body, body_end); body < 0: none */
    int next;
};

/* Reads the directive at token i of [i, end); false when the braces do not close or a
 * directive has no name or no end. */
static bool read_dir(const struct toks *t, int i, int end, struct dir *d)
{
    *d = (struct dir){.word = i, .body = -1};
    while (i < end && t->t[i].kind == 'w')
        i++;
    d->nwords = i - d->word;
    if (!d->nwords || i == end || t->t[i].kind == '}')
        return false;
    if (t->t[i].kind == ';')
        return d->next = i + 1, true;
    d->body = ++i;
    for (int depth = 1; i < end; i++) {
        depth += t->t[i].kind == '{';
        depth -= t->t[i].kind == '}';
        if (!depth)
            return d->body_end = i, d->next = i + 1, true;
    }
    return false;
}

static bool word_is(const struct toks *t, int i, const char *s)
{
    return t->t[i].len == (int)strlen(s) && !memcmp(t->t[i].s, s, strlen(s));
}

static bool dir_is(const struct toks *t, const struct dir *d, const char *name, int nargs)
{
    return word_is(t, d->word, name) && d->nwords == nargs + 1;
}

/* Every directive of [i, end) reads whole: the braces balance. */
static void check_blocks(const struct toks *t, int i, int end)
{
    struct dir d;
    for (; i < end; i = d.next) {
        CHECK(read_dir(t, i, end, &d));
        if (d.body >= 0)
            check_blocks(t, d.body, d.body_end);
    }
}

/* How many directives named `name`, at any depth. */
static int count_dirs(const struct toks *t, int i, int end, const char *name, bool block)
{
    struct dir d;
    int n = 0;
    for (; i < end; i = d.next) {
        read_dir(t, i, end, &d);
        n += word_is(t, d.word, name) && (d.body >= 0) == block;
        if (d.body >= 0)
            n += count_dirs(t, d.body, d.body_end, name, block);
    }
    return n;
}

/* ---- what the text must say ---- */

/* The ready sets for one render: the first pool named after a program is its own
 * (as pool_of finds it), and a program without one has nothing ready. */
struct ready {
    struct nginx_pool pools[MAX_ROUTES + 1];
    int npools;
    int ports[MAX_ROUTES + 1][MAX_NUMPROCS];
};

static const struct nginx_pool *pool_of(const struct ready *r, const char *program)
{
    for (int i = 0; i < r->npools; i++)
        if (!strcmp(r->pools[i].program, program))
            return &r->pools[i];
    return NULL;
}

static int port_at(const struct toks *t, int i, const char *prefix)
{
    char buf[32];
    int port = -1, used = 0;
    size_t n = strlen(prefix);
    if (t->t[i].len >= (int)sizeof(buf) || t->t[i].len <= (int)n || memcmp(t->t[i].s, prefix, n))
        return -1;
    snprintf(buf, sizeof(buf), "%.*s", t->t[i].len - (int)n, t->t[i].s + n);
    return sscanf(buf, "%d%n", &port, &used) == 1 && buf[used] == '\0' ? port : -1;
}

/* upstream NAME { least_conn; a server per ready port, ascending, or one marked down
 * on the program's first port; keepalive N; } */
static void check_upstream(const struct toks *t, const struct dir *u, const struct config *c,
                           const struct ready *r)
{
    char name[WORD + 8];
    snprintf(name, sizeof(name), "%.*s", t->t[u->word + 1].len, t->t[u->word + 1].s);
    const struct program_cfg *p = config_program(c, name);
    const struct nginx_pool *pool = pool_of(r, name);
    int n = pool ? pool->nports : 0, servers = 0, i = u->body;
    struct dir d;
    CHECK(p && p->port);
    CHECK(i < u->body_end && read_dir(t, i, u->body_end, &d) && dir_is(t, &d, "least_conn", 0));
    for (i = d.next; read_dir(t, i, u->body_end, &d) && word_is(t, d.word, "server"); i = d.next) {
        int port = port_at(t, d.word + 1, "127.0.0.1:");
        if (n) {
            CHECK(servers < n && port == pool->ports[servers] && d.nwords == 4);
            CHECK(word_is(t, d.word + 2, "max_fails=1"));
        } else {
            CHECK(port == p->port && dir_is(t, &d, "server", 2) && word_is(t, d.word + 2, "down"));
        }
        servers++;
    }
    CHECK(servers == (n ? n : 1)); /* an empty pool: the one placeholder */
    CHECK(dir_is(t, &d, "keepalive", 1) && port_at(t, d.word + 1, "") == (n ? 8 * n : 1));
    CHECK(d.next == u->body_end);
}

/* Each program a route names has exactly one upstream block, and no other has one. */
static void check_upstreams(const struct toks *t, int i, int end, const struct config *c,
                            const struct ready *r)
{
    const struct nginx_cfg *n = c->nginx;
    int blocks = 0, programs = 0;
    struct dir d;
    for (; i < end; i = d.next) {
        read_dir(t, i, end, &d);
        if (!word_is(t, d.word, "upstream"))
            continue;
        CHECK(d.body >= 0 && d.nwords == 2);
        check_upstream(t, &d, c, r);
        blocks++;
    }
    for (int k = 0; k < n->nroutes; k++) {
        bool seen = false;
        for (int j = 0; j < k; j++)
            seen |= !strcmp(n->routes[j].program, n->routes[k].program);
        programs += !seen;
    }
    CHECK(blocks == programs);
}

/* location PATH { proxy_pass http://PROGRAM; ... } or a 503 when nothing is ready. */
static void check_location(const struct toks *t, const struct dir *l, const struct nginx_route *rt,
                           const struct ready *r)
{
    char want[WORD + 16];
    const struct nginx_pool *pool = pool_of(r, rt->program);
    struct dir d;
    CHECK(dir_is(t, l, "location", 1) && l->body >= 0);
    CHECK(word_is(t, l->word + 1, rt->path)); /* the path is one word, as written */
    CHECK(read_dir(t, l->body, l->body_end, &d));
    if (!pool || !pool->nports) {
        CHECK(dir_is(t, &d, "return", 2) && word_is(t, d.word + 1, "503"));
        return;
    }
    snprintf(want, sizeof(want), "http://%s", rt->program);
    CHECK(dir_is(t, &d, "proxy_pass", 1) && word_is(t, d.word + 1, want));
}

/* server { listen LISTEN; a location per route, in order } */
static void check_server(const struct toks *t, const struct dir *s, const struct config *c,
                         const struct ready *r)
{
    const struct nginx_cfg *n = c->nginx;
    int routes = 0;
    struct dir d;
    CHECK(read_dir(t, s->body, s->body_end, &d) && dir_is(t, &d, "listen", 1));
    CHECK(word_is(t, d.word + 1, n->listen));
    for (int i = d.next; i < s->body_end; i = d.next) {
        CHECK(read_dir(t, i, s->body_end, &d) && routes < n->nroutes);
        check_location(t, &d, &n->routes[routes++], r);
    }
    CHECK(routes == n->nroutes);
}

/* A directive of one argument, the path of a file in the directory of nginx's config. */
static void check_run_path(const struct toks *t, const struct dir *d, const struct config *c,
                           const char *file)
{
    char run[4096], want[4200];
    nginx_conf_rundir(c, run, sizeof(run));
    snprintf(want, sizeof(want), "%s/%s", run, file);
    CHECK(d->nwords == 2 && word_is(t, d->word + 1, want));
}

/* In http: access_log as configured, and each temp path a single word. */
static void check_http_settings(const struct toks *t, const struct dir *http,
                                const struct config *c)
{
    struct dir d;
    char file[64];
    for (int i = http->body; i < http->body_end; i = d.next) {
        read_dir(t, i, http->body_end, &d);
        int len = t->t[d.word].len - (int)strlen("_path");
        if (word_is(t, d.word, "access_log"))
            CHECK(d.nwords == 2 &&
                  word_is(t, d.word + 1, c->nginx->access_log ? "/dev/stdout" : "off"));
        if (len > 0 && len < (int)sizeof(file) && !memcmp(t->t[d.word].s + len, "_path", 5)) {
            snprintf(file, sizeof(file), "%.*s", len, t->t[d.word].s); /* "proxy_temp" */
            check_run_path(t, &d, c, file);
        }
    }
}

/* The pid file beside the config, an http block, and in it one server block. */
static void check_full(const struct toks *t, const struct config *c, const struct ready *r)
{
    struct dir d, http = {.body = -1};
    int pids = 0;
    for (int i = 0; i < t->n; i = d.next) {
        read_dir(t, i, t->n, &d);
        if (word_is(t, d.word, "http"))
            http = d;
        if (word_is(t, d.word, "pid")) {
            pids++;
            check_run_path(t, &d, c, "nginx.pid");
        }
    }
    CHECK(http.body >= 0 && pids == 1);
    check_http_settings(t, &http, c);
    check_upstreams(t, http.body, http.body_end, c, r);
    CHECK(count_dirs(t, 0, t->n, "listen", false) == 1);
    CHECK(count_dirs(t, 0, t->n, "server", true) == 1);
    for (int i = http.body; i < http.body_end; i = d.next) {
        read_dir(t, i, http.body_end, &d);
        if (word_is(t, d.word, "server") && d.body >= 0)
            check_server(t, &d, c, r);
    }
}

/* Include mode: upstream blocks and nothing else, for an http block of the user's. */
static void check_include(const struct toks *t, const char *text, const struct config *c,
                          const struct ready *r)
{
    struct dir d;
    CHECK(!strstr(text, "server {"));
    for (int i = 0; i < t->n; i = d.next) {
        read_dir(t, i, t->n, &d);
        CHECK(word_is(t, d.word, "upstream"));
    }
    check_upstreams(t, 0, t->n, c, r);
}

static void check_text(const char *text, const struct config *c, const struct ready *r)
{
    struct toks t = {0};
    char want[64];
    CHECK(text && strlen(text) > 0); /* NUL-terminated: ASan sees a read past the end */
    CHECK(tokenize(text, &t));
    check_blocks(&t, 0, t.n);
    if (c->nginx->mode == NGINX_FULL)
        check_full(&t, c, r);
    else
        check_include(&t, text, c, r);
    for (int i = 0; i < c->nginx->nroutes; i++) { /* each ready worker, in plain text */
        const struct nginx_pool *pool = pool_of(r, c->nginx->routes[i].program);
        for (int k = 0; pool && k < pool->nports; k++) {
            snprintf(want, sizeof(want), "server 127.0.0.1:%d max_fails=1", pool->ports[k]);
            CHECK(strstr(text, want));
        }
    }
    free(t.t);
}

/* ---- ready sets ---- */

/* A subset of the program's ports, ascending: none, all, or a bit of the input each. */
static int ready_ports(struct reader *in, const struct program_cfg *p, int *ports)
{
    uint8_t how = byte(in) % 4, bits = 0;
    int n = 0;
    for (int i = 0; i < p->numprocs && i < MAX_NUMPROCS; i++) {
        if (how >= 2 && i % 8 == 0)
            bits = byte(in);
        if (how == 1 || (how >= 2 && ((bits >> (i % 8)) & 1)))
            ports[n++] = p->port + i;
    }
    return n;
}

/* One pool per route as the daemon makes them (a program twice gives the same pool
 * twice), or per program with some left out, plus one for a program no route names. */
static void draw_ready(struct reader *in, const struct config *c, struct ready *r)
{
    const struct nginx_cfg *n = c->nginx;
    uint8_t style = byte(in);
    r->npools = 0;
    for (int i = 0; i < n->nroutes; i++) {
        const char *prog = n->routes[i].program;
        const struct nginx_pool *before = pool_of(r, prog);
        if (style % 2 && (before || byte(in) % 4 == 0))
            continue;
        struct nginx_pool *pool = &r->pools[r->npools];
        *pool =
            before ? *before : (struct nginx_pool){.program = prog, .ports = r->ports[r->npools]};
        if (!before)
            pool->nports = ready_ports(in, config_program(c, prog), r->ports[r->npools]);
        r->npools++;
    }
    if (style % 3 == 2) { /* ignored: pools are looked up by the routes' programs */
        r->ports[r->npools][0] = 1;
        r->pools[r->npools] = (struct nginx_pool){"not a route", r->ports[r->npools], 1};
        r->npools++;
    }
}

/* Characters that change how nginx reads a word. config_nginx.c lets them into route
 * paths, listen and config (see fuzz/crashes/nginx-*). With FUZZ_NGINX_SKIP_KNOWN set in
 * the environment such a snapshot is skipped, so that a long run can go on past that
 * finding; unset (the default) it fails like any other. Drop this once they are refused. */
static bool known_finding(const struct config *c)
{
    static const char special[] = " \t\n\r\v\f;{}\"'#\\";
    static int skip = -1;
    const struct nginx_cfg *n = c->nginx;
    if (skip < 0)
        skip = getenv("FUZZ_NGINX_SKIP_KNOWN") != NULL;
    bool hit = strpbrk(n->listen, special) || strpbrk(n->config, special);
    for (int i = 0; i < n->nroutes; i++)
        hit |= strpbrk(n->routes[i].path, special) != NULL;
    return skip && hit;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reader in = {data, size};
    struct desc d;
    struct diag_list diags = {0};
    struct config *c = NULL;
    describe(&in, &d);
    if (config_build("/tmp/tend-fuzz/tend.ini", d.e, d.n, &c, &diags) < 0) {
        CHECK(!c && diag_errors(&diags) > 0); /* config.h: a failure is reported */
        diag_clear(&diags);
        return 0;
    }
    CHECK(c && c->nginx && c->nginx->nroutes >= 1 && c->nginx->nroutes <= MAX_ROUTES);
    if (known_finding(c)) {
        config_free(c);
        diag_clear(&diags);
        return 0;
    }
    for (int k = 0, sets = 1 + byte(&in) % MAX_SETS; k < sets; k++) {
        struct ready r;
        draw_ready(&in, c, &r);
        char *text = nginx_conf_render(c, r.pools, r.npools);
        check_text(text, c, &r);
        free(text);
    }
    config_free(c);
    diag_clear(&diags);
    return 0;
}
