/* sockconf: where a config file says tend listens, for `tendctl -c FILE` (as
 * supervisorctl -c finds supervisord). Blocking and libc only, for tendctl: a
 * small reader of the few keys that name the socket, not the whole config. */
#ifndef TEND_SOCKCONF_H
#define TEND_SOCKCONF_H

#include <stddef.h>

/* The socket named in path: [tend] socket, else [supervisord] socket, else
 * [unix_http_server] file (tend reads them so: the first that is set wins), else
 * [supervisorctl] serverurl when it is unix://. %(here)s and %(ENV_X)s expand as
 * in tend. Returns 1 with the path in out, 0 when none is named (tend then listens
 * on its default), or -errno with a message in err. [include] is not followed. */
int sockconf_read(const char *path, char *out, size_t len, char *err, size_t errlen);
/* A server URL as supervisorctl takes it: unix:///path gives /path, a plain path
 * is itself; -EPROTONOSUPPORT for any other scheme (http://...: tend serves no HTTP). */
int sockconf_url(const char *url, const char **path);

#endif
