/* oom: the OOM killer's count, from tend's own memory cgroup. */
#include "oom.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether a comma-separated list ("rw,memory") holds word. */
static bool has_word(const char *list, size_t len, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i < len;) {
        size_t n = strcspn(list + i, ",");
        n = n < len - i ? n : len - i;
        if (n == w && !strncmp(list + i, word, w))
            return true;
        i += n + 1;
    }
    return false;
}

/* /proc/self/cgroup: "ID:memory:PATH" (v1, preferred: on a hybrid host the v2
 * hierarchy holds no memory controller), else "0::PATH" (v2). */
static int own_cgroup(char *path, size_t len, bool *v1)
{
    char line[PATH_MAX + 64];
    int found = -ENOENT;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *ctl = strchr(line, ':'), *p = ctl ? strchr(ctl + 1, ':') : NULL;
        if (!p)
            continue;
        ctl++;
        bool mem = has_word(ctl, (size_t)(p - ctl), "memory");
        if (mem || (p == ctl && found < 0)) {
            snprintf(path, len, "%s", p + 1);
            *v1 = mem;
            found = 0;
        }
        if (mem)
            break;
    }
    fclose(f);
    return found;
}

/* Where that hierarchy is mounted, and the cgroup its mount shows as its root
 * (not "/" when a container sees a part of the host's tree without a namespace). */
static int mount_of(bool v1, char *dir, size_t dlen, char *root, size_t rlen)
{
    char line[4096];
    int found = -ENOENT;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -errno;
    while (found < 0 && fgets(line, sizeof(line), f)) {
        char r[PATH_MAX], m[PATH_MAX], type[64], super[1024];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2 ||
            sscanf(dash + 3, "%63s %*s %1023s", type, super) != 2)
            continue;
        if (v1 ? strcmp(type, "cgroup") || !has_word(super, strlen(super), "memory")
               : strcmp(type, "cgroup2"))
            continue;
        snprintf(dir, dlen, "%s", m);
        snprintf(root, rlen, "%s", r);
        found = 0;
    }
    fclose(f);
    return found;
}

/* "oom_kill N" in a flat-keyed file. */
static int read_count(const char *file, uint64_t *count)
{
    char line[256];
    int found = -ENOENT;
    FILE *f = fopen(file, "re");
    if (!f)
        return -errno;
    while (found < 0 && fgets(line, sizeof(line), f)) {
        unsigned long long n;
        if (sscanf(line, "oom_kill %llu", &n) == 1) {
            *count = n;
            found = 0;
        }
    }
    fclose(f);
    return found;
}

int oom_kills(uint64_t *count)
{
    char cg[PATH_MAX], dir[PATH_MAX], root[PATH_MAX], file[3 * PATH_MAX];
    bool v1 = false;
    int r = own_cgroup(cg, sizeof(cg), &v1);
    if (r < 0 || (r = mount_of(v1, dir, sizeof(dir), root, sizeof(root))) < 0)
        return r;
    const char *rel = cg;
    size_t rl = strlen(root);
    if (strcmp(root, "/") && !strncmp(cg, root, rl) && (cg[rl] == '/' || !cg[rl]))
        rel = cg + rl; /* the mount shows the tree from root down */
    snprintf(file, sizeof(file), "%s%s/%s", dir, strcmp(rel, "/") ? rel : "",
             v1 ? "memory.oom_control" : "memory.events");
    return read_count(file, count);
}
