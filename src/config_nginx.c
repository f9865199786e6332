/* config_nginx: the [nginx] section, and the [program:nginx] tend defines for it. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "strconv.h"

#define NGINX(field) offsetof(struct nginx_cfg, field)
const struct key_def config_nginx_keys[] = {
    {"upstream", KT_CUSTOM},
    {"listen", KT_CUSTOM},
    {"mode", KT_CUSTOM},
    {"config", KT_STR, NGINX(config)},
    {"program", KT_STR, NGINX(program)},
    {"access_log", KT_BOOL, NGINX(access_log)},
    {"read_timeout", KT_MS, NGINX(read_timeout_ms)},
    {NULL},
};

static int fail(struct loader *L, const struct ini_entry *e, const char *msg)
{
    diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, e->file, e->line, "%s: %s '%s'", e->key, msg, e->value);
    return -EINVAL;
}

/* tend writes paths and addresses into nginx.conf as bare words: a character nginx
 * would read as a separator, a quote, a comment, an escape or a variable is refused
 * here rather than quoted there. */
static bool nginx_word(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f || strchr(";{}\\\"'#$", *s))
            return false;
    return true;
}

/* "web" or "/api=api /=web": a route per PATH=PROGRAM pair. */
static int set_upstream(struct loader *L, struct nginx_cfg *n, const struct ini_entry *e,
                        const char *v)
{
    const char **items = config_split_list(L->a, v);
    int count = 0;
    while (items[count])
        count++;
    if (!count)
        return fail(L, e, "names no program:");
    n->routes = arena_alloc(L->a, sizeof(*n->routes) * (size_t)count);
    for (int i = 0; i < count; i++) {
        const char *eq = strchr(items[i], '=');
        struct nginx_route *r = &n->routes[n->nroutes++];
        r->path = eq ? arena_strndup(L->a, items[i], (size_t)(eq - items[i])) : "/";
        r->program = eq ? eq + 1 : items[i];
        if (r->path[0] != '/' || !*r->program || (!eq && count > 1) || !nginx_word(r->path))
            return fail(L, e, "expected PROGRAM or PATH=PROGRAM pairs, not");
        for (int j = 0; j < i; j++)
            if (!strcmp(n->routes[j].path, r->path))
                return fail(L, e, "names a path twice:");
    }
    return 0;
}

/* As nginx's listen takes it: PORT, ADDR:PORT, *:PORT or [IPv6]:PORT. */
static int set_listen(struct loader *L, struct nginx_cfg *n, const struct ini_entry *e,
                      const char *v)
{
    const char *colon = strrchr(v, ':'), *close = strchr(v, ']');
    const char *port = colon && (v[0] != '[' || (close && colon > close)) ? colon + 1 : v;
    long p;
    if ((v[0] == '[') != (close != NULL) || strconv_long(port, 1, 65535, &p) < 0 ||
        !nginx_word(v))
        return fail(L, e, "expected PORT or ADDRESS:PORT, not");
    n->listen = v;
    n->listen_port = (int)p;
    return 0;
}

static int set_mode(struct loader *L, struct nginx_cfg *n, const struct ini_entry *e,
                    const char *v)
{
    if (!strcmp(v, "full"))
        n->mode = NGINX_FULL;
    else if (!strcmp(v, "include"))
        n->mode = NGINX_INCLUDE;
    else
        return fail(L, e, "expected full or include, not");
    return 0;
}

static const char *default_config(struct arena *a)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0)
        return "/run/tend/nginx.conf";
    if (xdg && *xdg)
        return arena_printf(a, "%s/tend/nginx.conf", xdg);
    return arena_printf(a, "/tmp/tend-%u/nginx.conf", (unsigned)geteuid());
}

int config_load_nginx(struct loader *L, struct ini_section *s)
{
    struct nginx_cfg *n = L->c->nginx = arena_alloc(L->a, sizeof(*n));
    n->listen_port = geteuid() == 0 ? 80 : 8080;
    n->listen = arena_printf(L->a, "%d", n->listen_port);
    n->config = default_config(L->a);
    n->program = "nginx";
    n->access_log = true;
    n->read_timeout_ms = 30000;
    n->file = s->file;
    n->line = s->line;
    config_check_keys(L, s, config_nginx_keys);
    for (const struct ini_entry *e = s->entries; e; e = e->next) {
        const struct key_def *k = config_key(config_nginx_keys, e->key);
        char *v = k ? config_expand(L, e, NULL, 0, NULL) : NULL;
        if (!v)
            continue;
        if (!strcmp(e->key, "upstream"))
            set_upstream(L, n, e, v);
        else if (!strcmp(e->key, "listen"))
            set_listen(L, n, e, v);
        else if (!strcmp(e->key, "mode"))
            set_mode(L, n, e, v);
        else if (!strcmp(e->key, "config") && (!nginx_word(v) || !*v))
            fail(L, e, "nginx would not read this as one path (a space, quote or one of ;{}#$\\):");
        else if (config_set(L, e, v, k, n) == 0 && !strcmp(e->key, "read_timeout") &&
                 n->read_timeout_ms == 0)
            fail(L, e, "nginx would give up on every request at once:");
    }
    if (!n->nroutes)
        diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, s->file, s->line,
                 "[nginx] needs upstream = PROGRAM (the workers nginx proxies to)");
    return 0;
}

static void add_entry(struct loader *L, struct ini_section *s, const char *key, const char *value)
{
    struct ini_entry **tail = &s->entries, *e = arena_alloc(L->a, sizeof(*e));
    *e = (struct ini_entry){.key = key, .value = value, .file = s->file, .line = s->line};
    while (*tail)
        tail = &(*tail)->next;
    *tail = e;
}

static const char *escape_percent(struct loader *L, const char *s)
{
    char *out = arena_alloc(L->a, strlen(s) * 2 + 1), *o = out;
    for (; *s; s++)
        if ((*o++ = *s) == '%')
            *o++ = '%';
    return out;
}

/* nginx is stopped with QUIT (graceful) and starts once its upstreams are ready. */
static void define_program(struct loader *L, struct nginx_cfg *n)
{
    struct ini_section *s = arena_alloc(L->a, sizeof(*s));
    const char *deps = "";
    s->name = arena_printf(L->a, "program:%s", n->program);
    s->file = n->file;
    s->line = n->line;
    if (n->mode == NGINX_FULL)
        add_entry(L, s, "command",
                  arena_printf(L->a, "nginx -c '%s' -g 'daemon off;'", escape_percent(L, n->config)));
    else
        add_entry(L, s, "command", "nginx -g 'daemon off;'");
    add_entry(L, s, "stopsignal", "QUIT");
    add_entry(L, s, "autorestart", "true");
    for (int i = 0; i < n->nroutes; i++)
        deps = arena_printf(L->a, "%s %s", deps, n->routes[i].program);
    add_entry(L, s, "depends_on", deps);
    n->defined_program = true;
    config_load_program(L, s, n->program, n->program);
}

int config_define_nginx_program(struct loader *L)
{
    struct nginx_cfg *n = L->c->nginx;
    int before = diag_errors(L->d);
    for (int i = 0; i < n->nroutes; i++) {
        const struct program_cfg *p = config_program(L->c, n->routes[i].program);
        if (!p || !p->port)
            diag_add(L->d, DIAG_ERROR, DIAG_SYNTAX, n->file, n->line,
                     p ? "upstream: [program:%s] has no port=" : "upstream: no [program:%s]",
                     n->routes[i].program);
    }
    if (diag_errors(L->d) > before)
        return -EINVAL;
    if (!config_program(L->c, n->program))
        define_program(L, n);
    struct program_cfg *p = (struct program_cfg *)config_program(L->c, n->program);
    if (p) /* a master that dies leaves workers holding the port */
        p->kill_group_on_exit = true;
    return 0;
}
