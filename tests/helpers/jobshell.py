#!/usr/bin/python3
"""Runs argv[1:] as an interactive shell runs a foreground job, on the terminal that is
its stdin: a session of its own with that terminal, `stty tostop`, the job in a process
group of its own that gets the terminal, as its 0, 1 and 2. Prints 'job PID', then
'exited N' or 'stopped SIGNAME' on its own stdout (not the terminal). A stopped job is
left as it is, for the caller to end with what it started (jobshell waits for it)."""
import fcntl
import os
import signal
import sys
import termios

os.setsid()
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
attrs = termios.tcgetattr(0)
attrs[3] |= termios.TOSTOP
termios.tcsetattr(0, termios.TCSANOW, attrs)
signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # as a shell: to hand the terminal over
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    os.tcsetpgrp(0, os.getpgrp())
    os.dup2(0, 1)
    os.dup2(0, 2)
    for sig in (signal.SIGTTOU, signal.SIGPIPE, signal.SIGXFSZ):  # Python's, not the job's
        signal.signal(sig, signal.SIG_DFL)
    os.execvp(sys.argv[1], sys.argv[1:])
try:
    os.setpgid(pid, pid)  # either side may come first
except PermissionError:  # the child has exec'd already, in its own group
    pass
print(f"job {pid}", flush=True)
_, status = os.waitpid(pid, os.WUNTRACED)
if os.WIFSTOPPED(status):
    print(f"stopped {signal.Signals(os.WSTOPSIG(status)).name}", flush=True)
    os.waitpid(pid, 0)
else:
    print(f"exited {os.waitstatus_to_exitcode(status)}", flush=True)
