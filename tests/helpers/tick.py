#!/usr/bin/python3
"""Prints 'start', then a numbered line for each SIGUSR2 it gets."""
import signal

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
print("start", flush=True)
n = 0
while True:
    signal.sigwaitinfo({signal.SIGUSR2})
    n += 1
    print(f"tick {n}", flush=True)
