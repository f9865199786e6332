/* nginx_conf: the nginx config tend writes, as a pure function of the config
 * snapshot and the ports of the workers that are ready. Tested by golden files. */
#ifndef TEND_NGINX_CONF_H
#define TEND_NGINX_CONF_H

#include "config.h"

/* The ready workers of one upstream program, ports ascending. */
struct nginx_pool {
    const char *program;
    const int *ports;
    int nports;
};

/* The whole file for `full` mode, or the upstream blocks for `include` mode.
 * pools has one entry per route's program (missing ones count as empty).
 * Returns malloc'd text, or NULL when out of memory. */
char *nginx_conf_render(const struct config *c, const struct nginx_pool *pools, int npools);
/* The directory for nginx's pid and temp files: the one holding the config. */
void nginx_conf_rundir(const struct config *c, char *buf, size_t len);

#endif
