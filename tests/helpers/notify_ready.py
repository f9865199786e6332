#!/usr/bin/python3
"""ready = notify: prints its NOTIFY_SOCKET, waits argv[1] seconds, then a child of
it (a descendant, as in many daemons) sends READY=1 and STATUS=, and waits with
BARRIER=1 until tend has read them before it exits, as systemd-notify does (a
sender already gone when tend reads its message is not believed)."""
import array
import os
import select
import socket
import sys
import time

path = os.environ["NOTIFY_SOCKET"]
print(f"socket {path}", flush=True)
time.sleep(float(sys.argv[1]))
if os.fork() == 0:
    addr = "\0" + path[1:] if path.startswith("@") else path
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"READY=1\nSTATUS=serving", addr)
    r, w = os.pipe()
    s.sendmsg([b"BARRIER=1"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [w]))],
              0, addr)
    os.close(w)
    select.select([r], [], [], 10)  # readable (end of file) once tend let go of w
    os._exit(0)
os.wait()
print("sent", flush=True)
time.sleep(3600)
