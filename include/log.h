/* log: tend's own messages, in one style: "tend | message" (or raw / JSON, per
 * log_format), filtered by loglevel. Before the event loop runs they go straight
 * to stderr; once a sink is set they go through it, so that they never split a
 * child's line on the same stream. */
#ifndef TEND_LOG_H
#define TEND_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_CRIT, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };
/* log_format = prefix | raw | json: how tend's lines and its children's look on its streams. */
enum log_format { LOG_FORMAT_PREFIX, LOG_FORMAT_RAW, LOG_FORMAT_JSON };

/* critical error warn info debug trace blather (supervisord's names). */
int log_level_parse(const char *s, int *level);
/* format: an enum log_format. */
void log_setup(int level, int format, bool timestamps);
int log_level(void);
/* The sink receives whole formatted lines, newline included. */
typedef void log_sink_fn(void *ctx, const char *line, size_t len);
void log_set_sink(log_sink_fn *fn, void *ctx);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_crit(...)  log_msg(LOG_CRIT, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Names in prefixes are padded to this width, so that columns line up. */
void log_set_name_width(int width);
int log_name_width(void);
int log_format(void);
bool log_timestamps(void);
/* tend dev on a terminal: each name in a color of its own (ANSI). */
void log_set_colors(bool on);
/* The escape sequence that starts name's color, "" without colors. A process is
 * colored by its program (web.1 and web.2 alike): pass the program's name. */
const char *log_color_of(const char *name);

/* Formats one output line of `name` (a process, or "tend") for tend's streams:
 * "name | text\n" (with cont, a continuation of a split line: "name + text\n"),
 * raw, or a JSON object. Returns the length written into out (at most outlen;
 * text longer than fits is cut). */
size_t log_format_line(char *out, size_t outlen, const char *name, const char *stream, bool cont,
                       const char *text, size_t len);

#endif
