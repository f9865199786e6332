#!/usr/bin/python3
"""Prints each signal it gets; exits with argv[1] on SIGTERM. Prints 'ready' first."""
import os
import signal
import sys
import time

code = int(sys.argv[1]) if len(sys.argv) > 1 else 0


def handler(signo, frame):
    name = signal.Signals(signo).name if signo < signal.SIGRTMIN else f"SIGRTMIN+{signo - signal.SIGRTMIN}"
    print(f"got {name}", flush=True)
    if signo == signal.SIGTERM:
        sys.exit(code)


for s in (signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM,
          signal.SIGWINCH, signal.SIGRTMIN + 3):
    signal.signal(s, handler)
print(f"ready {os.getpid()}", flush=True)
while True:
    time.sleep(3600)
