/* main: tend's entry point; picks the mode from the command line. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "initmode.h"
#include "config.h"
#include "dev.h"
#include "pid1.h"
#include "run.h"
#include "strconv.h"
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
          "       tend [-g] [-e CODE]... [-p SIG] -- CMD [ARGS...]\n"
          "                                     run one command as init (signals, reaping)\n"
          "       tend check [-c FILE] [--strict]\n"
          "       tend dev [-c FILE | -f Procfile] [-e .env] [-m name=N,...] [-p PORT]\n"
          "                [--watch] [--only NAME] [-t]\n"
          "       tend --version\n",
          out);
    return status;
}

static bool is_init_option(const char *arg)
{
    return !strcmp(arg, "--") || !strcmp(arg, "-g") || !strcmp(arg, "-e") || !strcmp(arg, "-p");
}

/* One of tini's options at argv[*i], moving *i past its value. Returns 0, or -1
 * after saying what is wrong. */
static int init_option(struct initmode_opts *o, int argc, char **argv, int *i)
{
    const char *opt = argv[*i];
    long code;
    if (!strcmp(opt, "-g"))
        return o->to_group = true, 0;
    if ((strcmp(opt, "-e") && strcmp(opt, "-p")) || *i + 1 >= argc)
        return usage(stderr, -1);
    const char *val = argv[++*i];
    if (opt[1] == 'e' && strconv_long(val, 0, 255, &code) == 0)
        return o->expected[code] = true, 0;
    if (opt[1] == 'p' && strconv_signal(val, &o->parent_death) == 0)
        return 0;
    fprintf(stderr, "tend: %s '%s': %s\n", opt, val,
            opt[1] == 'e' ? "not an exit status (0-255)" : "not a signal");
    return -1;
}

/* tend [-g] [-e CODE]... [-p SIG] -- CMD ARGS */
static int init_mode(int argc, char **argv)
{
    struct initmode_opts o = {0};
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (init_option(&o, argc, argv, &i) < 0)
            return 2;
    if (i + 1 >= argc)
        return usage(stderr, 2);
    o.argv = argv + i + 1;
    pid1_setup();
    return initmode_main(&o);
}

/* A config file given without -c gets the hint: it is what was most likely meant. */
static int unknown_command(const char *word)
{
    if (access(word, R_OK) == 0)
        fprintf(stderr, "tend: unknown command '%s' (to run that config: tend -c %s)\n", word,
                word);
    else
        fprintf(stderr, "tend: unknown command '%s'\n", word);
    return usage(stderr, 2);
}

/* tend [-c FILE] */
static int supervise(int argc, char **argv)
{
    const char *path = NULL;
    if (argc == 3 && !strcmp(argv[1], "-c"))
        path = argv[2];
    else if (argc > 1 && argv[1][0] != '-') /* a word where a mode is: say which */
        return unknown_command(argv[1]);
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
    if (argc > 1 && is_init_option(argv[1]))
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
