#!/usr/bin/python3
"""Writes one line of argv[1] bytes (digits, so pieces can be checked), then 'after'."""
import os
import sys
import time

n = int(sys.argv[1])
digits = b"0123456789" * (n // 10 + 1)
os.write(1, digits[:n] + b"\nafter\n")
time.sleep(3600)
