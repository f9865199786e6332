#!/usr/bin/python3
"""Listens on 127.0.0.1:PORT (argv[1]) and sleeps: a process holding a port.
With --orphan it forks, the child listens and the parent exits at once: the
listener is then nobody's descendant (reparented to init)."""
import os
import socket
import sys
import time

port = int(sys.argv[1])
if "--orphan" in sys.argv and os.fork() > 0:
    os._exit(0)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(16)
print(f"listening on {port}", flush=True)
while True:
    time.sleep(1000)
