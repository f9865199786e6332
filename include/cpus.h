/* cpus: how many CPUs tend's processes may use, for numprocs = auto. */
#ifndef TEND_CPUS_H
#define TEND_CPUS_H

/* The CPUs this process may run on, fewer when a cgroup CPU quota (v2 cpu.max,
 * v1 cpu.cfs_quota_us) on its cgroup or any parent allows less; at least 1. */
int cpus_usable(void);

#endif
