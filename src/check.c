/* check: loads a config as tend would and shows what it would run. */
#include "check.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "diag.h"
#include "nginx_conf.h"
#include "shellwords.h"

static void print_argv(char *const *argv)
{
    char buf[8192] = "";
    for (int i = 0; argv[i]; i++) {
        if (i)
            strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
        shellwords_quote(argv[i], buf, sizeof(buf));
    }
    fputs(buf, stdout);
}

static void print_process(const struct program_cfg *p, const struct proc_cfg *proc, int width)
{
    char port[8] = "-";
    if (proc->port)
        snprintf(port, sizeof(port), "%d", proc->port);
    printf("%-*s  %-5s  %8d  %-9s  %-10s  %-20s  ", width, proc->name, port, p->priority,
           p->autostart ? "yes" : "no", p->user ? p->user : "-",
           proc->directory ? proc->directory : "-");
    print_argv(proc->argv);
    if (proc->problem)
        printf("  [will not run: %s]", proc->problem);
    putchar('\n');
}

static void print_table(const struct config *c)
{
    int width = 4;
    for (int i = 0; i < c->nprograms; i++)
        for (int j = 0; j < c->programs[i].nprocs; j++) {
            int n = (int)strlen(c->programs[i].procs[j].name);
            width = n > width ? n : width;
        }
    printf("%-*s  %-5s  %8s  %-9s  %-10s  %-20s  %s\n", width, "NAME", "PORT", "PRIORITY",
           "AUTOSTART", "USER", "DIRECTORY", "COMMAND");
    for (int i = 0; i < c->nprograms; i++)
        for (int j = 0; j < c->programs[i].nprocs; j++)
            print_process(&c->programs[i], &c->programs[i].procs[j], width);
}

/* The nginx config tend would write once every worker is ready. */
static void print_nginx(const struct config *c)
{
    struct nginx_pool pools[64];
    int ports[4096], used = 0, n = c->nginx->nroutes < 64 ? c->nginx->nroutes : 64;
    for (int r = 0; r < n; r++) {
        const struct program_cfg *p = config_program(c, c->nginx->routes[r].program);
        pools[r] = (struct nginx_pool){.program = p->name, .ports = ports + used};
        for (int i = 0; i < p->nprocs && used < 4096; i++, used++, pools[r].nports++)
            ports[used] = p->procs[i].port;
    }
    char *text = nginx_conf_render(c, pools, n);
    printf("\n# %s, with every worker ready:\n%s", c->nginx->config, text ? text : "");
    free(text);
}

static int usage(void)
{
    fputs("usage: tend check [-c FILE] [--strict]\n", stderr);
    return 2;
}

int check_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"strict", no_argument, NULL, 's'}, {0}};
    const char *path = NULL;
    struct diag_list diags = {0};
    for (int ch; (ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1;) {
        if (ch == 'c')
            path = optarg;
        else if (ch == 's')
            diags.strict = true;
        else
            return usage();
    }
    if (optind != argc)
        return usage();
    if (!path && !(path = config_find())) {
        fputs("tend: no config file: give -c FILE, set TEND_CONFIG, or create ./tend.ini\n",
              stderr);
        return 1;
    }
    struct config *c = NULL;
    int r = config_load(path, &c, &diags);
    diag_print(&diags, stderr);
    if (r < 0) {
        fprintf(stderr, "%s: %d error(s), %d warning(s)\n", path, diag_errors(&diags),
                diag_warnings(&diags));
        diag_clear(&diags);
        return 1;
    }
    print_table(c);
    if (c->nginx)
        print_nginx(c);
    fprintf(stderr, "%s: ok, %d warning(s)\n", path, diag_warnings(&diags));
    config_free(c);
    diag_clear(&diags);
    return 0;
}
