#!/usr/bin/python3
"""Writes argv[2] numbered lines tagged argv[1] to stdout as fast as it can, then sleeps."""
import os
import sys
import time

tag, count = sys.argv[1], int(sys.argv[2])
out = os.fdopen(1, "w", buffering=1 << 16)
for i in range(count):
    out.write(f"{tag} line {i:06d} {'x' * 40}\n")
out.flush()
time.sleep(3600)
