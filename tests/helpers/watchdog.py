#!/usr/bin/python3
"""ready = notify with a watchdog: prints WATCHDOG_USEC, sends READY=1, then
WATCHDOG=1 every 100 ms for argv[1] seconds, then hangs (a deadlock, as far as tend
can tell). With argv[2] = trigger, it sends WATCHDOG=trigger instead of hanging."""
import os
import socket
import sys
import time

path = os.environ["NOTIFY_SOCKET"]
addr = "\0" + path[1:] if path.startswith("@") else path
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(f"WATCHDOG_USEC={os.environ.get('WATCHDOG_USEC')}", flush=True)
s.sendto(b"READY=1", addr)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    time.sleep(0.1)
    s.sendto(b"WATCHDOG=1", addr)
if len(sys.argv) > 2 and sys.argv[2] == "trigger":
    s.sendto(b"WATCHDOG=trigger", addr)
print("hanging", flush=True)
time.sleep(3600)
