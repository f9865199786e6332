/* dev: `tend dev`, the local development runner (see tend(8), DEVELOPMENT). */
#ifndef TEND_DEV_H
#define TEND_DEV_H

/* Returns tend's exit status, as run_main(); 2 for a usage error. */
int dev_main(int argc, char **argv);

#endif
