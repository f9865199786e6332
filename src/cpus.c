/* cpus: the affinity mask, then the tightest cgroup quota up the hierarchy. */
#include "cpus.h"

#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long long read_number(const char *dir, const char *file)
{
    char path[PATH_MAX + 64], word[32] = "";
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "re");
    bool got = f && fscanf(f, "%31s", word) == 1;
    if (f)
        fclose(f);
    return got ? strtoll(word, NULL, 10) : 0; /* "max" and -1: no quota */
}

/* The CPUs the quota set on dir allows (rounded up), 0 when there is none. */
static int quota_at(const char *dir, bool v2)
{
    long long quota, period;
    if (v2) {
        char path[PATH_MAX + 64], word[32];
        snprintf(path, sizeof(path), "%s/cpu.max", dir);
        FILE *f = fopen(path, "re");
        bool got = f && fscanf(f, "%31s %lld", word, &period) == 2;
        if (f)
            fclose(f);
        quota = got ? strtoll(word, NULL, 10) : 0;
    } else {
        quota = read_number(dir, "cpu.cfs_quota_us");
        period = read_number(dir, "cpu.cfs_period_us");
    }
    return quota > 0 && period > 0 ? (int)((quota + period - 1) / period) : 0;
}

/* A parent's quota binds its children too: the smallest on the way from the
 * process's cgroup to the hierarchy's root (where a container's view starts). */
static int tightest(const char *mount, const char *cgroup, bool v2)
{
    char dir[PATH_MAX];
    size_t root = strlen(mount);
    int best = 0;
    snprintf(dir, sizeof(dir), "%s%s", mount, cgroup);
    for (;;) {
        int q = quota_at(dir, v2);
        if (q > 0 && (best == 0 || q < best))
            best = q;
        char *slash = strrchr(dir + root, '/');
        if (!slash)
            return best;
        *slash = '\0';
    }
}

/* Whether a v1 line's controllers ("cpu,cpuacct") include cpu. */
static bool has_cpu(const char *controllers, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = strcspn(controllers + i, ",:");
        if (n == 3 && !strncmp(controllers + i, "cpu", 3))
            return true;
        i += n + 1;
    }
    return false;
}

/* /proc/self/cgroup: "0::PATH" for v2, "ID:cpu,cpuacct:PATH" for v1. */
static int cgroup_cpus(void)
{
    char line[PATH_MAX + 64];
    int best = 0;
    FILE *f = fopen("/proc/self/cgroup", "re");
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *controllers = strchr(line, ':'), *path = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!path)
            continue;
        controllers++;
        int q = 0;
        if (path == controllers) /* v2 */
            q = tightest("/sys/fs/cgroup", path + 1, true);
        else if (has_cpu(controllers, (size_t)(path - controllers)))
            q = tightest("/sys/fs/cgroup/cpu", path + 1, false); /* cpu,cpuacct links here */
        if (q > 0 && (best == 0 || q < best))
            best = q;
    }
    if (f)
        fclose(f);
    return best;
}

int cpus_usable(void)
{
    cpu_set_t set;
    int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
    int q = cgroup_cpus();
    if (q > 0 && q < n)
        n = q;
    return n > 0 ? n : 1;
}
