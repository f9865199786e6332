"""Crashes and hangs of tend found by driving it from several sides at once: a
command arriving while another waits, a child or nginx going away mid-command,
control clients that leave, stall or are not allowed in. Each test is one case,
numbered as in the report that found it, and runs the real binaries with tend as
PID 1 (real nginx and node where nginx is involved). Every tendctl call has a
deadline, and every test ends by checking that tend is still up and that it then
shuts down cleanly: a crash (or a sanitizer report, BUILD=build/asan) fails it."""
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import (ROOT, SANITIZED, SLOW, TENDCTL, children, free_ports, proc_status, run,
                      wait_for)

WORKER = os.path.join(ROOT, "examples", "worker.js")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEADLINE = 15.0  # seconds (times SLOW) any tendctl call here may take


# ---- tend itself ----

def last_lines(t, n=40):
    """tend's last lines, or the head of a sanitizer's report when there is one."""
    with t.lock:
        lines = list(t.lines)
    report = [i for i, line in enumerate(lines) if re.search(r"==\d+==ERROR: \w+Sanitizer|"
                                                             r"runtime error:", line)]
    if report:
        summary = [line for line in lines if "SUMMARY:" in line]
        return "\n".join(lines[report[0]:report[0] + n] + summary[:1])
    return "\n".join(lines[-n:])


def how_it_ended(rc):
    if rc is not None and rc < 0:
        return f"was killed by signal {-rc} ({signal.Signals(-rc).name})"
    return f"exited with status {rc}"


def up(t):
    """True while tend runs; once it is gone, fails the test with how and its last words
    (where a sanitizer's report is)."""
    st = proc_status(t.pid)
    if t.outer.poll() is None and st and not st["State"].startswith(("Z", "X")):
        return True
    rc = t.wait(10)  # once tend is gone, its namespace goes and unshare passes on how
    raise AssertionError(f"tend {how_it_ended(rc)}; its last lines:\n{last_lines(t)}")


def wait_up(t, cond, timeout=10.0, what="condition", interval=0.02):
    """wait_for, failing at once (with tend's last words) if tend dies meanwhile."""
    return wait_for(lambda: up(t) and cond(), timeout=timeout, interval=interval, what=what)


TENDS = {}  # control socket -> the tend answering on it


def gone(sock, r_text):
    """A tendctl call that could not talk to tend: when tend is dying (a sanitizer
    writes its report first), that is the failure to report."""
    t = TENDS.get(str(sock))
    broken = r"cannot reach tend|ended before its answer|without an end"
    if t is None or not re.search(broken, r_text):
        return
    try:
        t.outer.wait(3 * SLOW)
    except subprocess.TimeoutExpired:
        return  # tend lives: the caller's assertion says what went wrong
    up(t)


def ends_well(t):
    """The end of every test: tend lived through it, and a SIGTERM still takes it down
    in order (an exit status of 0, not a signal or a sanitizer's abort)."""
    up(t)
    t.signal(signal.SIGTERM)
    try:
        rc = t.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"tend still runs {20 * SLOW:.0f}s after SIGTERM ({stuck(t)}); "
                             f"its last lines:\n{last_lines(t)}") from None
    assert rc == 0, f"tend {how_it_ended(rc)} on SIGTERM; its last lines:\n{last_lines(t)}"


def stuck(t):
    """Where a tend that does not exit is: its state, what it waits in, what it holds,
    and what else is left in its namespace."""
    st = proc_status(t.pid) or {}
    try:
        with open(f"/proc/{t.pid}/wchan") as f:
            wchan = f.read()
        fd_dir = f"/proc/{t.pid}/fd"
        held = [f"{fd}:{os.readlink(f'{fd_dir}/{fd}')}"
                for fd in sorted(os.listdir(fd_dir), key=int)]
    except OSError:
        wchan, held = "?", []
    others = [f"{p}:{comm(p)}" for p in t.ns_pids() if p != t.pid]
    return f"state {st.get('State', '?')}, in {wchan}, holding {held}, beside {others}"


def start(tend_run, tmp_path, text, tend_extra="", env=None):
    sock = tmp_path / "tend.sock"
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\n{tend_extra}\n{text}")
    t = tend_run(["-c", str(ini)], env=env)
    TENDS[str(sock)] = t
    wait_up(t, lambda: sock.exists() and ctl(sock, "version").returncode == 0,
            what="the control socket")
    return t, sock


# ---- tendctl, always with a deadline ----

def ctl(sock, *args, timeout=DEADLINE):
    try:
        r = run([TENDCTL, "-s", str(sock), *args], timeout=timeout * SLOW)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"tendctl {' '.join(args)} did not return within "
                             f"{timeout * SLOW:.0f}s") from None
    if r.returncode == 5 or r.returncode == 1:
        gone(sock, r.stderr)
    return r


class Bg:
    """A tendctl command running beside the test."""

    def __init__(self, sock, *args):
        self.sock, self.args = sock, args
        self.p = subprocess.Popen([TENDCTL, "-s", str(sock), *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)

    def result(self, timeout=DEADLINE):
        try:
            out, err = self.p.communicate(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"tendctl {' '.join(self.args)} did not return within "
                                 f"{timeout * SLOW:.0f}s") from None
        gone(self.sock, err)
        return subprocess.CompletedProcess(self.p.args, self.p.returncode, out, err)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.communicate()


@pytest.fixture
def bg():
    """Starts tendctl commands in the background; those still running at the end are killed."""
    started = []

    def launch(sock, *args):
        b = Bg(sock, *args)
        started.append(b)
        return b

    yield launch
    for b in started:
        b.kill()


def frame(payload):
    return b"TND1" + struct.pack(">I", len(payload)) + payload


def request(sock, *words):
    """A control connection that has sent its request (the words of a tendctl command)
    and reads nothing yet: the test decides when, or whether, it reads the reply."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(DEADLINE * SLOW)
    s.connect(str(sock))
    s.sendall(frame(b"".join(w.encode() + b"\0" for w in words)))
    return s


def reply(s, timeout=DEADLINE):
    path = s.getpeername()
    try:
        return read_reply(s, timeout)
    except AssertionError as e:
        gone(path, str(e))
        raise


def read_reply(s, timeout):
    """(exit status, stdout, stderr) of a request's reply, read until its end frame."""
    s.settimeout(timeout * SLOW)
    data, out, err = b"", b"", b""
    try:
        while True:
            while len(data) >= 8 and len(data) >= 8 + struct.unpack(">I", data[4:8])[0]:
                n = struct.unpack(">I", data[4:8])[0]
                body, data = data[8:8 + n], data[8 + n:]
                if body[:1] == b"o":
                    out += body[1:]
                elif body[:1] == b"e":
                    err += body[1:]
                elif body[:1] == b"x":
                    return body[1], out.decode(), err.decode()
            chunk = s.recv(65536)
            if not chunk:
                raise AssertionError(f"the connection closed without an end frame: {out + err!r}")
            data += chunk
    except socket.timeout:
        raise AssertionError(f"no whole reply within {timeout * SLOW:.0f}s; so far: "
                             f"{out + err!r}") from None
    finally:
        s.close()


def states(sock):
    r = ctl(sock, "status", "--json")
    assert r.stdout.startswith("["), r.stdout + r.stderr
    return {p["name"]: p for p in json.loads(r.stdout)}


def state(sock, name):
    return states(sock)[name]["state"]


# ---- tend's own process, from the host ----

def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kb(pid):
    st = proc_status(pid)
    return int(st["VmRSS"].split()[0]) if st else 0


def switches(pid):
    st = proc_status(pid)
    return int(st["voluntary_ctxt_switches"]) + int(st["nonvoluntary_ctxt_switches"])


# ---- nginx in front of node workers ----

class Stack:
    """tend with n node workers (web_00...) behind its [nginx], all ready and routed to."""

    def __init__(self, tend_run, tmp_path, n=3, worker_extra="", nginx_extra="", tend_extra=""):
        self.n = n
        self.base = free_ports(n)
        self.listen = free_ports(1)
        self.conf = tmp_path / "run" / "nginx.conf"
        self.t, self.sock = start(tend_run, tmp_path, f"""
[program:web]
command = node {WORKER}
numprocs = {n}
port = {self.base}
ready = http:/health
{worker_extra}
[nginx]
upstream = web
listen = 127.0.0.1:{self.listen}
config = {self.conf}
access_log = off
{nginx_extra}
""", tend_extra=tend_extra)
        names = [f"web_{i:02d}" for i in range(n)] + ["nginx"]
        wait_up(self.t, lambda: all(states(self.sock)[x]["state"] == "RUNNING" for x in names),
                timeout=30, what="the workers and nginx running")
        wait_up(self.t, lambda: self.upstream() == self.base_ports(), timeout=15,
                what="every worker in nginx's upstream")

    def base_ports(self):
        return [self.base + i for i in range(self.n)]

    def upstream(self):
        """The ports in the upstream nginx runs with (tendctl nginx)."""
        r = ctl(self.sock, "nginx")
        return sorted(int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+) max_fails", r.stdout))

    def running_ports(self):
        return sorted(p["port"] for p in states(self.sock).values()
                      if p["program"] == "web" and p["state"] == "RUNNING")

    def upstream_is_the_running_workers(self):
        return self.upstream() == self.running_ports()

    def master(self):
        """nginx's master, as a host pid."""
        kids = [p for p in children(self.t.pid) if comm(p) == "nginx"]
        return kids[0] if kids else None


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


# ---- 1 ----

@pytest.mark.parametrize("target", ["flappy", "all"])
def test_1_stop_during_backoff(tend_run, tmp_path, target):
    """Case 1: tendctl stop of a process waiting in BACKOFF (by name, and as 'all'):
    the stop settles at once, inside the call that asked for it."""
    t, sock = start(tend_run, tmp_path, """
[program:flappy]
command = sh -c 'sleep 0.3; exit 1'
startsecs = 0
restart_delay = 3s
[program:off]
command = sleep 1000
autostart = false
""")
    # the first restart after a run is immediate, the second waits restart_delay
    wait_up(t, lambda: state(sock, "flappy") == "BACKOFF" and t.count(r"flappy: restarting in"),
            what="flappy in BACKOFF")
    r = ctl(sock, "stop", target, timeout=2.5)  # well within the 2.7 s (at least) of BACKOFF
    up(t)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "flappy: stopped" in r.stdout, r.stdout + r.stderr
    assert state(sock, "flappy") == "STOPPED"
    ends_well(t)


# ---- 2 ----

def test_2_restart_then_rolling_restart_of_the_same_process(tend_run, tmp_path, bg):
    """Case 2: tendctl restart w_00, and while w_00 is STOPPING (it ignores SIGTERM) a
    tendctl restart --rolling w: both wait on w_00's new start and end in one change."""
    t, sock = start(tend_run, tmp_path, """
[program:w]
command = sh -c "trap '' TERM; exec sleep 1000"
numprocs = 2
startsecs = 0.2
stopwaitsecs = 1
""")
    wait_up(t, lambda: all(p["state"] == "RUNNING" for p in states(sock).values()),
            what="w running")
    one = bg(sock, "restart", "w_00")
    wait_up(t, lambda: state(sock, "w_00") == "STOPPING", what="w_00 STOPPING")
    rolling = bg(sock, "restart", "--rolling", "w")
    r1, r2 = one.result(), rolling.result()
    up(t)
    assert r1.returncode == 0 and "w_00: restarted" in r1.stdout, r1.stdout + r1.stderr
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "w_00: restarted" in r2.stdout and "w_01: restarted" in r2.stdout, r2.stdout
    ends_well(t)


# ---- 3 ----

def test_3_concurrent_stops_of_workers_and_nginx(tend_run, tmp_path, bg):
    """Case 3: tendctl stop web_00, stop web_01 and stop nginx at once: the workers'
    drains through nginx meet nginx going away. Twice, as without a sanitizer what
    tend does with memory it freed varies."""
    s = Stack(tend_run, tmp_path, n=3)
    names = ("web_00", "web_01", "nginx")
    for attempt in range(2):
        # all three in flight at once; the workers' requests are sent first, so that
        # their drains are under way when nginx's stop comes
        pending = [request(s.sock, "stop", name) for name in names[:2]]
        nginx = bg(s.sock, "stop", "nginx")
        results = [reply(c, timeout=30) for c in pending]
        r = nginx.result(timeout=30)
        results.append((r.returncode, r.stdout, r.stderr))
        up(s.t)
        for name, (status, out, err) in zip(names, results):
            # a drain that nginx's own stop cut short may be reported: the stop is what counts
            assert f"{name}: stopped" in out and status in (0, 1), out + err
        final = states(s.sock)
        assert [final[x]["state"] for x in names] == ["STOPPED"] * 3, final
        assert final["web_02"]["state"] == "RUNNING"
        if attempt == 0:
            r = ctl(s.sock, "start", *names, timeout=30)
            assert r.returncode == 0, r.stdout + r.stderr
            wait_up(s.t, lambda: s.upstream() == s.base_ports(), timeout=15,
                    what="every worker in nginx's upstream again")
    ends_well(s.t)


@pytest.mark.parametrize("moment", ["checking", "reloading", "restarting"])
def test_3_nginx_killed_during_a_rolling_restart(tend_run, tmp_path, bg, moment):
    """Case 3: nginx's master killed with SIGKILL during tendctl restart --rolling web,
    while the config without the first worker is checked (nginx -t), while nginx is
    reloaded with it, or while that worker restarts."""
    s = Stack(tend_run, tmp_path, n=3)
    first = s.t.count(r"web_00 closing on SIGTERM")
    rolling = bg(s.sock, "restart", "--rolling", "web")
    if moment == "checking":  # the candidate is written beside the config for nginx -t
        wait_up(s.t, lambda: os.path.exists(f"{s.conf}.new"), timeout=10, interval=0.001,
                what="the config without web_00 written for nginx -t")
    elif moment == "reloading":  # the config without web_00 is in place: nginx got SIGHUP
        wait_up(s.t, lambda: f":{s.base} " not in s.conf.read_text(), timeout=10,
                what="web_00 out of the config file")
    else:
        wait_up(s.t, lambda: s.t.count(r"web_00 closing on SIGTERM") > first, timeout=15,
                what="web_00 told to stop")
    os.kill(s.master(), signal.SIGKILL)
    r = rolling.result(timeout=40)
    up(s.t)
    assert r.returncode in (0, 1), r.stdout + r.stderr  # it may say a step failed; it returns
    wait_up(s.t, lambda: state(s.sock, "nginx") == "RUNNING", timeout=20, what="nginx back")
    ends_well(s.t)


# ---- 4 ----

@pytest.mark.parametrize("verb", ["start", "restart"])
@pytest.mark.parametrize("what", ["command", "directory"])
def test_4_a_process_that_cannot_be_spawned(tend_run, tmp_path, verb, what):
    """Case 4: tendctl start (restart) of a process whose command, or whose directory,
    does not exist: the command returns with the reason, not waits for good."""
    missing = tmp_path / "nothere"
    key = f"command = {missing}/prog" if what == "command" else \
        f"command = sleep 1000\ndirectory = {missing}"
    t, sock = start(tend_run, tmp_path, f"""
[program:ghost]
{key}
autostart = false
startsecs = 0
[program:keeper]
command = sleep 1000
startsecs = 0
""")
    r = ctl(sock, verb, "ghost", timeout=5)  # three failed spawns take well under a second
    up(t)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "ghost" in r.stderr, r.stdout + r.stderr
    assert re.search(rf"{re.escape(str(missing))}.*No such file or directory", r.stderr), \
        r.stdout + r.stderr
    assert state(sock, "keeper") == "RUNNING"
    ends_well(t)


# ---- 5 ----

def test_5_restart_of_a_stopped_program(tend_run, tmp_path):
    """Case 5: tendctl stop web, then tendctl restart web (numprocs = 3): starting the
    first process must not count the others, not yet started, as failures."""
    t, sock = start(tend_run, tmp_path, """
[program:web]
command = sleep 1000
numprocs = 3
startsecs = 0.1
""")
    wait_up(t, lambda: all(p["state"] == "RUNNING" for p in states(sock).values()),
            what="web running")
    r = ctl(sock, "stop", "web")
    assert r.returncode == 0 and r.stdout.count("stopped") == 3, r.stdout + r.stderr
    r = ctl(sock, "restart", "web")
    up(t)
    assert "was stopped before it was ready" not in r.stdout + r.stderr, r.stdout + r.stderr
    assert r.returncode == 0 and r.stdout.count("restarted") == 3, r.stdout + r.stderr
    assert {p["state"] for p in states(sock).values()} == {"RUNNING"}
    ends_well(t)


# ---- 6 ----

def quiet_window(pid, seconds=2.0, most=5, within=15.0):
    """Waits for a window of `seconds` in which pid was switched in at most `most`
    times (an idle process sleeps in epoll_wait); fails if none comes within `within`.
    The window is an observation of nothing happening: there is no event to wait on."""
    deadline = time.monotonic() + within * SLOW
    seen = []
    while time.monotonic() < deadline:
        before = switches(pid)
        time.sleep(seconds)
        n = switches(pid) - before
        if n <= most:
            return n
        seen.append(n)
    raise AssertionError(f"tend never idle: context switches per {seconds:.0f}s window: {seen}")


@pytest.mark.native
def test_6_stop_then_start_while_the_drain_is_pending(tend_run, tmp_path):
    """Case 6: tendctl stop web_00, and before nginx has let it go, tendctl start web:
    the stop returns, the upstream ends as the RUNNING workers, and tend goes idle."""
    s = Stack(tend_run, tmp_path, n=2)
    stop = request(s.sock, "stop", "web_00")  # sent before the start below connects
    r = ctl(s.sock, "start", "web")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        status, out, err = reply(stop)
    except AssertionError as e:
        if s.t.outer.poll() is not None:
            raise
        before = switches(s.t.pid)
        time.sleep(2)  # an observation window, for the report
        raise AssertionError(f"tendctl stop web_00: {e} (meanwhile tend was switched in "
                             f"{switches(s.t.pid) - before} times in 2s)") from None
    up(s.t)
    assert status == 0, out + err
    wait_up(s.t, s.upstream_is_the_running_workers, timeout=10,
            what="nginx's upstream listing exactly the RUNNING workers")
    quiet_window(s.t.pid)
    assert s.upstream_is_the_running_workers()
    ends_well(s.t)


# ---- 7 ----

@pytest.mark.native
def test_7_a_tail_follower_that_stops_reading(tend_run, tmp_path):
    """Case 7: a tendctl tail -f client that stops reading while the process prints at
    full speed: tend's memory stays bounded and it keeps answering."""
    env = dict(os.environ)
    if SANITIZED:  # freed blocks wait in ASan's quarantine (256 MB): keep it small
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "quarantine_size_mb=4"]))
    t, sock = start(tend_run, tmp_path, """
[program:loud]
command = yes 'a line of output, printed as fast as it can be, again and again'
startsecs = 0
stdout_logfile = NONE
""", env=env)
    wait_up(t, lambda: state(sock, "loud") == "RUNNING", what="loud running")
    # kB: what tend needs, and under ASan its shadow memory and redzones besides
    limit = 64 * 1024 + (rss_kb(t.pid) if SANITIZED else 0)
    peak, stop, killed = [0], threading.Event(), threading.Event()

    def guard():  # samples tend's memory; kills it before it can hurt the machine
        while not stop.is_set():
            kb = rss_kb(t.pid)
            peak[0] = max(peak[0], kb)
            if kb > 4 * limit:
                killed.set()
                os.kill(t.pid, signal.SIGKILL)
                return
            time.sleep(0.005)

    g = threading.Thread(target=guard, daemon=True)
    g.start()
    stalled = request(sock, "tail", "-f", "loud")  # never read from
    try:
        end, answers = time.monotonic() + 5, 0
        while time.monotonic() < end and peak[0] <= limit:
            try:
                r = ctl(sock, "status", "loud", timeout=5)
            except AssertionError:
                if killed.is_set():
                    break
                raise
            assert r.returncode == 0, r.stdout + r.stderr
            answers += 1
        assert peak[0] <= limit, f"tend's RSS reached {peak[0] // 1024} MB (at most " \
            f"{limit // 1024} MB here){': the test killed it' if killed.is_set() else ''}"
        up(t)
        assert answers >= 3
    finally:
        stop.set()
        g.join()
        stalled.close()
    ends_well(t)


# ---- 8 ----

def test_8_tail_followers_killed_at_once(tend_run, tmp_path):
    """Case 8: 300 tendctl tail -f clients (more than tend keeps open) killed with
    SIGKILL: tend lets go of every connection, and keeps answering."""
    t, sock = start(tend_run, tmp_path, """
[program:quiet]
command = sleep 1000
startsecs = 0
""")
    wait_up(t, lambda: state(sock, "quiet") == "RUNNING", what="quiet running")
    before = fds(t.pid)
    clients = []
    try:
        for _ in range(300):
            clients.append(subprocess.Popen([TENDCTL, "-s", str(sock), "tail", "-f", "quiet"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_up(t, lambda: fds(t.pid) >= before + 200, what="the followers connected")
    finally:
        for c in clients:
            c.kill()
        for c in clients:
            c.wait()
    try:
        wait_up(t, lambda: fds(t.pid) <= before + 1, timeout=10, what="tend's descriptors")
    except AssertionError as e:
        if t.outer.poll() is not None:
            raise
        raise AssertionError(f"{e}: {fds(t.pid)} open, {before} before the followers") from None
    r = ctl(sock, "health")
    assert r.returncode == 0 and r.stdout == "ok\n", r.stdout + r.stderr
    assert ctl(sock, "status").returncode == 0
    ends_well(t)


HAMMER = """
import socket, sys
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])  # blocking: waits while tend's backlog is full
    s.close()
"""


def test_8_a_stranger_hammering_the_socket(tend_run):
    """Case 8: a user that is not allowed in connects 2,000 times to a socket open to
    everyone (socket_mode = 0666): tend's log does not grow a line per attempt, and
    root is still served."""
    user = f"tendrx{random.randrange(10**6):06d}"
    shared = tempfile.mkdtemp(prefix="tend-reentry-")  # tmp_path is root's alone
    os.chmod(shared, 0o755)
    try:
        r = run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
        assert r.returncode == 0, r.stderr
        uid = pwd.getpwnam(user).pw_uid
        sock = os.path.join(shared, "tend.sock")
        ini = os.path.join(shared, "tend.ini")
        with open(ini, "w") as f:
            f.write(f"[tend]\nsocket = {sock}\nsocket_mode = 0666\n"
                    "[program:keeper]\ncommand = sleep 1000\nstartsecs = 0\n")
        t = tend_run(["-c", ini])
        TENDS[sock] = t
        wait_up(t, lambda: os.path.exists(sock) and ctl(sock, "status").returncode == 0,
                what="keeper running")
        attempts = 2000
        r = run(["setpriv", f"--reuid={uid}", f"--regid={pwd.getpwnam(user).pw_gid}",
                 "--clear-groups", "/usr/bin/python3", "-c", HAMMER, sock, str(attempts)],
                timeout=120 * SLOW)
        assert r.returncode == 0, r.stderr
        assert ctl(sock, "status").returncode == 0  # served after every attempt was accepted
        mentions = lambda: t.count(rf"\buid {uid}\b")
        last = [-1]

        def settled():  # every line tend wrote has reached the reader
            n, last[0] = last[0], mentions()
            return n == last[0]
        wait_for(lambda: up(t) and settled(), interval=0.3, what="tend's log settled")
        assert 1 <= mentions() <= attempts // 40, f"{mentions()} lines about uid {uid} " \
            f"for {attempts} attempts"
        r = ctl(sock, "status")
        assert r.returncode == 0 and "keeper" in r.stdout, r.stdout + r.stderr
        ends_well(t)
    finally:
        run(["userdel", user])
        shutil.rmtree(shared, ignore_errors=True)


# ---- 9 ----

FUSSY_NGINX = """#!/bin/sh
# nginx, except that 'nginx -t' fails while {flag} exists (each refusal's time goes to {log})
for a; do
    if [ "$a" = -t ] && [ -e {flag} ]; then
        date +%s.%N >> {log}
        echo "nginx: [emerg] refused for the test while {flag} exists" >&2
        exit 1
    fi
done
exec {nginx} "$@"
"""


def test_9_a_failed_nginx_check_is_retried(tend_run, tmp_path):
    """Case 9: 'nginx -t' fails while a worker is stopped: tend retries it (with
    backoff), and once the check passes again the stopped worker leaves nginx's
    upstream, with no further change to set it off."""
    flag, refusals = tmp_path / "fail-check", tmp_path / "refusals"
    wrapper = tmp_path / "nginx.sh"
    wrapper.write_text(FUSSY_NGINX.format(flag=flag, log=refusals, nginx=NGINX))
    wrapper.chmod(0o755)
    conf = tmp_path / "run" / "nginx.conf"
    s = Stack(tend_run, tmp_path, n=3, nginx_extra=f"""
[program:nginx]
command = {wrapper} -c {conf} -g 'daemon off;'
stopsignal = QUIT
depends_on = web
""")
    flag.write_text("")
    r = ctl(s.sock, "stop", "web_01", timeout=30)
    assert r.returncode == 0 and "web_01: stopped" in r.stdout, r.stdout + r.stderr
    stopped = time.time()
    # every change the stop made is known by now: a check refused after this moment
    # is one tend makes of its own accord (a retry); after it, the check may pass
    wait_up(s.t, lambda: refusals.exists() and any(float(x) > stopped for x in
                                                    refusals.read_text().split()),
            timeout=10, what="'nginx -t' tried again after the stop returned")
    flag.unlink()
    wait_up(s.t, s.upstream_is_the_running_workers, timeout=20,
            what="nginx's upstream listing exactly the RUNNING workers (web_01 out)")
    assert s.upstream() == [s.base, s.base + 2]
    ends_well(s.t)
