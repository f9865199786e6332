/* supervisor_sys: what the supervisor asks of the system (struct supervisor_os,
 * which the unit tests replace: spawn, kill, the clock, who holds a port, the
 * cgroup's count of OOM kills), and
 * what a child of it is started with (environment, user, directory). Below the
 * rest of the supervisor: it calls none of it. */
#include "supervisor_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>

#include "envlist.h"
#include "oom.h"
#include "ports.h"
#include "spawn.h"

extern char **environ;

static int sys_spawn_start(void *ctx, const struct spawn_opts *o, pid_t *pid, int *status_fd,
                           char *err, size_t len)
{
    (void)ctx;
    return spawn_start(o, pid, status_fd, err, len);
}

static int sys_spawn_result(void *ctx, int status_fd, const struct spawn_opts *o, char *err,
                            size_t len)
{
    (void)ctx;
    return spawn_result(status_fd, o, err, len);
}

static int sys_kill(void *ctx, pid_t pid, int sig)
{
    (void)ctx;
    return kill(pid, sig) < 0 ? -errno : 0;
}

static int sys_port_holder(void *ctx, int port, char *desc, size_t len)
{
    (void)ctx;
    return ports_holder(port, desc, len);
}

static int sys_oom_kills(void *ctx, uint64_t *count)
{
    (void)ctx;
    return oom_kills(count);
}

struct supervisor_os supervisor_os_of(const struct supervisor_os *given)
{
    struct supervisor_os os = given ? *given : (struct supervisor_os){0};
    os.spawn_start = os.spawn_start ? os.spawn_start : sys_spawn_start;
    os.spawn_result = os.spawn_result ? os.spawn_result : sys_spawn_result;
    os.kill = os.kill ? os.kill : sys_kill;
    os.port_holder = os.port_holder ? os.port_holder : sys_port_holder;
    os.oom_kills = os.oom_kills ? os.oom_kills : sys_oom_kills;
    return os;
}

uint64_t supervisor_now(const struct supervisor *s)
{
    return s->os.now_ms ? s->os.now_ms(s->os.ctx) : uv_now(s->loop);
}

/* xorshift32: jitter for backoff delays and health checks, nothing more. */
uint32_t supervisor_random(struct supervisor *s)
{
    s->rnd ^= s->rnd << 13;
    s->rnd ^= s->rnd >> 17;
    s->rnd ^= s->rnd << 5;
    return s->rnd;
}

const char **supervisor_env(struct proc *p, int more, struct env_names *names)
{
    const struct config *c = p->sup->cfg;
    size_t extra = 3 + (size_t)more;
    char *name = names->name, *group = names->group;
    for (const char **e = c->tend.env; *e; e++)
        extra++;
    for (const char **e = p->cfg->env; *e; e++)
        extra++;
    const char **env = envlist_inherit(environ, extra);
    if (!env)
        return NULL;
    for (const char **e = c->tend.env; *e; e++)
        envlist_put(env, *e);
    for (const char **e = p->cfg->env; *e; e++)
        envlist_put(env, *e);
    /* supervisord's: scripts check these to know they run supervised */
    envlist_put(env, "SUPERVISOR_ENABLED=1");
    snprintf(name, sizeof(names->name), "SUPERVISOR_PROCESS_NAME=%s", p->cfg->name);
    snprintf(group, sizeof(names->group), "SUPERVISOR_GROUP_NAME=%s", p->prog->group);
    envlist_put(env, name);
    envlist_put(env, group);
    return env;
}

struct spawn_opts supervisor_spawn_opts(const struct proc *p)
{
    const struct program_cfg *g = p->prog;
    return (struct spawn_opts){.argv = p->cfg->argv, .directory = p->cfg->directory,
                               .umask = g->umask, .user = g->user, .uid = g->uid, .gid = g->gid};
}
