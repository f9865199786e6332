/* initmode: `tend [-g] -- CMD ARGS`, the tini job: run one command as init. */
#ifndef TEND_INITMODE_H
#define TEND_INITMODE_H

#include <stdbool.h>

/* Runs argv; returns its exit status (128+N when killed by signal N, 126 when it
 * cannot be executed, 127 when it is not found). */
int initmode_main(char **argv, bool to_group);

#endif
