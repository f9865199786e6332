/* notify: sd_notify calls, or nothing without libsystemd. */
#include "notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#if WITH_SYSTEMD
#include <systemd/sd-daemon.h>

static void say(const char *msg)
{
    sd_notify(0, msg);
}

uint64_t notify_watchdog_ms(void)
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec / 2000 : 0;
}
#else
static void say(const char *msg)
{
    (void)msg;
}

uint64_t notify_watchdog_ms(void)
{
    return 0;
}
#endif

void notify_ready(void)
{
    say("READY=1");
}

void notify_status(const char *fmt, ...)
{
    char msg[512] = "STATUS=";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + 7, sizeof(msg) - 7, fmt, ap);
    va_end(ap);
    say(msg);
}

void notify_reloading(void)
{
    struct timespec ts;
    char msg[96];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    say(msg);
}

void notify_stopping(void)
{
    say("STOPPING=1");
}

void notify_watchdog(void)
{
    say("WATCHDOG=1");
}
