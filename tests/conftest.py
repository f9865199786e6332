"""Shared helpers for tend's black-box tests.

Tests run the real binaries. `Tend` starts tend as PID 1 of a fresh PID namespace
(`unshare --pid --fork --mount-proc`), exactly as a container runs it, collects
its output, and kills the whole namespace when the test ends, whatever happened.
Every wait has a deadline; nothing sleeps a fixed time.
"""
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build/release"))
TEND = os.path.join(BUILD, "tend")
TENDCTL = os.path.join(BUILD, "tendctl")
CORPUS = os.path.join(ROOT, "tests", "corpus", "supervisord")
SHARED_CORPUS = os.path.join(ROOT, "..", "shared", "corpus", "supervisord")
# Sanitizer builds are slower: scale every deadline. Their memory use says nothing
# of tend's (ASan keeps freed blocks in quarantine): memory bounds are checked on
# the release build.
SANITIZED = "asan" in BUILD
TOOL = "memcheck-amd64-linux"  # what /proc/PID/exe says under make check-valgrind
SLOW = float(os.environ.get("TEND_TEST_SLOWDOWN", "3" if SANITIZED else "1"))


def pytest_configure(config):
    config.addinivalue_line("markers", "native: measures tend's own process (memory, "
                            "wake-ups, speed): left out under valgrind (make check-valgrind)")


def wait_for(cond, timeout=10.0, interval=0.02, what="condition"):
    """Polls cond() until it returns something truthy, or fails after timeout seconds."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout * SLOW:.1f}s waiting for {what}")
        time.sleep(interval)


def wait_count(count, target, stall=30.0, what="events"):
    """Polls count() until it reaches target. A long run is bound by progress, not by
    a total: forks are ten times slower on some machines than on others, and what
    these tests look for is tend going on. Fails when the count stands still for
    stall seconds, and says how far it got."""
    start = time.monotonic()
    last, moved = count(), start
    while last < target:
        time.sleep(0.5)
        now, n = time.monotonic(), count()
        if n > last:
            last, moved = n, now
        elif now - moved > stall * SLOW:
            raise AssertionError(f"{what}: stuck at {n} of {target} for {stall * SLOW:.0f}s, "
                                 f"{now - start:.0f}s in")
    return time.monotonic() - start


def ephemeral_low():
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        return int(f.read().split()[0])


def free_ports(n=1):
    """A base port with n consecutive free TCP ports, from 20000 up to the start of the
    kernel's ephemeral range (a port there may be taken by any outgoing connection)."""
    top = ephemeral_low() - n
    for _ in range(500):
        base = random.randrange(20000, top if top > 20001 else 30000)
        socks = []
        try:
            for p in range(base, base + n):
                t = socket.socket()
                t.bind(("127.0.0.1", p))
                socks.append(t)
            return base
        except OSError:
            continue
        finally:
            for t in socks:
                t.close()
    raise RuntimeError("no free port range")


def proc_status(pid):
    """/proc/PID/status as a dict, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    except (FileNotFoundError, ProcessLookupError):
        return None


def pid_ns(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class Tend:
    """tend running as PID 1 of its own PID namespace (or plainly, with pid1=False)."""

    def __init__(self, args, cwd=None, env=None, pid1=True, stdin=subprocess.DEVNULL,
                 stdout=subprocess.PIPE, wrap=(), binary=None):
        cmd = list(wrap) + [binary or TEND] + list(args)  # wrap: e.g. setpriv, to run as a user
        if pid1:
            cmd = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] + cmd
        self.lines = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.outer = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=stdin, stdout=stdout,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self.reader = None
        if stdout == subprocess.PIPE:
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
        self.pid = self.outer.pid
        if pid1:  # tend is unshare's child; a short-lived one may be gone already
            self.pid = wait_for(lambda: (children(self.outer.pid) or [None])[0]
                                or (self.outer.poll() is not None and -1), 5, what="tend to start")
            if wrap:  # setpriv execs tend in place: same pid, wait for the exec
                wait_for(lambda: self.outer.poll() is not None or os.path.basename(
                         os.readlink(f"/proc/{self.pid}/exe")) in ("tend", TOOL), 5)
        self.ns = pid_ns(self.pid) if pid1 and self.pid > 0 else None

    def _read(self):
        for raw in self.outer.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def output(self):
        with self.lock:
            return "\n".join(self.lines)

    def wait_line(self, pattern, timeout=10.0, start=0):
        """The first output line (from index start) matching the regex pattern."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * SLOW
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    if rx.search(self.lines[i]):
                        return self.lines[i]
                left = deadline - time.monotonic()
                if left <= 0 or (self.outer.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError(
                        f"no line matching {pattern!r} within {timeout * SLOW:.1f}s; output:\n"
                        + "\n".join(self.lines[-60:]))
                self.cond.wait(min(left, 0.2))

    def count(self, pattern):
        rx = re.compile(pattern)
        with self.lock:
            return sum(1 for line in self.lines if rx.search(line))

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait(self, timeout=20.0):
        """tend's exit status (the namespace's init status, as unshare passes it on)."""
        rc = self.outer.wait(timeout * SLOW)
        if self.reader:
            self.reader.join(5)
        return rc

    def ns_pids(self):
        """Host pids of every process in tend's PID namespace, tend included."""
        found = []
        for entry in os.listdir("/proc"):
            if self.ns and entry.isdigit() and pid_ns(int(entry)) == self.ns:
                found.append(int(entry))
        return found

    def descendants(self):
        """Host pids below tend (its children, theirs, ...)."""
        out, todo = [], [self.pid]
        while todo:
            kids = children(todo.pop())
            out += kids
            todo += kids
        return out

    def kill(self):
        if self.outer.poll() is None:
            # outside a namespace, tend's children (in process groups of their own)
            # would outlive it: they go first
            for pid in [] if self.ns else self.descendants():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.killpg(self.outer.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.outer.wait(10)


@pytest.fixture
def tend_run():
    """Starts tend (as PID 1 unless pid1=False); everything it started dies with the test."""
    started = []

    def start(*args, **kw):
        t = Tend(*args, **kw)
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


def run(args, **kw):
    """Runs a binary to completion; returns CompletedProcess with text output."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 30 * SLOW)
    return subprocess.run(args, **kw)


def static_libs_missing():
    """Why `make static` cannot link here, or None."""
    def libdir(pkg):
        r = run(["pkg-config", "--variable=libdir", pkg])
        return r.stdout.strip() if r.returncode == 0 else None
    try:
        libc = run(["cc", "-print-file-name=libc.a"]).stdout.strip()
        uv, inih = libdir("libuv-static"), libdir("inih")
    except FileNotFoundError as e:
        return f"no {e.filename} here"
    for path, pkg in ((libc, "libc6-dev"), (uv and os.path.join(uv, "libuv_a.a"), "libuv1-dev"),
                      (inih and os.path.join(inih, "libinih.a"), "libinih-dev")):
        if not path or not os.path.isabs(path) or not os.path.exists(path):
            return f"no static library from {pkg} ({path or 'pkg-config does not know it'})"
    return None


def tend_check(path, *extra, **kw):
    return run([TEND, "check", "-c", str(path), *extra], **kw)
