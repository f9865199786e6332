/* json: writing JSON strings; tend writes JSON (status --json, log_format=json)
 * but reads only its own small control messages (see proto). */
#ifndef TEND_JSON_H
#define TEND_JSON_H

#include <stddef.h>

/* Writes s (n bytes) as a quoted JSON string into out (outlen >= 3) and returns
 * its length. When it does not fit, it is cut between characters and still quoted. */
size_t json_quote(char *out, size_t outlen, const char *s, size_t n);

#endif
