/* log: tend's own messages, in one style: "tend | message" (or raw / JSON, per
 * log_format), filtered by loglevel. Before the event loop runs they go straight
 * to stderr; once a sink is set they go through it, so that they never split a
 * child's line on the same stream. Also the one line formatter, for tend's lines
 * and its children's alike, in a style given by the caller.
 *
 * Its state (level, style, sink) is tend's one process-wide logger, on purpose:
 * every module says things, and a logger passed through every call would be noise;
 * and a message must get out before the loop and its sink exist, and after they are
 * gone (at exit), which only a global can serve. Everything else gets its style
 * as a value. */
#ifndef TEND_LOG_H
#define TEND_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_CRIT, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };
/* log_format = prefix | raw | json: how tend's lines and its children's look on its streams. */
enum log_format { LOG_FORMAT_PREFIX, LOG_FORMAT_RAW, LOG_FORMAT_JSON };

/* How a line looks on tend's streams. A plain value: whoever formats lines holds
 * the one it was given, and is given a new one when the config changes. */
struct line_style {
    enum log_format format;
    int width;       /* names in prefixes are padded to it, so that columns line up */
    bool timestamps; /* each line starts with the time (RFC 3339, UTC) */
    bool colors;     /* tend dev on a terminal: each name in a color of its own (ANSI) */
};

/* critical error warn info debug trace blather (supervisord's names). */
int log_level_parse(const char *s, int *level);
/* tend's own messages from now on: those up to level, in style (copied). */
void log_setup(int level, const struct line_style *style);
/* The sink receives whole formatted lines, newline included. */
typedef void log_sink_fn(void *ctx, const char *line, size_t len);
void log_set_sink(log_sink_fn *fn, void *ctx);

/* tend's own lines are also kept, the last LOG_KEPT bytes of them, for `tendctl
 * log` (supervisorctl's maintail): whatever tend's stderr goes to, they can be read. */
enum { LOG_KEPT = 64 << 10 };
size_t log_tail(int lines, char *out, size_t outlen); /* as ring_tail */
/* A follower of tend's own lines (`tendctl log -f`): fn gets each line as it is
 * logged, without its newline. The node is the caller's, linked until unlistened;
 * fn must not log, nor unlisten anyone. */
typedef void log_line_fn(void *ctx, const char *line, size_t len);
struct log_listener {
    log_line_fn *fn;
    void *ctx;
    struct log_listener *prev, *next;
};
void log_listen(struct log_listener *l);
void log_unlisten(struct log_listener *l);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_crit(...)  log_msg(LOG_CRIT, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* The escape sequence that starts name's color, "" without style->colors. A
 * process is colored by its program (web.1 and web.2 alike): pass the program's name. */
const char *log_color_of(const struct line_style *style, const char *name);

/* Formats one output line of `name` (a process, or "tend") for tend's streams, as
 * style says: "name | text\n" (with cont, a continuation of a split line:
 * "name + text\n"), raw, or a JSON object. Returns the length written into out
 * (at most outlen; text longer than fits is cut). */
size_t log_format_line(char *out, size_t outlen, const struct line_style *style, const char *name,
                       const char *stream, bool cont, const char *text, size_t len);

#endif
