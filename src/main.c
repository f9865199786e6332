/* main: tend's entry point; picks the mode from the command line. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "initmode.h"
#include "config.h"
#include "dev.h"
#include "pid1.h"
#include "run.h"
#include "version.h"

#if TEND_STATIC
#include <nss.h>

/* A static glibc has the "files" lookups built in but cannot load NSS modules: one
 * that the host's nsswitch.conf names (systemd, sss, ldap) would be dlopened into
 * this binary, with a libc of its own, and crash it. Users and groups (user=,
 * socket_owner) come from /etc/passwd and /etc/group alone, as with musl. */
static void nss_files_only(void)
{
    __nss_configure_lookup("passwd", "files");
    __nss_configure_lookup("group", "files");
    __nss_configure_lookup("initgroups", "files");
}
#define BUILD_KIND " (static)"
#else
static void nss_files_only(void)
{
}
#define BUILD_KIND ""
#endif

static int usage(FILE *out, int status)
{
    fputs("usage: tend [-c FILE]                 run the programs of a config (foreground)\n"
          "       tend [-g] -- CMD [ARGS...]     run one command as init (signals, reaping)\n"
          "       tend check [-c FILE] [--strict]\n"
          "       tend dev [-c FILE | -f Procfile] [-e .env] [-m name=N,...] [-p PORT]\n"
          "                [--watch] [--only NAME] [-t]\n"
          "       tend --version\n",
          out);
    return status;
}

/* tend [-g] -- CMD ARGS */
static int init_mode(int argc, char **argv)
{
    bool group = argc > 1 && !strcmp(argv[1], "-g");
    int dash = group ? 2 : 1;
    if (argc <= dash + 1 || strcmp(argv[dash], "--") != 0)
        return usage(stderr, 2);
    pid1_setup();
    return initmode_main(argv + dash + 1, group);
}

/* tend [-c FILE] */
static int supervise(int argc, char **argv)
{
    const char *path = NULL;
    if (argc == 3 && !strcmp(argv[1], "-c"))
        path = argv[2];
    else if (argc != 1)
        return usage(stderr, 2);
    if (!path && !(path = config_find())) {
        fputs("tend: no config file: give -c FILE, set TEND_CONFIG, or create ./tend.ini\n",
              stderr);
        return 1;
    }
    pid1_setup();
    return run_main(path);
}

int main(int argc, char **argv)
{
    nss_files_only();
    if (argc > 2 && (!strcmp(argv[1], "--") || (!strcmp(argv[1], "-g") && !strcmp(argv[2], "--"))))
        return init_mode(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "check"))
        return check_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "dev"))
        return dev_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "--version")) {
        printf("tend %s%s\n", TEND_VERSION, BUILD_KIND);
        return 0;
    }
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
        return usage(stdout, 0);
    return supervise(argc, argv);
}
