/* habits: supervisorctl's words in tendctl. A command line in supervisorctl's
 * verbs becomes tend's request, with a hint saying what tend calls it; a word tend
 * has no use for (open, quit) gets a message saying why; an unknown verb gets a
 * "did you mean". Pure: no I/O, for tendctl before it connects. */
#ifndef TEND_HABITS_H
#define TEND_HABITS_H

#include <stddef.h>

/* out's size: room for the most words tend takes (PROTO_MAX_ARGS) and a verb's growth. */
enum { HABITS_MAX_ARGS = 66 };

/* Turns argv (the verb and its words) into the request to send: *out_argc words in
 * out[HABITS_MAX_ARGS] (pointers into argv, or constants). Returns 0 (hint set to a line for stderr,
 * or "" when argv is tend's own), or -1 with the error in hint (a usage error). */
int habits_translate(int argc, char **argv, char **out, int *out_argc, char *hint, size_t len);

#endif
