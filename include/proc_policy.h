/* proc_policy: what a program asks of its processes' lifecycle, as the lower
 * modules that act on it see it: whether an exit is followed by a start
 * (proc_fsm), and how a process says it is ready (readiness). config parses
 * these from a [program:x] section; those modules need nothing else of it. */
#ifndef TEND_PROC_POLICY_H
#define TEND_PROC_POLICY_H

/* autorestart = false | unexpected | true */
enum autorestart { AUTORESTART_FALSE, AUTORESTART_UNEXPECTED, AUTORESTART_TRUE };
/* ready = startsecs | tcp | http[:/PATH] | notify */
enum ready_kind { READY_STARTSECS, READY_TCP, READY_HTTP, READY_NOTIFY };
/* health = none | tcp | http[:/PATH] | exec:COMMAND, checked while RUNNING */
enum health_kind { HEALTH_NONE, HEALTH_TCP, HEALTH_HTTP, HEALTH_EXEC };

#endif
