/* strconv: strict parsers for booleans, numbers, durations, sizes and signals. */
#include "strconv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <strings.h>

int strconv_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (unsigned i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -EINVAL;
}

int strconv_long(const char *s, long min, long max, long *out)
{
    char *end;
    if (!isdigit((unsigned char)*s) && !((*s == '-' || *s == '+') && isdigit((unsigned char)s[1])))
        return -EINVAL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end != '\0')
        return -EINVAL;
    if (errno == ERANGE || v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

/* Reads "12" or "1.5" as thousandths, so "1.5s" is exact without floating point. */
static int parse_milli(const char **sp, uint64_t *milli)
{
    const char *s = *sp;
    uint64_t whole = 0, frac = 0, scale = 1000;
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    for (; isdigit((unsigned char)*s); s++) {
        whole = whole * 10 + (uint64_t)(*s - '0');
        if (whole > (UINT64_MAX - 999) / 1000) /* it is multiplied by 1000 below */
            return -ERANGE;
    }
    if (*s == '.') {
        if (!isdigit((unsigned char)*++s))
            return -EINVAL;
        for (; isdigit((unsigned char)*s); s++)
            if (scale > 1)
                frac += (uint64_t)(*s - '0') * (scale /= 10);
    }
    *milli = whole * 1000 + frac;
    *sp = s;
    return 0;
}

int strconv_duration_ms(const char *s, uint64_t *ms)
{
    static const struct { const char *unit; uint64_t ms; } units[] = {
        {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
    };
    uint64_t milli;
    int r = parse_milli(&s, &milli);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(s, units[i].unit) != 0)
            continue;
        if (milli > UINT64_MAX / units[i].ms)
            return -ERANGE;
        *ms = milli * units[i].ms / 1000;
        return 0;
    }
    return -EINVAL;
}

int strconv_size(const char *s, uint64_t *bytes)
{
    static const struct { const char *unit; uint64_t mult; } units[] = {
        {"", 1}, {"b", 1}, {"kb", 1024}, {"mb", 1024 * 1024}, {"gb", 1024 * 1024 * 1024},
    };
    uint64_t milli;
    int r = parse_milli(&s, &milli);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(s, units[i].unit) != 0)
            continue;
        if (milli > UINT64_MAX / units[i].mult)
            return -ERANGE;
        *bytes = milli * units[i].mult / 1000;
        return 0;
    }
    return -EINVAL;
}

static const struct { const char *name; int sig; } signals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
    {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
    {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},   {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

static int parse_rt(const char *s, int *sig)
{
    long off = 0;
    if (strncasecmp(s, "RTMIN", 5) == 0) {
        if (s[5] && (s[5] != '+' || strconv_long(s + 6, 0, SIGRTMAX - SIGRTMIN, &off) < 0))
            return -EINVAL;
        *sig = SIGRTMIN + (int)off;
        return 0;
    }
    if (strncasecmp(s, "RTMAX", 5) == 0) {
        if (s[5] && (s[5] != '-' || strconv_long(s + 6, 0, SIGRTMAX - SIGRTMIN, &off) < 0))
            return -EINVAL;
        *sig = SIGRTMAX - (int)off;
        return 0;
    }
    return -EINVAL;
}

int strconv_signal(const char *s, int *sig)
{
    long n;
    if (strconv_long(s, 1, SIGRTMAX, &n) == 0)
        return *sig = (int)n, 0;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (unsigned i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        if (strcasecmp(s, signals[i].name) == 0)
            return *sig = signals[i].sig, 0;
    return parse_rt(s, sig);
}

const char *strconv_signal_name(int sig)
{
    for (unsigned i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
        if (signals[i].sig == sig)
            return signals[i].name;
    return NULL;
}

void strconv_exit_text(int st, char *buf, size_t len)
{
    const char *sig = st >= 0 && WIFSIGNALED(st) ? strconv_signal_name(WTERMSIG(st)) : NULL;
    if (st < 0)
        snprintf(buf, len, "-");
    else if (sig)
        snprintf(buf, len, "SIG%s", sig);
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "signal %d", WTERMSIG(st));
    else
        snprintf(buf, len, "%d", WEXITSTATUS(st));
}

int strconv_octal(const char *s, unsigned max, unsigned *out)
{
    char *end;
    if (!isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 8);
    if (*end != '\0')
        return -EINVAL;
    if (errno == ERANGE || v > max)
        return -ERANGE;
    *out = (unsigned)v;
    return 0;
}

void strconv_format_duration(uint64_t ms, char *buf, unsigned len)
{
    uint64_t s = ms / 1000;
    if (ms < 1000)
        snprintf(buf, len, "%llums", (unsigned long long)ms);
    else if (s < 10)
        snprintf(buf, len, "%llu.%llus", (unsigned long long)s, (unsigned long long)(ms % 1000 / 100));
    else if (s < 60)
        snprintf(buf, len, "%llus", (unsigned long long)s);
    else if (s < 3600)
        snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else if (s < 86400)
        snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    else
        snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24));
}

int strconv_exit_code(int wstatus)
{
    return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}
