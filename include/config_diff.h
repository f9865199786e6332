/* config_diff: what changed between two snapshots, program by program, named by
 * the keys a user writes (for tendctl reload's reply). A pure function of the two
 * configs: what the change does to running processes is the supervisor's to say. */
#ifndef TEND_CONFIG_DIFF_H
#define TEND_CONFIG_DIFF_H

#include "config.h"

enum config_change { CONFIG_ADDED, CONFIG_REMOVED, CONFIG_CHANGED };

enum { CONFIG_DIFF_KEYS = 256 };

struct config_diff_item {
    const char *program; /* in the config it is found in (the new one unless removed) */
    enum config_change what;
    int nprocs; /* in that config */
    char keys[CONFIG_DIFF_KEYS]; /* CONFIG_CHANGED: "command, numprocs", ", ..." past room */
};

/* The programs added, removed or changed from a to b: a's order (removed and
 * changed), then b's new ones. Returns how many, with *out (the caller frees it;
 * NULL when none), or -ENOMEM. The items point into a and b. */
int config_diff(const struct config *a, const struct config *b, struct config_diff_item **out);

#endif
