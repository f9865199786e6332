#!/usr/bin/python3
"""Prints each signal it gets; exits with argv[1] on SIGTERM. Prints 'ready' first.

Waits with sigwaitinfo: Python handlers plus time.sleep can miss a signal that lands
just before the sleep resumes."""
import os
import signal
import sys

code = int(sys.argv[1]) if len(sys.argv) > 1 else 0
watched = {signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM,
           signal.SIGWINCH, signal.SIGRTMIN + 3, signal.SIGPIPE, signal.SIGTTIN, signal.SIGTTOU}
signal.pthread_sigmask(signal.SIG_BLOCK, watched)
print(f"ready {os.getpid()}", flush=True)
while True:
    signo = signal.sigwaitinfo(watched).si_signo
    name = (signal.Signals(signo).name if signo < signal.SIGRTMIN
            else f"SIGRTMIN+{signo - signal.SIGRTMIN}")
    print(f"got {name}", flush=True)
    if signo == signal.SIGTERM:
        sys.exit(code)
