/* check: `tend check`, the config-check mode (parse, validate, print, exit). */
#ifndef TEND_CHECK_H
#define TEND_CHECK_H

/* Returns the process exit status: 0 valid, 1 errors, 2 usage. */
int check_main(int argc, char **argv);

#endif
