/* log: one formatter for every line tend writes to its own streams. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"
#include "json.h"
#include "ring.h"

/* tend's own messages (log.h says why this is global); the formatter below uses
 * only the style it is given. */
static struct {
    int level;
    struct line_style style;
    log_sink_fn *sink;
    void *ctx;
    struct ring ring;
    struct log_listener *listeners;
} L = {.level = LOG_INFO, .ring = {.cap = LOG_KEPT}};

int log_level_parse(const char *s, int *level)
{
    static const struct { const char *name; int level; } names[] = {
        {"critical", LOG_CRIT}, {"error", LOG_ERROR}, {"warn", LOG_WARN},  {"warning", LOG_WARN},
        {"info", LOG_INFO},     {"debug", LOG_DEBUG}, {"trace", LOG_TRACE}, {"blather", LOG_TRACE},
    };
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(s, names[i].name) == 0)
            return *level = names[i].level, 0;
    return -1;
}

void log_setup(int level, const struct line_style *style)
{
    L.level = level;
    L.style = *style;
}

const char *log_color_of(const struct line_style *style, const char *name)
{
    static const char *const colors[] = {"\033[36m", "\033[33m", "\033[32m", "\033[35m",
                                         "\033[34m", "\033[31m", "\033[96m", "\033[93m"};
    unsigned h = 5381;
    if (!style->colors)
        return "";
    if (!strcmp(name, "tend"))
        return "\033[1m"; /* tend itself: bold */
    for (const char *c = name; *c; c++)
        h = h * 33 + (unsigned char)*c;
    return colors[h % (sizeof(colors) / sizeof(colors[0]))];
}

void log_set_sink(log_sink_fn *fn, void *ctx)
{
    L.sink = fn;
    L.ctx = ctx;
}

/* RFC 3339 UTC with milliseconds: sortable, and what log collectors parse. */
static size_t timestamp(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    return n + (size_t)snprintf(buf + n, len - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

static size_t format_json(char *out, size_t outlen, const char *name, const char *stream,
                          bool cont, const char *text, size_t len)
{
    char ts[40];
    size_t n, room = outlen - 32; /* for the closing fields */
    timestamp(ts, sizeof(ts));
    n = (size_t)snprintf(out, room, "{\"time\":\"%s\",\"process\":", ts);
    n += json_quote(out + n, room - n, name, strlen(name));
    n += (size_t)snprintf(out + n, room - n, ",\"stream\":\"%s\",\"line\":", stream);
    n += json_quote(out + n, room - n, text, len);
    n += (size_t)snprintf(out + n, outlen - n, "%s}\n", cont ? ",\"continued\":true" : "");
    return n < outlen ? n : outlen - 1;
}

size_t log_format_line(char *out, size_t outlen, const struct line_style *style, const char *name,
                       const char *stream, bool cont, const char *text, size_t len)
{
    if (style->format == LOG_FORMAT_JSON)
        return format_json(out, outlen, name, stream, cont, text, len);
    size_t n = 0;
    if (style->timestamps) {
        n = timestamp(out, outlen);
        out[n++] = ' ';
    }
    if (style->format == LOG_FORMAT_PREFIX)
        n += (size_t)snprintf(out + n, outlen - n, "%s%-*s%s %c ", log_color_of(style, name),
                              style->width, name, style->colors ? "\033[0m" : "", cont ? '+' : '|');
    if (n >= outlen - 1)
        n = outlen - 2;
    if (n + len + 1 > outlen)
        len = outlen - n - 1;
    memcpy(out + n, text, len);
    out[n + len] = '\n';
    return n + len + 1;
}

/* Without a sink (before the loop runs, and at the very end) a line goes straight
 * to stderr, and is dropped rather than wait for a reader that does not read: PID 1
 * must not hang on its way out. A line (at most 4096 bytes) fits once the stream
 * has room, which is waited for 100 ms at the most. */
static void write_direct(const char *line, size_t len)
{
    fd_write_all_within(STDERR_FILENO, line, len, 100, NULL);
}

void log_listen(struct log_listener *l)
{
    l->prev = NULL;
    l->next = L.listeners;
    if (L.listeners)
        L.listeners->prev = l;
    L.listeners = l;
}

void log_unlisten(struct log_listener *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else if (L.listeners == l)
        L.listeners = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

size_t log_tail(int lines, char *out, size_t outlen)
{
    return ring_tail(&L.ring, lines, out, outlen);
}

/* Into the ring, and to each follower (without the newline, as a process's lines). */
static void keep(const char *line, size_t len)
{
    ring_append(&L.ring, line, len);
    for (struct log_listener *l = L.listeners, *next; l; l = next) {
        next = l->next; /* a listener only queues the line: it unlistens nobody */
        l->fn(l->ctx, line, len - 1);
    }
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > L.level)
        return;
    char text[2048], line[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t tlen = (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1;
    size_t len = log_format_line(line, sizeof(line), &L.style, "tend", "log", false, text, tlen);
    keep(line, len);
    if (L.sink) {
        L.sink(L.ctx, line, len);
        return;
    }
    write_direct(line, len);
}
