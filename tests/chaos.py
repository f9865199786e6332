#!/usr/bin/python3
"""Model-based chaos test for tend.

tend runs as PID 1 of a fresh PID namespace (the ASan/UBSan build unless BUILD says
otherwise) with nginx in front of Node.js workers and a handful of programs that
misbehave on purpose. A seeded random sequence of every tendctl command, process
kills, SIGSTOP/SIGCONT, nginx master kills, a failing `nginx -t`, config reloads
(some broken) and tail -f readers that stall or vanish runs against it, 1-3
commands at a time so that they race. A model keeps what the commands asked for
(each process wanted up, down or gone); invariants are checked after every step
and at the end, once everything has settled.

    tests/chaos.py [--seeds N] [--steps N] [--seed S ...] [--build DIR]

A failure prints the seed, the step, the last operations and tend's output; the
same sequence runs again with --seed S (make chaos SEED=S). The random choices
depend on the seed alone, never on what tend did, so a replay asks the same
things in the same order (the timing, and so the races, may differ).
"""
import argparse
import collections
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if __name__ == "__main__":  # the build to test is chosen before conftest reads BUILD
    os.environ.setdefault("BUILD", "build/asan")
sys.path.insert(0, HERE)
import conftest  # noqa: E402
from conftest import Tend, children, free_ports, proc_status  # noqa: E402

WORKER = os.path.join(ROOT, "examples", "worker.js")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PY = "/usr/bin/python3"
# a smaller quarantine than ASan's 256 MB, so that tend's RSS says something of the
# memory it holds: a use after free found here comes soon after the free
SANITIZER_ENV = {"ASAN_OPTIONS": "abort_on_error=1:detect_leaks=1:quarantine_size_mb=64",
                 "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|"
                              r"Sanitizer:DEADLYSIGNAL|SUMMARY: \w+Sanitizer")

# ---- deadlines (seconds) ----
QUICK = 10 if conftest.SANITIZED else 5  # status, health, pid, tail -n, nginx, signal, reload
# A command that waits may take, per process: nginx's drain (35), stopwaitsecs (at
# most 5 here), SIGKILL's 5, and becoming ready (web's ready_timeout, 15); a rolling
# restart the sum over its processes. Then some slack for a loaded machine.
PER_PROCESS = 35 + 5 + 5 + 15
WAITS = PER_PROCESS + 20                 # start, stop, restart, scale
SETTLE = 90                              # the end: everything where the model says
RELOAD_WINDOW = 30                       # a reload's rollout goes on after its reply

# ---- the world: programs, names, the config ----

WEB_MAX = PLAIN_MAX = 4
ROLLING = WEB_MAX * PER_PROCESS + 20     # one process at a time, each drained through nginx
WEB = [f"web_{i:02d}" for i in range(WEB_MAX)]
PLAIN = [f"plain_{i:02d}" for i in range(PLAIN_MAX)]
SINGLES = ["flappy", "stubborn", "noexec", "noisy", "nginx"]
UNIVERSE = WEB + PLAIN + SINGLES
PROGRAMS = {"web": WEB, "plain": PLAIN, **{s: [s] for s in SINGLES}}
AUTOSTART = set(UNIVERSE) - {"noexec"}

SCRIPTS = {
    "flappy.py": """import random, sys, time
time.sleep(random.uniform(0.3, 1.5))
sys.exit(1)
""",
    "stubborn.py": """import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(3600)
""",
    "noisy.py": """import sys, time
i = 0
while True:
    sys.stdout.write("".join(f"noisy {i + k:09d} {'x' * 40}\\n" for k in range(200)))
    sys.stdout.flush()
    i += 200
    time.sleep(0.02)
""",
}

# nginx -t fails while the flag file exists; nginx itself runs as usual
NGINX_WRAPPER = """#!/bin/sh
for a in "$@"; do
    if [ "$a" = -t ] && [ -e {flag} ]; then
        echo "nginx: [emerg] chaos: nginx -t refused while {flag} exists" >&2
        exit 1
    fi
done
exec {nginx} "$@"
"""

BROKEN = [  # (a line that is an error where it stands, in [program:web])
    "numprocs = many",
    "startsecs = soon",
    "autostart = perhaps",
    "[prgram:oops]",
]


class Config:
    """What tend.ini says: the parts a reload changes."""

    def __init__(self, web_n=3, plain_n=2, gen=1, noisy_gen=1, broken=None, health=True):
        self.web_n, self.plain_n, self.gen, self.noisy_gen, self.broken, self.health = (
            web_n, plain_n, gen, noisy_gen, broken, health)

    def replace(self, **kw):
        c = Config(self.web_n, self.plain_n, self.gen, self.noisy_gen, None, self.health)
        for k, v in kw.items():
            setattr(c, k, v)
        return c

    def numprocs(self, program):
        return {"web": self.web_n, "plain": self.plain_n}.get(program, 1)

    def render(self, d, base, listen, ready):
        """The file's text, and the line number of the broken line if any."""
        # liveness checks (a frozen worker is restarted by them); a reload that changes
        # only these restarts nothing
        web_health = ("health = http:/health\nhealth_interval = 1s\nhealth_timeout = 1s\n"
                      "health_failures = 2\n" if self.health else "")
        plain_health = "health = exec:/bin/true\nhealth_interval = 1s\n" if self.health else ""
        text = f"""[tend]
loglevel = info
socket = {d}/tend.sock
shutdown_timeout = 30s

[program:web]
command = node {WORKER}
process_name = %(program_name)s_%(process_num)02d
numprocs = {self.web_n}
port = {base}
ready = {ready}
ready_timeout = 15s
{web_health}stopwaitsecs = 3
environment = GEN={self.gen}
"""
        line = None
        if self.broken:
            line = text.count("\n") + 1
            text += self.broken + "\n"
        text += f"""
[program:plain]
command = sleep 100000
process_name = %(program_name)s_%(process_num)02d
numprocs = {self.plain_n}
startsecs = 0.2
{plain_health}stopwaitsecs = 3

[program:flappy]
command = {PY} {d}/flappy.py
startsecs = 0.2
restart_delay = 100ms
restart_delay_max = 1s

[program:stubborn]
command = {PY} {d}/stubborn.py
startsecs = 0.2
stopwaitsecs = 1

[program:noexec]
command = {d}/no-such-program
autostart = false

[program:noisy]
command = {PY} {d}/noisy.py
environment = NOISY_GEN={self.noisy_gen}
stdout_logfile = NONE
startsecs = 0.2
stopwaitsecs = 3

[program:nginx]
command = {d}/nginx-wrapper -c {d}/run/nginx.conf -g 'daemon off;'
stopsignal = QUIT
autorestart = true
depends_on = web
stopwaitsecs = 5

[nginx]
upstream = web
listen = 127.0.0.1:{listen}
config = {d}/run/nginx.conf
access_log = off
"""
        return text, line


# ---- the model: what the commands asked for ----

UP, DOWN, GONE = "up", "down", "gone"


class Model:
    """Per process name, the set of what it may be wanted as (up, down, gone): one
    value where the commands leave no doubt, more where they raced. `linger` names
    a reload removed that may still answer to their name until the reload's rollout
    reaches them. `hits` counts what the harness did to each process since a
    command last (re)started it: a process ends FATAL only after startretries + 1
    failed starts, and each failed start needs one of these."""

    def __init__(self, config):
        self.config = config
        self.want = {n: frozenset([GONE]) for n in UNIVERSE}
        for p in ("web", "plain"):
            for i in range(config.numprocs(p)):
                self.want[PROGRAMS[p][i]] = frozenset([UP])
        for s in SINGLES:
            self.want[s] = frozenset([UP if s in AUTOSTART else DOWN])
        self.linger = set()
        self.hits = collections.Counter()

    def copy(self):
        m = Model.__new__(Model)
        m.config, m.want, m.linger, m.hits = self.config, dict(self.want), set(self.linger), \
            collections.Counter(self.hits)
        return m

    @staticmethod
    def union(models):
        m = models[0].copy()
        for o in models[1:]:
            for n in UNIVERSE:
                m.want[n] = m.want[n] | o.want[n]
            m.linger |= o.linger
            for n in UNIVERSE:
                m.hits[n] = max(m.hits[n], o.hits[n])
        return m

    # -- names --

    def expand(self, name):
        """The universe names a tendctl NAME may cover."""
        if name == "all":
            return list(UNIVERSE)
        if name.endswith(":*"):
            name = name[:-2]
        return list(PROGRAMS.get(name, [name] if name in UNIVERSE else []))

    def may_exist(self, n):
        return bool(self.want[n] - {GONE}) or n in self.linger

    def must_exist(self, n):
        return GONE not in self.want[n]

    def resolves(self, names):
        """{True, False}: whether tend may find every name (else exit 4)."""
        may, must = True, True
        for name in names:
            covered = self.expand(name)
            may &= any(self.may_exist(n) for n in covered)
            must &= any(self.must_exist(n) for n in covered)
        return {v for v, ok in ((True, may), (False, not must)) if ok}

    def count(self, program):
        """How many processes a program may have: (least, most)."""
        names = PROGRAMS[program]
        return (sum(self.must_exist(n) for n in names), sum(self.may_exist(n) for n in names))

    # -- what commands do --

    def _set(self, names, fn):
        for n in names:
            self.want[n] = frozenset(v2 for v in self.want[n] for v2 in fn(v))

    def start(self, names):
        self._set(self._covered(names), lambda v: [GONE] if v == GONE else [UP])
        self._restarted(names)

    def stop(self, names):
        self._set(self._covered(names), lambda v: [GONE] if v == GONE else [DOWN])

    def rolling(self, ok):
        self._set(WEB, lambda v: [GONE] if v == GONE else ([UP] if ok else [v, UP]))
        if ok:
            self._restarted(["web"])

    def scale(self, program, n, certain=True):
        """certain: it ended with 0. Racing a start or restart, a removal may be
        overruled (tendctl(1): the later command wins, the scale ends with 1)."""
        for i, name in enumerate(PROGRAMS[program]):
            if i < n:
                self._set([name], lambda v: [UP] if v == GONE else [v])
            elif certain:
                self.want[name] = frozenset([GONE])
            else:
                self.want[name] = self.want[name] | {GONE, UP}
            self.linger.discard(name)
            if i < n and self.want[name] == {UP}:
                self.hits[name] = 0

    def reload(self, new):
        old, self.config = self.config, new
        for program in ("web", "plain"):
            n = new.numprocs(program)
            for i, name in enumerate(PROGRAMS[program]):
                if i >= n:
                    if self.may_exist(name) and program == "web":
                        self.linger.add(name)  # held for the rollout, drained first
                    self.want[name] = frozenset([GONE])
                    continue
                self.linger.discard(name)
                restart = program == "web" and new.gen != old.gen
                self._set([name], lambda v: [UP] if v == GONE or restart else [v])
        if new.noisy_gen != old.noisy_gen:  # a changed program starts afresh
            self.want["noisy"] = frozenset([UP])
        if new.gen != old.gen:
            self._restarted(["web"])
        if new.noisy_gen != old.noisy_gen:
            self._restarted(["noisy"])

    def hit(self, name):
        self.hits[name] += 1

    def _covered(self, names):
        return sorted({n for name in names for n in self.expand(name)})

    def _restarted(self, names):
        for n in self._covered(names):
            self.hits[n] = 0

    # -- what the end state may be --

    def states(self, name):
        """The states tend may show for name once settled ("gone": not listed)."""
        fatal_ok = name in ("flappy", "noexec") or self.hits[name] >= 4
        out = set()
        for v in self.want[name]:
            if v == GONE:
                out.add("gone")
            elif v == DOWN:
                out |= {"STOPPED"} | ({"FATAL"} if fatal_ok else set())
            elif name == "noexec":
                out.add("FATAL")
            elif name == "flappy":
                out |= {"RUNNING", "BACKOFF", "STARTING", "FATAL"}
            else:
                out |= {"RUNNING"} | ({"FATAL"} if fatal_ok else set())
        return out


# ---- running tendctl ----

class Result:
    def __init__(self, rc, out="", err="", dt=0.0):
        self.rc, self.out, self.err, self.dt = rc, out, err, dt

    def __repr__(self):
        return f"rc={self.rc} {self.dt:.1f}s"


def tendctl(sock, args, deadline):
    t0 = time.monotonic()
    try:
        r = subprocess.run([conftest.TENDCTL, "-s", sock, *args], capture_output=True, text=True,
                           timeout=deadline, errors="replace")
        return Result(r.returncode, r.stdout, r.stderr, time.monotonic() - t0)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode("utf-8", "replace") if isinstance(e.stdout, bytes) else e.stdout or ""
        return Result("TIMEOUT", out, "", time.monotonic() - t0)


class Failure(Exception):
    pass


# ---- operations ----
#
# An operation is planned from the random generator alone (so a seed replays the
# same sequence), runs (a tendctl command, or something done to a process), then
# is judged: its exit code against what tendctl(1) documents and the model allows,
# and its effect on the model.

class Op:
    kind = "?"
    changes = False     # whether it changes what is wanted (the model)
    deadline = QUICK

    def __init__(self, chaos, rng):
        self.c = chaos
        self.result = None
        self.note = ""
        self.plan(rng)

    def plan(self, rng):
        pass

    def touches(self):
        """The universe names it acts on (for racing)."""
        return set()

    def disturbs(self):
        """Whether it changes processes (so that a command on them races it)."""
        return self.changes

    def run(self):
        self.result = tendctl(self.c.sock, self.args, self.deadline)

    def expect(self, model, racing):
        return {0}

    def check(self, model):
        """Extra checks of the reply's content; returns a complaint or None."""
        return None

    def apply(self, model):
        pass

    def certain(self):
        """Whether its effect is known: not when it gave up waiting, or was given up on."""
        return self.result.rc != "TIMEOUT"

    def describe(self):
        return "tendctl " + " ".join(self.args)


def pick_names(rng, k_max=2, extra=()):
    pool = UNIVERSE + ["flappy", "web", "plain", "web:*", "all"] + list(extra)
    k = 1 if rng.random() < 0.7 else rng.randint(1, k_max)
    names = []
    for _ in range(k):
        n = rng.choice(pool)
        if n not in names:
            names.append(n)
    return names


def with_no_such(model, names, codes):
    """Adds or forces 4 where a name may not be found."""
    found = model.resolves(names)
    if found == {False}:
        return {4}
    return codes | ({4} if False in found else set())


class NamesOp(Op):
    changes = True
    deadline = WAITS

    def plan(self, rng):
        self.names = pick_names(rng, extra=["no_such"] if rng.random() < 0.05 else ())
        if "no_such" in self.names:
            self.names = ["no_such"]
        self.args = [self.kind, *self.names]

    def touches(self):
        return {n for name in self.names for n in self.c.model.expand(name)}

    def found(self):
        return self.result.rc != 4


class Start(NamesOp):
    kind = "start"

    def check(self, model):
        if re.search(r"still RUNNING: gave up", self.result.err):
            return "it gave up waiting for a process that was RUNNING"

    def expect(self, model, racing):
        covered = {n for name in self.names for n in model.expand(name)}
        live = {n for n in covered if model.may_exist(n)}
        if "noexec" in live and model.must_exist("noexec"):
            codes = {1}
        elif racing or "flappy" in live or "noexec" in live:
            codes = {0, 1}
        else:
            codes = {0}
        return with_no_such(model, self.names, codes)

    def apply(self, model):
        if self.found():
            model.start(self.names)


class Stop(NamesOp):
    kind = "stop"

    def expect(self, model, racing):
        # racing a start, a stop may find its process started again: tendctl(1) of
        # newer tends says it then ends, with 1
        return with_no_such(model, self.names, {0, 1} if racing else {0})

    def certain(self):
        return self.result.rc in (0, 4)

    def apply(self, model):
        if self.found():
            model.stop(self.names)


class Restart(Start):
    kind = "restart"


class Rolling(Op):
    kind = "restart --rolling"
    changes = True
    deadline = ROLLING

    def plan(self, rng):
        self.args = ["restart", "--rolling", "web"]

    def touches(self):
        return set(WEB) | {"nginx"}

    def expect(self, model, racing):
        return with_no_such(model, ["web"], {0, 1} if racing else {0})

    def apply(self, model):
        if self.result.rc != 4:
            model.rolling(self.result.rc == 0)


class Scale(Op):
    kind = "scale"
    changes = True
    deadline = WAITS

    def plan(self, rng):
        self.program = rng.choice(["web", "plain"])
        self.n = rng.randint(0, 4)
        self.args = ["scale", f"{self.program}={self.n}"]

    def touches(self):
        return set(PROGRAMS[self.program]) | ({"nginx"} if self.program == "web" else set())

    def expect(self, model, racing):
        return {0, 1} if racing else {0}

    def check(self, model):
        if self.result.rc in (0, 1) and not re.match(rf"{self.program}: \d+ -> {self.n} processes",
                                                     self.result.out):
            return f"scale said {self.result.out!r}"

    def apply(self, model):
        model.scale(self.program, self.n, certain=self.result.rc == 0)


class Reload(Op):
    """Rewrites tend.ini (a changed worker env var, numprocs, or a broken line),
    then tendctl reload."""
    kind = "reload"
    changes = True

    def plan(self, rng):
        old = self.c.planned_config
        kw = {}
        if rng.random() < 0.4:
            kw["gen"] = old.gen + 1
        if rng.random() < 0.4:
            kw["web_n"] = rng.randint(2, 4)
        if rng.random() < 0.3:
            kw["plain_n"] = rng.randint(1, 3)
        if rng.random() < 0.15:
            kw["noisy_gen"] = old.noisy_gen + 1
        if rng.random() < 0.2:
            kw["broken"] = rng.choice(BROKEN)
        if rng.random() < 0.2:
            kw["health"] = not old.health
        self.new = old.replace(**kw)
        if not self.new.broken:
            self.c.planned_config = self.new
        self.args = ["reload"]

    def touches(self):
        return set(UNIVERSE)

    def run(self):
        self.line = self.c.write_config(self.new)
        super().run()

    def expect(self, model, racing):
        return {1} if self.new.broken else {0}

    def check(self, model):
        r = self.result
        if self.new.broken:
            where = f"{self.c.ini}:{self.line}: error: "
            if not r.err.startswith(where):
                return f"a broken config should be reported as {where!r}..., got {r.err!r}"
        elif r.rc == 0 and not re.search(r"^reloaded .*: \d+ added, \d+ removed, \d+ restarted",
                                         r.out, re.M):  # after the change list
            return f"reload said {r.out!r}"

    def apply(self, model):
        if self.result.rc == 0:
            model.reload(self.new)
            self.c.reloaded_at = time.monotonic()

    def describe(self):
        what = (f"broken: {self.new.broken!r}" if self.new.broken else
                f"web={self.new.web_n} plain={self.new.plain_n} GEN={self.new.gen} "
                f"NOISY_GEN={self.new.noisy_gen} health={self.new.health}")
        return f"tendctl reload ({what})"


class Signal(Op):
    kind = "signal"

    def plan(self, rng):
        self.sig = rng.choice(["HUP", "CONT", "WINCH", "SIGUSR2", "15"])
        self.names = pick_names(rng, 1)
        if self.sig in ("SIGUSR2", "15"):  # node and nginx would exit, or upgrade: plain only
            self.names = [rng.choice(PLAIN + ["plain", "stubborn"])]
        self.args = ["signal", self.sig, *self.names]

    def touches(self):
        return {n for name in self.names for n in self.c.model.expand(name)}

    def disturbs(self):
        return self.sig not in ("CONT", "WINCH")

    def expect(self, model, racing):
        return with_no_such(model, self.names, {0, 1})

    def check(self, model):
        r = self.result
        if r.rc == 1 and not re.search(r": (not running|No such process)", r.err):
            return "exit 1 without a process that was not running"
        if r.rc == 0 and r.err:
            return f"exit 0 with errors: {r.err!r}"

    def apply(self, model):
        if self.result.rc != 4 and self.disturbs():
            for n in self.touches():
                model.hit(n)


class Status(Op):
    kind = "status"

    def touches(self):
        return {n for name in self.names or ["all"] for n in self.c.model.expand(name)}

    def plan(self, rng):
        self.json = rng.random() < 0.5
        self.names = pick_names(rng, 2) if rng.random() < 0.6 else []
        self.args = ["status", *(["--json"] if self.json else []), *self.names]

    def expect(self, model, racing):
        return with_no_such(model, self.names, {0, 3}) if self.names else {0, 3}

    def check(self, model):
        r = self.result
        if r.rc not in (0, 3):
            return None
        if self.json:
            try:
                rows = json.loads(r.out)
            except ValueError:
                return f"status --json is not JSON: {r.out[:200]!r}"
            states = [p["state"] for p in rows]
            if any(p["ready"] != (p["state"] == "RUNNING") for p in rows):
                return "ready disagrees with state"
        else:
            lines = r.out.splitlines()
            if not lines or not lines[0].startswith("NAME"):
                return f"no header: {r.out[:200]!r}"
            states = [ln.split()[1] for ln in lines[1:] if ln.strip() and not ln.startswith("nginx: ")]
        if not states:
            return "no process listed"
        if (r.rc == 0) != all(s == "RUNNING" for s in states):
            return f"exit {r.rc} but states {states}"
        bad = [s for s in states if s not in STATES]
        if bad:
            return f"unknown states {bad}"


STATES = {"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL"}


class Health(Op):
    kind = "health"

    def plan(self, rng):
        self.args = ["health"]

    def expect(self, model, racing):
        return {0, 3}

    def check(self, model):
        r = self.result
        if r.rc == 0 and r.out != "ok\n":
            return f"exit 0 but {r.out!r}"
        if r.rc == 3:
            listed = [ln.split(":")[0] for ln in r.out.splitlines()]
            if not listed or "ok" in listed:
                return f"exit 3 but {r.out!r}"
            if "noexec" in listed:
                return "health counts noexec, which is autostart = false"


class Pid(Op):
    kind = "pid"

    def touches(self):
        return {n for name in self.names for n in self.c.model.expand(name)}

    def plan(self, rng):
        self.names = pick_names(rng, 2) if rng.random() < 0.8 else []
        self.args = ["pid", *self.names]

    def expect(self, model, racing):
        return with_no_such(model, self.names, {0, 3}) if self.names else {0}

    def check(self, model):
        r = self.result
        if r.rc not in (0, 3):
            return None
        pids = r.out.split()
        if not self.names:
            return None if pids == ["1"] else f"tend's pid as PID 1 should be 1: {r.out!r}"
        if not all(p.isdigit() for p in pids) or not pids:
            return f"not pids: {r.out!r}"
        if (r.rc == 3) != ("0" in pids):
            return f"exit {r.rc} with pids {pids}"


class Tail(Op):
    kind = "tail"

    def touches(self):
        return set(self.c.model.expand(self.name))

    def plan(self, rng):
        self.name = rng.choice(UNIVERSE + ["web", "plain", "noisy", "noisy"])
        self.n = rng.choice([0, 1, 5, 50, 1000])
        self.stream = rng.choice([[], ["stdout"], ["stderr"]])
        self.args = ["tail", "-n", str(self.n), self.name, *self.stream]

    def expect(self, model, racing):
        lo, hi = (model.count(self.name) if self.name in ("web", "plain")
                  else ((1, 1) if model.must_exist(self.name) else (0, int(model.may_exist(self.name)))))
        codes = set()
        if lo <= 1 <= hi:
            codes.add(0)
        if hi > 1:
            codes.add(2)
        if lo == 0:
            codes.add(4)
        return codes

    def check(self, model):
        r = self.result
        if r.rc == 0 and self.name == "noisy" and not self.stream and self.n:
            lines = r.out.splitlines()
            if len(lines) > self.n or any(not ln.startswith("noisy ") for ln in lines):
                return f"tail -n {self.n} noisy gave {len(lines)} lines, e.g. {lines[:1]!r}"


class NginxConf(Op):
    kind = "nginx"

    def plan(self, rng):
        self.args = ["nginx"]

    def check(self, model):
        if self.result.rc == 0 and "upstream web" not in self.result.out:
            return "no upstream in nginx's config"


# -- done to processes, not through tendctl --

class ProcessOp(Op):
    """Something done to a supervised process by its name; nothing when it has none."""
    deadline = 0

    def plan(self, rng):
        self.name = rng.choice(self.targets())

    def targets(self):
        return UNIVERSE

    def touches(self):
        return {self.name}

    def disturbs(self):
        return True

    def run(self):
        pid = self.c.supervised().get(self.name)
        self.note = f"pid {pid}" if pid else "not running"
        if pid:
            self.act(pid)
        self.result = Result(0)

    def expect(self, model, racing):
        return {0}

    def describe(self):
        return f"{self.kind} {self.name} ({self.note})"


class Kill9(ProcessOp):
    kind = "kill -9"

    def act(self, pid):
        self.c.kill(pid, signal.SIGKILL)

    def apply(self, model):
        if self.note != "not running":
            model.hit(self.name)


class KillNginx(Kill9):
    kind = "kill -9 nginx master"

    def targets(self):
        return ["nginx"]

    def touches(self):
        return {"nginx"} | set(WEB)  # drains go through it


class Freeze(ProcessOp):
    """SIGSTOP; SIGCONT comes a few steps later."""
    kind = "kill -STOP"

    def plan(self, rng):
        super().plan(rng)
        self.thaw_after = rng.randint(1, 4)

    def act(self, pid):
        self.c.kill(pid, signal.SIGSTOP)
        self.c.frozen[pid] = (self.name, self.c.step + self.thaw_after)

    def apply(self, model):
        if self.note != "not running":
            model.hit(self.name)


class Thaw(Op):
    kind = "kill -CONT"
    deadline = 0

    def run(self):
        thawed = self.c.thaw(all_of_them=True)
        self.note = ", ".join(thawed) or "nothing stopped"
        self.result = Result(0)

    def describe(self):
        return f"kill -CONT ({self.note})"


class NginxCheckFlag(Op):
    kind = "nginx -t fails"
    deadline = 0

    def plan(self, rng):
        self.on = rng.random() < 0.5

    def run(self):
        if self.on:
            open(self.c.flag, "w").close()
        elif os.path.exists(self.c.flag):
            os.unlink(self.c.flag)
        self.result = Result(0)

    def describe(self):
        return f"nginx -t {'fails from now' if self.on else 'passes from now'}"


class TailFollow(Op):
    """tail -f noisy with a reader that reads, stalls (SIGSTOP, or a raw socket that
    never reads) or vanishes (kill -9 after a random delay)."""
    kind = "tail -f"
    deadline = 0

    def plan(self, rng):
        self.how = rng.choice(["reads", "sigstop", "raw", "vanishes", "vanishes"])
        self.delay = rng.uniform(0, 1.5)
        self.lives = rng.randint(1, 40)  # steps, for those that stay
        self.name = rng.choice(["noisy", "noisy", "noisy", "flappy", "web_00", "plain_00"])

    def run(self):
        self.note = self.c.readers.add(self.how, self.name, self.delay, self.c.step + self.lives)
        self.result = Result(0)

    def describe(self):
        return f"tail -f {self.name}, a reader that {self.how} ({self.note})"


# (weight, operation): the mix of one step
OPERATIONS = [
    (8, Start), (8, Stop), (5, Restart), (3, Rolling), (7, Scale), (4, Reload),
    (3, Signal), (7, Status), (3, Health), (3, Pid), (3, Tail), (1, NginxConf),
    (4, Kill9), (1.5, KillNginx), (2, Freeze), (1, Thaw), (2, NginxCheckFlag), (3, TailFollow),
]


# ---- tail -f readers that live across steps ----

class Readers:
    MAX = 4

    def __init__(self, chaos):
        self.c = chaos
        self.live = []  # (how, object, expires at step)

    def add(self, how, name, delay, expires):
        if len(self.live) >= self.MAX:
            return "too many readers already: none"
        args = [conftest.TENDCTL, "-s", self.c.sock, "tail", "-f", name]
        if how == "raw":  # a client that never reads, with a small receive buffer
            s = socket.socket(socket.AF_UNIX)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            payload = b"".join(w.encode() + b"\0" for w in ("tail", "-f", name))
            try:
                s.connect(self.c.sock)
                s.sendall(b"TND1" + struct.pack(">I", len(payload)) + payload)
            except OSError as e:
                s.close()
                return f"cannot connect: {e}"
            self.live.append((how, s, expires))
            return "connected"
        out = subprocess.DEVNULL if how == "reads" else subprocess.PIPE  # PIPE: never read
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.PIPE, env=self.c.env)
        time.sleep(delay)
        if how == "vanishes":
            self.c.kill(p.pid, signal.SIGKILL)
            p.wait()
            p.stderr.close()
            return f"killed after {delay:.2f}s"
        if how == "sigstop":
            self.c.kill(p.pid, signal.SIGSTOP)
        self.live.append((how, p, expires))
        return f"pid {p.pid}"

    def expire(self, step=None):
        """Ends the readers whose time is up (all of them without a step); a tendctl
        that ended by itself must have ended cleanly."""
        keep, complaints = [], []
        for how, obj, expires in self.live:
            if step is not None and expires > step:
                if isinstance(obj, subprocess.Popen) and obj.poll() is not None:
                    complaints.append(self._ended(how, obj))
                    continue
                keep.append((how, obj, expires))
                continue
            if isinstance(obj, socket.socket):
                obj.close()
                continue
            if obj.poll() is not None:
                complaints.append(self._ended(how, obj))
                continue
            self.c.kill(obj.pid, signal.SIGKILL)
            obj.wait()
            for f in (obj.stdout, obj.stderr):
                if f:
                    f.close()
        self.live = keep
        return [c for c in complaints if c]

    def _ended(self, how, p):
        err = p.stderr.read().decode("utf-8", "replace") if p.stderr else ""
        for f in (p.stdout, p.stderr):
            if f:
                f.close()
        if p.returncode not in (0, 1, 4) or "ended before its answer" in err or \
                SANITIZER_REPORT.search(err):
            return f"tail -f reader ({how}) ended by itself: exit {p.returncode}: {err.strip()[:300]}"
        return None


# ---- one run ----

class Chaos:
    def __init__(self, seed, steps, out=sys.stdout, time_budget=None, verbose=False,
                 keep_going=False):
        self.seed, self.steps, self.out, self.verbose = seed, steps, out, verbose
        self.keep_going, self.failures = keep_going, []
        self.rss_max = 0
        self.last_zombies, self.last_zombie_check = set(), time.monotonic()
        self.budget = time_budget
        self.rng = random.Random(seed)
        self.history = collections.deque(maxlen=20)
        self.counts = collections.Counter()
        self.codes = collections.Counter()
        self.frozen = {}       # host pid -> (name, thaw at step)
        self.step = 0
        self.t = None
        self.reloaded_at = -1e9
        self.env = dict(os.environ, **SANITIZER_ENV)
        self.dir = tempfile.mkdtemp(prefix=f"tend-chaos-{seed}-")
        os.chmod(self.dir, 0o755)  # nginx's workers (nobody) read nothing here, but may look
        self.sock = os.path.join(self.dir, "tend.sock")
        self.ini = os.path.join(self.dir, "tend.ini")
        self.flag = os.path.join(self.dir, "nginx-t-fails")
        self.readers = Readers(self)

    def say(self, msg):
        print(msg, file=self.out, flush=True)

    # -- setup and teardown --

    def write_config(self, config):
        text, line = config.render(self.dir, self.base, self.listen, self.ready)
        tmp = self.ini + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.ini)
        return line

    def setup(self):
        for name, text in SCRIPTS.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        wrapper = os.path.join(self.dir, "nginx-wrapper")
        with open(wrapper, "w") as f:
            f.write(NGINX_WRAPPER.format(flag=self.flag, nginx=NGINX))
        os.chmod(wrapper, 0o755)
        self.base, self.listen = free_ports(8), free_ports(1)
        self.ready = self.rng.choice(["http:/health", "tcp"])
        self.planned_config = Config()
        self.model = Model(self.planned_config)
        self.write_config(self.planned_config)
        self.t = Tend(["-c", self.ini], env=self.env)
        self.say(f"chaos: seed {self.seed}: tend {self.t.pid} ({conftest.BUILD}), web ready by "
                 f"{self.ready}, ports {self.base}.., nginx on {self.listen}, in {self.dir}")
        conftest.wait_for(lambda: self.ctl("version").rc == 0, timeout=20,
                          what="tend's control socket")
        self.wait_settled("the first start", timeout=60)
        self.fds0, self.rss0 = self.fds(), self.rss()
        self.rss_max = self.rss0

    def cleanup(self):
        self.readers.expire()
        for pid in list(self.frozen):
            self.kill(pid, signal.SIGCONT)
        if self.t:
            self.t.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- looking at tend --

    def ctl(self, *args, deadline=QUICK):
        return tendctl(self.sock, list(args), deadline)

    def supervised(self):
        """name -> host pid of tend's children that run a program."""
        out = {}
        for pid in children(self.t.pid):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            for kv in env:
                if kv.startswith(b"SUPERVISOR_PROCESS_NAME="):
                    out[kv.split(b"=", 1)[1].decode()] = pid
        return out

    def kill(self, pid, sig):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def thaw(self, all_of_them=False):
        thawed = []
        for pid, (name, at) in list(self.frozen.items()):
            if all_of_them or at <= self.step:
                self.kill(pid, signal.SIGCONT)
                del self.frozen[pid]
                thawed.append(name)
        return thawed

    def fds(self):
        return len(os.listdir(f"/proc/{self.t.pid}/fd"))

    def rss(self):
        return int(proc_status(self.t.pid)["VmRSS"].split()[0]) // 1024  # MB

    def wakeups(self):
        st = proc_status(self.t.pid)
        if not st:
            raise Failure("tend is gone")
        return int(st["voluntary_ctxt_switches"]) + int(st["nonvoluntary_ctxt_switches"])

    def statuses(self):
        r = self.ctl("status", "--json")
        if r.rc not in (0, 3):
            raise Failure(f"status --json: {r} {r.err.strip()}")
        return {p["name"]: p for p in json.loads(r.out)}

    def zombies(self):
        found = set()
        for pid in self.t.ns_pids():
            st = proc_status(pid)
            if st and st.get("State", "").startswith("Z"):
                found.add((pid, st.get("Name")))
        return found

    # -- invariants --

    def tend_alive(self):
        report = self.sanitizer_report()
        if report:
            raise Failure("a sanitizer report in tend's output")
        st = proc_status(self.t.pid)
        if self.t.outer.poll() is not None or not st or st.get("State", "").startswith("Z"):
            raise Failure(f"tend is gone (exit {self.t.outer.poll()})")

    def sanitizer_report(self):
        """The first sanitizer report in tend's output, up to its summary."""
        lines = self.t.output().splitlines()
        for i, line in enumerate(lines):
            if SANITIZER_REPORT.search(line):
                end = next((j for j in range(i, len(lines)) if "SUMMARY:" in lines[j]), i + 60)
                return "\n".join(lines[max(0, i - 1):end + 1])
        return None

    def invariants(self, ops, racing):
        """After each step: tend alive and clean, every command back in time with a
        documented exit code the model allows, memory within bounds, no zombie that
        stays one."""
        self.tend_alive()
        for op, prior in ops:
            complaint = self.judge(op, prior, racing[op])
            if complaint:
                self.complain(complaint)
        for complaint in self.readers.expire(self.step):
            self.complain(complaint)
        rss = self.rss()
        self.rss_max = max(self.rss_max, rss)
        if rss > self.rss_bound():
            raise Failure(f"tend's RSS is {rss} MB (at the start {self.rss0} MB, bound "
                          f"{self.rss_bound()} MB)")
        z = self.zombies()
        lasting = z & self.last_zombies
        self.last_zombies = z
        if lasting and time.monotonic() - self.last_zombie_check > 2:
            raise Failure(f"zombies that stay: {sorted(lasting)}")
        if not lasting:
            self.last_zombie_check = time.monotonic()

    def judge(self, op, prior, racing):
        r = op.result
        if r.rc == "TIMEOUT":
            return f"{op.describe()}: no answer within {op.deadline}s"
        if r.rc == "HARNESS":
            raise Failure(f"{op.describe()}: the harness failed: {r.err}")
        if op.deadline == 0:
            return None
        if SANITIZER_REPORT.search(r.err) or "ended before its answer" in r.err:
            return f"{op.describe()}: {r.err.strip()[:2000]}"
        allowed = op.expect(prior, racing)
        if r.rc not in allowed:
            return (f"{op.describe()}: exit {r.rc}, expected {sorted(allowed)}"
                    f"{' (racing)' if racing else ''}\n  stdout: {r.out.strip()[:600]!r}"
                    f"\n  stderr: {r.err.strip()[:600]!r}")
        complaint = op.check(prior)
        return f"{op.describe()}: {complaint}" if complaint else None

    def complain(self, why):
        """A command that went wrong: the end of the run, or (--keep-going) noted."""
        if not self.keep_going:
            raise Failure(why)
        self.report(why)

    def rss_bound(self):
        return max(4 * self.rss0, 300) if conftest.SANITIZED else self.rss0 + 64

    # -- the steps --

    def plan_step(self):
        k = self.rng.choice([1, 1, 2, 2, 3])
        weights = [w for w, _ in OPERATIONS]
        ops, reload = [], False
        for _ in range(k):
            cls = self.rng.choices([c for _, c in OPERATIONS], weights)[0]
            if cls is Reload and reload:  # one writer of tend.ini at a time
                cls = Status
            reload |= cls is Reload
            ops.append(cls(self, self.rng))
        return ops

    @staticmethod
    def run_op(op):
        try:
            op.run()
        except Exception as e:  # the harness's own trouble: said as such
            op.result = Result("HARNESS", err=f"{type(e).__name__}: {e}")

    def racing(self, ops, started):
        """Per operation: whether something else in the step, a stopped process, or a
        reload's rollout may change the processes it acts on meanwhile."""
        frozen = {name for name, _ in self.frozen.values()}
        recent = started - self.reloaded_at < RELOAD_WINDOW
        out = {}
        for op in ops:
            mine = op.touches()
            others = set().union(*[o.touches() for o in ops if o is not op and o.disturbs()])
            out[op] = bool(mine & (others | frozen)) or (recent and bool(mine & set(WEB)))
        return out

    def run_step(self):
        self.thaw()
        ops = self.plan_step()
        prior, started = self.model.copy(), time.monotonic()
        threads = [threading.Thread(target=self.run_op, args=(op,)) for op in ops]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        racing = self.racing(ops, started)
        for op in ops:
            self.counts[op.kind] += 1
            if op.deadline:
                self.codes[(op.kind, op.result.rc)] += 1
            self.history.append(f"step {self.step}: {op.describe()} -> {op.result}"
                                + (f" {op.result.err.strip()[:160]!r}" if op.result.err.strip() else ""))
            if self.verbose:
                self.say(self.history[-1])
        self.model = self.apply(prior, [op for op in ops if op.changes or op.disturbs()])
        # a command racing another is judged against every state the step went through
        loose = Model.union([prior, self.model])
        self.invariants([(op, loose if racing[op] else prior) for op in ops], racing)

    def apply(self, prior, ops):
        """The model after the step: every order the commands may have taken effect in."""
        outcomes = []
        for order in itertools.permutations(ops):
            models = [prior.copy()]
            for op in order:
                for m in list(models):
                    if not op.certain():  # it may have done its part, or not
                        models.append(m.copy())
                    op.apply(m)
            outcomes += models
        return Model.union(outcomes) if outcomes else prior

    # -- the end --

    def mismatches(self, st):
        bad = []
        for n in UNIVERSE:
            now = st[n]["state"] if n in st else "gone"
            if now not in self.model.states(n):
                bad.append(f"{n}: {now}, the model says {'/'.join(sorted(self.model.want[n]))} "
                           f"({'/'.join(sorted(self.model.states(n)))})")
        return bad

    def wait_settled(self, what, timeout=SETTLE):
        deadline = time.monotonic() + timeout
        while True:
            self.tend_alive()
            st = self.statuses()
            moving = [n for n, p in st.items() if p["state"] in ("STARTING", "STOPPING", "BACKOFF")
                      and n not in ("flappy",)]
            bad = self.mismatches(st)
            if not bad and not moving:
                return st
            if time.monotonic() > deadline:
                raise Failure(f"{what}: not settled after {timeout}s:\n  " + "\n  ".join(
                    bad + [f"{n}: still {st[n]['state']}" for n in moving]))
            time.sleep(0.2)

    def upstream(self):
        r = self.ctl("nginx")
        return sorted(int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+) max_fails", r.out)), r

    def finish(self):
        """Everything let go, settled; then the end invariants."""
        self.readers.expire()
        self.thaw(all_of_them=True)
        for pid in self.t.ns_pids():  # anything else stopped (nginx's workers are not ours)
            st = proc_status(pid)
            if st and st.get("State", "").startswith("T"):
                self.kill(pid, signal.SIGCONT)
        if os.path.exists(self.flag):
            os.unlink(self.flag)
        st = self.wait_settled("the end")
        self.check_nginx(st)
        self.check_health(st)
        deadline = time.monotonic() + 20
        while self.zombies():
            if time.monotonic() > deadline:
                raise Failure(f"zombies at the end: {sorted(self.zombies())}")
            time.sleep(0.2)
        r = self.ctl("stop", "flappy", "noisy", deadline=WAITS)
        if r.rc != 0:
            raise Failure(f"stop flappy noisy at the end: {r} {r.err.strip()}")
        self.check_resources()
        if self.model.config.health:  # checks wake tend by design: off for the idle check
            self.write_config(self.model.config.replace(health=False))
            r = self.ctl("reload", deadline=WAITS)
            if r.rc != 0:
                raise Failure(f"reload without health checks at the end: {r} {r.err.strip()}")
        self.check_idle()
        self.shutdown()

    def check_nginx(self, st):
        want = lambda: sorted(p["port"] for n, p in self.statuses().items()
                              if n.startswith("web_") and p["state"] == "RUNNING")
        ports, r = self.upstream()
        if r.err.strip() and "nginx" in st and st["nginx"]["state"] == "RUNNING":
            # the last change failed nginx -t (the flag): tend tries again on the next
            # change; a restart of nginx is one
            self.say(f"chaos: nginx's last error: {r.err.strip()}: restarting nginx")
            rr = self.ctl("restart", "nginx", deadline=WAITS)
            if rr.rc != 0:
                raise Failure(f"restart nginx at the end: {rr} {rr.err.strip()}")
        deadline = time.monotonic() + 30
        while (self.upstream()[0]) != want():
            if time.monotonic() > deadline:
                raise Failure(f"nginx's upstream lists {self.upstream()[0]}, the RUNNING web "
                              f"workers are on {want()}\n{self.upstream()[1].err}")
            time.sleep(0.2)

    def check_health(self, st):
        r = self.ctl("health")
        listed = sorted(ln.split(":")[0] for ln in r.out.splitlines() if ln != "ok")
        want = sorted(n for n, p in st.items() if n in AUTOSTART and p["state"] != "RUNNING"
                      and not (p["state"] in ("STOPPED", "EXITED") and self.model.want[n] == {DOWN}))
        # flappy may be anywhere in its cycle; a stop that raced a start (want {UP, DOWN})
        # may have come last: tend knows which, the model does not
        either = {"flappy"} | {n for n, p in st.items() if p["state"] in ("STOPPED", "EXITED")
                               and self.model.want[n] == {UP, DOWN}}
        listed = [n for n in listed if n not in either]
        want = [n for n in want if n not in either]
        if listed != want or (r.rc == 0) != (r.out == "ok\n") or r.rc not in (0, 3):
            raise Failure(f"health: exit {r.rc}, lists {listed}; expected {want}")

    def check_resources(self):
        deadline = time.monotonic() + 20
        while self.fds() > self.fds0 + 8:
            if time.monotonic() > deadline:
                raise Failure(f"tend has {self.fds()} descriptors, {self.fds0} at the start: "
                              f"{sorted(os.readlink(f'/proc/{self.t.pid}/fd/{fd}') for fd in os.listdir(f'/proc/{self.t.pid}/fd'))}")
            time.sleep(0.2)
        if self.rss() > self.rss_bound():
            raise Failure(f"tend's RSS is {self.rss()} MB, {self.rss0} MB at the start")

    def check_idle(self):
        """Once settled, tend sleeps: no wake-up in 2 s (1-2 allowed: a last timer)."""
        best = None
        for _ in range(5):  # the stops just done may leave a timer or two
            before = self.wakeups()
            time.sleep(2)
            woke = self.wakeups() - before
            best = woke if best is None else min(best, woke)
            if woke <= 2:
                return
        raise Failure(f"tend woke up {best} times in 2 s while idle")

    def shutdown(self):
        self.t.signal(signal.SIGTERM)
        try:
            rc = self.t.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise Failure("tend did not exit within 60 s of SIGTERM")
        report = self.sanitizer_report()
        if report:
            raise Failure("a sanitizer report at exit")
        if rc != 0:
            raise Failure(f"tend exited {rc} after SIGTERM")

    # -- all of it --

    def run(self):
        """Runs the seed; returns its failures (empty when it passed)."""
        t0 = time.monotonic()
        try:
            self.setup()
            for self.step in range(self.steps):
                if self.budget and time.monotonic() - t0 > self.budget:
                    self.say(f"chaos: seed {self.seed}: time budget spent after {self.step} steps")
                    break
                self.run_step()
            else:
                self.step = self.steps
            steps = self.step
            self.finish()
            if not self.failures:
                self.say(f"chaos: seed {self.seed}: ok, {steps} steps in "
                         f"{time.monotonic() - t0:.0f}s; tend's fds {self.fds0}, RSS {self.rss0} MB "
                         f"at the start, at most {self.rss_max} MB")
        except Failure as e:
            self.report(str(e))
        finally:
            self.say(f"chaos: seed {self.seed}: operations: " + ", ".join(
                f"{k} {v}" for k, v in sorted(self.counts.items())))
            self.say(f"chaos: seed {self.seed}: exit codes: " + ", ".join(
                f"{k} {rc}: {v}" for (k, rc), v in sorted(self.codes.items(), key=str)))
            self.cleanup()
        return self.failures

    def report(self, why):
        """Prints what went wrong, with what led there; notes it for the summary."""
        lines = [f"chaos: FAILED: seed {self.seed}, step {self.step}: {why}",
                 f"  replay: make chaos SEED={self.seed} STEPS={self.step + 1}",
                 "  the last operations:"]
        lines += [f"    {h}" for h in self.history]
        asan = self.sanitizer_report() if self.t else None
        if asan:
            lines += ["  the sanitizer's report:"] + [f"    {ln}" for ln in asan.splitlines()]
        routine = re.compile(r"flappy: (started|running|exited with status 1|restarting in)")
        out = self.t.output().splitlines() if self.t else []
        if asan:  # what led to it, not the report again
            out = out[:next(i for i, ln in enumerate(out) if SANITIZER_REPORT.search(ln))]
        out = [ln for ln in out if not routine.search(ln)]
        lines += ["  tend's output, the end (flappy's restarts left out):"]
        lines += [f"    {ln}" for ln in out[-40:]]
        self.say("\n".join(lines))
        self.failures.append(f"seed {self.seed}, step {self.step}: {why.splitlines()[0]}"
                             + (f"\n      {top_frames(asan)}" if asan else ""))


def top_frames(report, n=4):
    """The first frames of a sanitizer report: 'func file:line' each."""
    kind = re.search(r"(ERROR: \w+Sanitizer: [\w-]+|runtime error: .*)", report)
    frames = re.findall(r"#\d+ 0x[0-9a-f]+ in (\S+) (\S+)", report)
    where = " < ".join(f"{f} {os.path.basename(loc)}" for f, loc in frames[:n])
    return f"{kind.group(1) if kind else 'sanitizer'}: {where}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5, help="how many random seeds")
    ap.add_argument("--seed", type=int, action="append", help="run this seed (replay)")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--budget", type=float, default=None, help="seconds per seed at most")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every operation")
    ap.add_argument("-k", "--keep-going", action="store_true",
                    help="go on after a command that failed (tend's death still ends a seed)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # each run cleans up on the way out
    seeds = args.seed or [random.SystemRandom().randrange(1, 1 << 31) for _ in range(args.seeds)]
    print(f"chaos: {conftest.TEND}: seeds {' '.join(map(str, seeds))}, {args.steps} steps each",
          flush=True)
    t0, failed = time.monotonic(), {}
    for seed in seeds:
        failures = Chaos(seed, args.steps, time_budget=args.budget, verbose=args.verbose,
                         keep_going=args.keep_going).run()
        if failures:
            failed[seed] = failures
    print(f"\nchaos: {len(seeds) - len(failed)} of {len(seeds)} seeds passed "
          f"({args.steps} steps each, {time.monotonic() - t0:.0f}s)")
    for seed, failures in failed.items():
        print(f"  seed {seed} (make chaos SEED={seed}):")
        for f in failures:
            print(f"    {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
