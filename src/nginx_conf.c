/* nginx_conf: renders nginx.conf text; every directive here is valid for nginx 1.22. */
#include "nginx_conf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

void nginx_conf_rundir(const struct config *c, char *buf, size_t len)
{
    const char *slash = strrchr(c->nginx->config, '/');
    if (!slash)
        snprintf(buf, len, ".");
    else if (slash == c->nginx->config)
        snprintf(buf, len, "/");
    else
        snprintf(buf, len, "%.*s", (int)(slash - c->nginx->config), c->nginx->config);
}

static const struct nginx_pool *pool_of(const char *program, const struct nginx_pool *pools,
                                        int npools)
{
    for (int i = 0; i < npools; i++)
        if (!strcmp(pools[i].program, program))
            return &pools[i];
    return NULL;
}

/* least_conn must come before keepalive (nginx < 1.29.7 rejects the reverse).
 * With no worker ready, a placeholder marked down keeps the block valid. */
static void upstream(struct strbuf *t, const struct config *c, const char *program,
                     const struct nginx_pool *pool)
{
    int n = pool ? pool->nports : 0;
    strbuf_printf(t, "upstream %s {\n    least_conn;\n", program);
    for (int i = 0; i < n; i++)
        strbuf_printf(t, "    server 127.0.0.1:%d max_fails=1 fail_timeout=2s;\n", pool->ports[i]);
    if (n == 0)
        strbuf_printf(t, "    server 127.0.0.1:%d down; # no worker is ready\n",
            config_program(c, program)->port);
    strbuf_printf(t, "    keepalive %d;\n}\n", n > 0 ? 8 * n : 1);
}

static void upstreams(struct strbuf *t, const struct config *c, const struct nginx_pool *pools,
                      int npools)
{
    const struct nginx_cfg *n = c->nginx;
    for (int i = 0; i < n->nroutes; i++) {
        bool seen = false; /* two paths may share a program: one block */
        for (int j = 0; j < i; j++)
            seen |= !strcmp(n->routes[j].program, n->routes[i].program);
        if (!seen)
            upstream(t, c, n->routes[i].program, pool_of(n->routes[i].program, pools, npools));
    }
}

/* A duration as nginx reads it: whole seconds, else milliseconds. */
static void nginx_time(uint64_t ms, char *buf, size_t len)
{
    if (ms % 1000 == 0)
        snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
    else
        snprintf(buf, len, "%llums", (unsigned long long)ms);
}

/* A worker that takes no connection within 2 s, or sends nothing for read_timeout,
 * is given up on and the request tried on another (proxy_next_upstream): a frozen
 * worker costs a request read_timeout, not forever. */
static void location(struct strbuf *t, const struct nginx_cfg *c, const struct nginx_route *r,
                     const struct nginx_pool *pool)
{
    char timeout[32];
    nginx_time(c->read_timeout_ms, timeout, sizeof(timeout));
    int n = pool ? pool->nports : 0;
    strbuf_printf(t, "        location %s {\n", r->path);
    if (n == 0) { /* nginx would answer 502 for an upstream that is all down */
        strbuf_printf(t, "            return 503 \"no worker is ready\\n\";\n        }\n");
        return;
    }
    strbuf_printf(t, "            proxy_pass http://%s;\n"
           "            proxy_http_version 1.1;\n"
           "            proxy_set_header Host $host;\n"
           "            proxy_set_header X-Real-IP $remote_addr;\n"
           "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
           "            proxy_set_header X-Forwarded-Proto $scheme;\n"
           "            proxy_set_header Upgrade $http_upgrade;\n"
           "            proxy_set_header Connection $connection_upgrade;\n"
           "            proxy_connect_timeout 2s;\n"
           "            proxy_read_timeout %s;\n"
           "            proxy_send_timeout %s;\n"
           "            proxy_next_upstream error timeout;\n"
           "            proxy_next_upstream_tries %d;\n"
           "        }\n",
        r->program, timeout, timeout, n < 3 ? n : 3);
}

static void full(struct strbuf *t, const struct config *c, const struct nginx_pool *pools,
                 int npools)
{
    const struct nginx_cfg *n = c->nginx;
    char run[4096];
    nginx_conf_rundir(c, run, sizeof(run));
    /* no "daemon off;": nginx rejects it twice, and tend's command gives it with -g */
    strbuf_printf(t,
                  "# daemon off: on the command line (nginx -c THIS_FILE -g 'daemon off;')\n"
                  "worker_processes auto;\npid %s/nginx.pid;\nerror_log stderr;\n"
                  "worker_shutdown_timeout 10s;\n\n"
                  "events {\n    worker_connections 1024;\n}\n\nhttp {\n",
                  run);
    strbuf_printf(t, "    access_log %s;\n", n->access_log ? "/dev/stdout" : "off");
    static const char *const temps[] = {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"};
    for (int i = 0; i < 5; i++)
        strbuf_printf(t, "    %s_temp_path %s/%s_temp;\n", temps[i], run, temps[i]);
    strbuf_printf(t, "    server_tokens off;\n\n"
                     "    # keep upstream connections alive, except for WebSocket upgrades\n"
                     "    map $http_upgrade $connection_upgrade {\n        default upgrade;\n      "
                     "  '' '';\n    }\n\n");
    struct strbuf ups = {0};
    upstreams(&ups, c, pools, npools);
    for (char *line = ups.p, *nl; line && *line; line = nl + 1) { /* indented under http */
        nl = strchr(line, '\n');
        strbuf_printf(t, "    %.*s\n", (int)(nl - line), line);
    }
    t->failed |= ups.failed;
    free(ups.p);
    strbuf_printf(t, "\n    server {\n        listen %s;\n\n", n->listen);
    for (int i = 0; i < n->nroutes; i++)
        location(t, n, &n->routes[i], pool_of(n->routes[i].program, pools, npools));
    strbuf_printf(t, "    }\n}\n");
}

/* The config's path, for a comment: a newline in it would end the comment and make
 * the rest a live directive, so control characters are shown as '?'. */
static void comment_path(struct strbuf *t, const char *path)
{
    strbuf_printf(t, "# Written by tend from ");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        strbuf_printf(t, "%c", *p < 0x20 || *p == 0x7f ? '?' : *p);
    strbuf_printf(t, "; tend rewrites it as workers come and go.\n");
}

char *nginx_conf_render(const struct config *c, const struct nginx_pool *pools, int npools)
{
    struct strbuf t = {0};
    comment_path(&t, c->path);
    if (c->nginx->mode == NGINX_FULL)
        full(&t, c, pools, npools);
    else
        upstreams(&t, c, pools, npools);
    return strbuf_take(&t);
}
