/* notify: sd_notify calls, or nothing without libsystemd.
 *
 * libsystemd is loaded (dlopen) only when systemd asks, by setting NOTIFY_SOCKET:
 * linked in, it and what it pulls in (liblzma, libzstd, libgcrypt, ...) would be
 * mapped into every tend, a megabyte of every container's PID 1, for nothing. */
#include "notify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

#if WITH_SYSTEMD
#include <dlfcn.h>
#include <systemd/sd-daemon.h>

static struct {
    bool tried;
    __typeof__(sd_notify) *notify;
    __typeof__(sd_watchdog_enabled) *watchdog_enabled;
} sd;

static bool load(void)
{
    if (sd.tried)
        return sd.notify != NULL;
    sd.tried = true;
    if (!getenv("NOTIFY_SOCKET"))
        return false;
    void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (h) {
        sd.notify = (__typeof__(sd_notify) *)dlsym(h, "sd_notify");
        sd.watchdog_enabled = (__typeof__(sd_watchdog_enabled) *)dlsym(h, "sd_watchdog_enabled");
    }
    if (!sd.notify || !sd.watchdog_enabled) {
        log_warn("NOTIFY_SOCKET is set but libsystemd.so.0 cannot be loaded: systemd is not told");
        sd.notify = NULL;
    }
    return sd.notify != NULL;
}

static void say(const char *msg)
{
    if (load())
        sd.notify(0, msg);
}

uint64_t notify_watchdog_ms(void)
{
    uint64_t usec = 0;
    return load() && sd.watchdog_enabled(0, &usec) > 0 ? usec / 2000 : 0;
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
