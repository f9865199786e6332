/* oom: how many processes the kernel's OOM killer has killed in tend's own cgroup,
 * to tell an OOM kill from any other SIGKILL. Read only when it matters (a child
 * killed by a SIGKILL tend did not send), never polled. cgroup v2 (memory.events)
 * or v1's memory controller (memory.oom_control); where neither says, it is not
 * known, and tend says "killed by SIGKILL" rather than guess. */
#ifndef TEND_OOM_H
#define TEND_OOM_H

#include <stdint.h>

/* The oom_kill count of the memory cgroup tend is in now (found anew each call:
 * /proc/self/cgroup, /proc/self/mountinfo). 0 and *count, or -errno (-ENOENT:
 * no memory cgroup to ask, e.g. the host's root cgroup or no memory controller). */
int oom_kills(uint64_t *count);

#endif
