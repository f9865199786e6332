/* fuzz_config: feeds each input to config_load() as a file and checks what the loader
 * promises about its snapshot and its diagnostics. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "diag.h"

/* A broken promise is a finding: abort so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_config: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* Each input is the file <sandbox>/fuzz.ini; the fixtures give [include] something
 * to find, so the included-file paths of the loader get covered too. */
static char sandbox[64];
static char input_path[96];
static int input_fd = -1;
static FILE *devnull;

static const struct {
    const char *name, *text;
} fixtures[] = {
    {"inc/one.conf", "[program:included]\ncommand = /bin/true\nport = 9000\n"},
    {"inc/group.conf", "[group:g]\nprograms = included\npriority = 5\n"},
    {"inc/nested.conf", "[include]\nfiles = one.conf\n"},
    {"inc/bad.conf", "[program:broken\ncommand = x\n"},
};

int __real_glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g);
int __wrap_glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g);

/* The sandbox (linked with -Wl,--wrap=glob): the loader globs include patterns, and an
 * absolute or climbing one ("/usr/lib/x*", "../../etc/x*") would otherwise read a good
 * part of the disk on every run, or block on a FIFO or a tty. A pattern outside the
 * sandbox, or one that could climb out of it (a component starting with '.', a backslash
 * escape), matches nothing, as if the filesystem held only the sandbox. */
int __wrap_glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g)
{
    size_t n = strlen(sandbox);
    if (strncmp(pattern, sandbox, n) != 0 || pattern[n] != '/' || strstr(pattern, "/.") ||
        strchr(pattern, '\\')) {
        memset(g, 0, sizeof(*g)); /* what glob leaves on no match: globfree() is safe */
        return GLOB_NOMATCH;
    }
    return __real_glob(pattern, flags, errfunc, g);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

/* Only the fixtures and the input are ever made in a sandbox. */
static void remove_dir(const char *dir)
{
    char path[160];
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, fixtures[i].name);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/fuzz.ini", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/inc", dir);
    rmdir(path);
    rmdir(dir);
}

static void remove_sandbox(void)
{
    remove_dir(sandbox);
}

/* A run that crashes or times out exits without atexit handlers and leaves its
 * sandbox behind (fork mode makes a process per job): remove those whose process
 * is gone, which the pid in the name tells. */
static void sweep_stale(void)
{
    DIR *d = opendir("/tmp");
    struct dirent *e;
    struct stat st;
    char path[160];
    int pid;
    while (d && (e = readdir(d))) {
        if (sscanf(e->d_name, "tend-fuzz-%d-", &pid) != 1 || pid <= 0 || kill(pid, 0) == 0 ||
            errno != ESRCH)
            continue;
        snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
            remove_dir(path);
    }
    if (d)
        closedir(d);
}

/* No chdir into the sandbox: libFuzzer resolves its corpus and artifact paths
 * after this, relative to the directory it was started in. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[160];
    (void)argc, (void)argv;
    sweep_stale();
    snprintf(sandbox, sizeof(sandbox), "/tmp/tend-fuzz-%d-XXXXXX", (int)getpid());
    CHECK(mkdtemp(sandbox));
    snprintf(path, sizeof(path), "%s/inc", sandbox);
    CHECK(mkdir(path, 0700) == 0);
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", sandbox, fixtures[i].name);
        write_file(path, fixtures[i].text);
    }
    snprintf(input_path, sizeof(input_path), "%s/fuzz.ini", sandbox);
    input_fd = open(input_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(input_fd >= 0);
    devnull = fopen("/dev/null", "w");
    CHECK(devnull);
    atexit(remove_sandbox);
    return 0;
}

/* One open file rewritten in place: cheaper than a new temp file per run. */
static void write_input(const uint8_t *data, size_t size)
{
    CHECK(ftruncate(input_fd, 0) == 0);
    for (size_t off = 0; off < size;) {
        ssize_t n = pwrite(input_fd, data + off, size - off, (off_t)off);
        CHECK(n > 0 || (n < 0 && errno == EINTR));
        off += n > 0 ? (size_t)n : 0;
    }
}

/* Every process is whole, the first ones are found by name (a lookup is linear:
 * all of numprocs=100000 would make the harness, not tend, quadratic), and each is
 * unchanged against itself. */
static void walk_program(struct config *c, const struct program_cfg *p)
{
    const struct program_cfg *owner = NULL;
    CHECK(config_program(c, p->name) == p);
    CHECK(p->nprocs == p->numprocs && p->procs);
    for (int i = 0; i < p->nprocs; i++) {
        const struct proc_cfg *proc = &p->procs[i];
        CHECK(proc->name && *proc->name && proc->argv && proc->argv[0] && proc->env);
        if (i < 64)
            CHECK(config_process(c, proc->name, &owner) == proc && owner == p);
        CHECK(!config_process_changed(p, proc, p, proc));
    }
}

/* What scale does: one more process from the snapshot, in an arena beside it. */
static void scale_program(struct config *c, const struct program_cfg *p)
{
    const char *err = NULL;
    struct arena *a = arena_new();
    if (!a)
        return;
    const struct proc_cfg *extra = config_expand_process(c, p, p->nprocs, a, &err);
    CHECK(extra || err);
    arena_free(a);
}

static void walk(struct config *c)
{
    CHECK(c->arena && c->path && c->tend.env);
    for (int i = 0; i < c->nprograms; i++)
        walk_program(c, &c->programs[i]);
    for (int i = 0; i < c->ngroups; i++)
        CHECK(c->groups[i].name && c->groups[i].programs);
    if (c->nprograms)
        scale_program(c, &c->programs[0]);
}

static void report(const struct diag_list *d)
{
    char first[48]; /* short, so that cutting a message is covered */
    for (int i = 0; i < d->n; i++)
        CHECK(d->items[i].file && d->items[i].msg);
    diag_print(d, devnull);
    diag_first_error(d, first, sizeof(first));
    CHECK(memchr(first, '\0', sizeof(first)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag_list diags = {0};
    struct config *c = NULL;
    write_input(data, size);
    int r = config_load(input_path, &c, &diags);
    /* config.h: a snapshot only without errors; a failure is always reported */
    if (r == 0) {
        CHECK(c && diag_errors(&diags) == 0);
        walk(c);
    } else {
        CHECK(r < 0 && !c && diag_errors(&diags) > 0);
    }
    report(&diags);
    config_free(c);
    diag_clear(&diags);
    return 0;
}
