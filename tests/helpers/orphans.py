#!/usr/bin/python3
"""Leaves N orphans behind: each child forks a grandchild and exits at once; the
grandchildren sleep until an absolute time (argv[2], epoch seconds), then exit."""
import os
import sys
import time

n, until = int(sys.argv[1]), float(sys.argv[2])
for _ in range(n):
    if os.fork() == 0:
        if os.fork() == 0:
            time.sleep(max(0.0, until - time.time()))
            os._exit(0)
        os._exit(0)
    os.waitpid(-1, 0)
print(f"left {n} orphans", flush=True)
time.sleep(3600)
