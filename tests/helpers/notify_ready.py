#!/usr/bin/python3
"""ready = notify: prints its NOTIFY_SOCKET, waits argv[1] seconds, then a child of
it (a descendant, as in many daemons) sends READY=1 and STATUS=."""
import os
import socket
import sys
import time

path = os.environ["NOTIFY_SOCKET"]
print(f"socket {path}", flush=True)
time.sleep(float(sys.argv[1]))
if os.fork() == 0:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"READY=1\nSTATUS=serving", "\0" + path[1:] if path.startswith("@") else path)
    os._exit(0)
os.wait()
print("sent", flush=True)
time.sleep(3600)
