/* initmode: `tend [-g] [-e CODE] [-p SIG] -- CMD ARGS`, the tini job: run one
 * command as init. */
#ifndef TEND_INITMODE_H
#define TEND_INITMODE_H

#include <stdbool.h>

/* What the command line asks of init mode; the caller owns it and argv. */
struct initmode_opts {
    char **argv;        /* the command and its arguments */
    bool to_group;      /* -g: forward signals to the child's process group */
    int parent_death;   /* -p: the signal tend gets when its parent dies; 0: none */
    bool expected[256]; /* -e: exit statuses reported as 0 */
};

/* Runs o->argv; returns its exit status (128+N when killed by signal N, 126 when it
 * cannot be executed, 127 when it is not found), 0 for one of o->expected. */
int initmode_main(const struct initmode_opts *o);

#endif
