/* run: `tend [-c FILE]`, the supervisor mode; owns the event loop. */
#ifndef TEND_RUN_H
#define TEND_RUN_H

/* Returns tend's exit status: 0 after a clean shutdown, a critical program's
 * failing status, or 1 when the config cannot be loaded. */
int run_main(const char *config_path);

#endif
