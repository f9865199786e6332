/* habits: the table of supervisorctl's verbs and what tend does for each. */
#include "habits.h"

#include <stdio.h>
#include <string.h>

#include "nearest.h"

/* tend's own verbs, sent as they are. A verb the server learns must be added here,
 * or tendctl refuses it before asking. */
static const char *const tend_verbs[] = {"status", "start",  "stop",   "restart", "signal",
                                         "scale",  "reload", "tail",   "pid",     "health",
                                         "nginx",  "shutdown", "version", "log",  "clear", "why",
                                         NULL};

/* supervisorctl's verbs tend spells otherwise: the words they become (then the
 * user's words after the verb, when keep_args), and what is said. */
static const struct habit {
    const char *verb;
    const char *const as[3]; /* tend's words */
    int keep_args;           /* pass on the words after the verb */
    const char *say;         /* the hint; %s: the verb */
    int error;               /* nothing is sent: say is the error */
} habits[] = {
    {"update", {"reload"}, 0, "'%s' is tend's 'reload' (it applies the whole config)", 0},
    {"reread", {"reload", "--dry-run"}, 0, "'%s' is tend's 'reload --dry-run'", 0},
    {"avail", {"status"}, 0, "'%s' is tend's 'status' (every configured process)", 0},
    {"maintail", {"log"}, 1, "'%s' is tend's 'log' (tend's own lines; -N counts lines)", 0},
    {"fg", {"tail", "-f"}, 1,
     "'%s' is tend's 'tail -f': the output follows, your input does not reach the process", 0},
    {"add", {"reload"}, 0,
     "tend applies config changes with 'reload' (supervisorctl's '%s' follows its 'reread'): "
     "reloading", 0},
    {"remove", {"reload"}, 0,
     "tend applies config changes with 'reload' (supervisorctl's '%s' follows its 'reread'): "
     "reloading", 0},
    {"open", {NULL}, 0,
     "'%s' has no use here: tendctl talks to one tend per call; name its socket with -s "
     "(tendctl -s /path/to/tend.sock COMMAND)", 1},
    {"quit", {NULL}, 0, "'%s' is for supervisorctl's shell: tendctl runs one command and exits", 1},
    {"exit", {NULL}, 0, "'%s' is for supervisorctl's shell: tendctl runs one command and exits", 1},
};
enum { NHABITS = sizeof(habits) / sizeof(habits[0]) };

static int unknown(const char *verb, char *hint, size_t len)
{
    struct nearest n = {0};
    for (const char *const *v = tend_verbs; *v; v++)
        nearest_offer(&n, verb, *v);
    for (int i = 0; i < NHABITS; i++)
        nearest_offer(&n, verb, habits[i].verb);
    if (n.best)
        snprintf(hint, len, "unknown command '%s' (did you mean '%s'?)", verb, n.best);
    else
        snprintf(hint, len, "unknown command '%s' (see tendctl --help)", verb);
    return -1;
}

/* fg follows one process: supervisorctl's fg takes exactly one name, so does this. */
static int check_args(const struct habit *h, int argc, char *hint, size_t len)
{
    if (!strcmp(h->verb, "fg") && argc != 2)
        return snprintf(hint, len, "'fg' follows one process: tendctl fg NAME (tend's tail -f "
                        "NAME)"), -1;
    return 0;
}

static int apply(const struct habit *h, int argc, char **argv, char **out, int *out_argc,
                 char *hint, size_t len)
{
    int n = 0;
    snprintf(hint, len, h->say, h->verb);
    if (h->error || check_args(h, argc, hint, len) < 0)
        return -1;
    for (int i = 0; i < 3 && h->as[i]; i++)
        out[n++] = (char *)h->as[i];
    for (int i = 1; h->keep_args && i < argc; i++)
        out[n++] = argv[i];
    *out_argc = n;
    return 0;
}

int habits_translate(int argc, char **argv, char **out, int *out_argc, char *hint, size_t len)
{
    *hint = '\0';
    if (argc > HABITS_MAX_ARGS - 2)
        return snprintf(hint, len, "too many words (tend takes at most %d)", HABITS_MAX_ARGS - 2),
               -1;
    for (const char *const *v = tend_verbs; *v; v++)
        if (!strcmp(argv[0], *v)) {
            memcpy(out, argv, sizeof(*out) * (size_t)argc);
            *out_argc = argc;
            return 0;
        }
    for (int i = 0; i < NHABITS; i++)
        if (!strcmp(argv[0], habits[i].verb))
            return apply(&habits[i], argc, argv, out, out_argc, hint, len);
    return unknown(argv[0], hint, len);
}
