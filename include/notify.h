/* notify: tells systemd how tend is doing (sd_notify) when NOTIFY_SOCKET is set:
 * READY=1, STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1. The only file that
 * sees libsystemd; built without it (WITH_SYSTEMD=0) every call does nothing. */
#ifndef TEND_NOTIFY_H
#define TEND_NOTIFY_H

#include <stdint.h>

void notify_ready(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notify_reloading(void); /* with MONOTONIC_USEC, as systemd wants for Type=notify-reload */
void notify_stopping(void);
/* Half the watchdog interval systemd asks for (WATCHDOG_USEC), in ms; 0 when none. */
uint64_t notify_watchdog_ms(void);
void notify_watchdog(void);

#endif
