/* strconv: the typed values of tend's config and command line, parsed strictly.
 * Every function returns 0 or -EINVAL (-ERANGE when out of range) and writes
 * its result only on success. */
#ifndef TEND_STRCONV_H
#define TEND_STRCONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true/false yes/no on/off 1/0, any case. */
int strconv_bool(const char *s, bool *out);
/* A decimal integer in [min, max]. */
int strconv_long(const char *s, long min, long max, long *out);
/* A bare number is seconds (supervisord); suffixes ms, s, m, h; fractions allowed. */
int strconv_duration_ms(const char *s, uint64_t *ms);
/* Bare bytes, or KB / MB / GB (powers of 1024, as supervisord). */
int strconv_size(const char *s, uint64_t *bytes);
/* TERM, SIGTERM, sigterm or 15; RTMIN+N too. */
int strconv_signal(const char *s, int *sig);
/* "TERM" for SIGTERM; NULL when unknown. */
const char *strconv_signal_name(int sig);
/* A wait status as status shows it: "0", "SIGKILL", "signal 99"; "-" for none (< 0). */
void strconv_exit_text(int wstatus, char *buf, size_t len);
/* An octal number no larger than max (umask 022, socket mode 0600). */
int strconv_octal(const char *s, unsigned max, unsigned *out);
/* A wait status as a shell shows it: the exit code, or 128+N for signal N. */
int strconv_exit_code(int wstatus);
/* Formats a duration the way tendctl shows uptimes: 3d04h, 5m02s, 12s, 1.5s, 250ms. */
void strconv_format_duration(uint64_t ms, char *buf, unsigned len);

#endif
