"""tend -- CMD: the tini job, as PID 1 of a fresh PID namespace."""
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import ROOT, SLOW, TEND, children, proc_status, run, wait_for

HELPERS = os.path.join(ROOT, "tests", "helpers")
SIGECHO = os.path.join(HELPERS, "sigecho.py")
JOBSHELL = os.path.join(HELPERS, "jobshell.py")
PIPE_AND_TTY = (signal.SIGPIPE, signal.SIGTTIN, signal.SIGTTOU)


def gone(pid):
    st = proc_status(pid)
    return st is None or st["State"].startswith("Z")


def kill_all(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


class Collector:
    """Reads a descriptor to its end in a thread (a terminal's master ends with EIO once
    no process holds its other side)."""

    def __init__(self, fd):
        self.fd, self.data = fd, b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                return
            self.data += chunk

    def text(self):
        return self.data.decode("utf-8", "replace")

    def wait(self, pattern, what=None):
        return wait_for(lambda: re.search(pattern, self.text()), what=what or repr(pattern))


class TtyJob:
    """A command run by jobshell.py as the foreground job of a fresh terminal with
    `stty tostop`, as from an interactive shell: once the child takes the terminal, tend
    is in the background, where a write to the terminal raises SIGTTOU."""

    def __init__(self, args):
        self.master, slave = os.openpty()
        self.shell = subprocess.Popen([JOBSHELL] + args, stdin=slave, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
        os.close(slave)
        self.screen = Collector(self.master)
        self.report = Collector(self.shell.stdout.fileno())

    @property
    def job(self):
        return int(self.report.wait(r"job (\d+)\n", "the job to start").group(1))

    def result(self):
        return self.report.wait(r"(exited -?\d+|stopped \w+)\n", "the job to end").group(1)

    def end(self):
        kill_all(descendants(self.shell.pid) + [self.shell.pid])
        self.shell.wait(10)
        self.screen.thread.join(5)
        self.report.thread.join(5)
        os.close(self.master)
        self.shell.stdout.close()


@pytest.fixture
def tty_job():
    started = []

    def start(args):
        started.append(TtyJob(args))
        return started[-1]

    yield start
    for job in started:
        job.end()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                                 signal.SIGWINCH, signal.SIGRTMIN + 3, *PIPE_AND_TTY])
def test_signals_reach_the_child(tend_run, sig):
    t = tend_run(["--", SIGECHO, "0"])
    t.wait_line(r"^ready ")
    t.signal(sig)
    name = signal.Signals(sig).name if sig < signal.SIGRTMIN else f"SIGRTMIN+{sig - signal.SIGRTMIN}"
    t.wait_line(rf"^got {re.escape(name)}$")
    t.signal(signal.SIGTERM)
    t.wait_line(r"^got SIGTERM$")
    assert t.wait() == 0


def test_group_mode_signals_the_process_group(tend_run):
    # the shell ignores TERM; its child (same group) prints and exits on it
    script = f"trap '' TERM; {SIGECHO} 7; echo shell-done"
    t = tend_run(["-g", "--", "/bin/sh", "-c", script])
    t.wait_line(r"^ready ")
    t.signal(signal.SIGTERM)
    t.wait_line(r"^got SIGTERM$")
    t.wait_line(r"^shell-done$")
    assert t.wait() == 0


@pytest.mark.parametrize("cmd,status", [
    (["/bin/sh", "-c", "exit 0"], 0),
    (["/bin/sh", "-c", "exit 1"], 1),
    (["/bin/sh", "-c", "exit 42"], 42),
    (["/bin/sh", "-c", "kill -KILL $$"], 128 + 9),
    (["/bin/sh", "-c", "kill -SEGV $$"], 128 + 11),
    (["/etc/passwd"], 126),
    (["/no/such/command"], 127),
    (["no-such-command-in-path"], 127),
])
def test_exit_status_mirrors_the_child(tend_run, cmd, status):
    t = tend_run(["--"] + cmd)
    assert t.wait() == status
    if status in (126, 127):
        assert "exec '" in t.output()


def test_exit_status_without_namespace():
    assert run([TEND, "--", "/bin/sh", "-c", "exit 5"]).returncode == 5
    r = run([TEND, "--", "/no/such"])
    assert r.returncode == 127 and "exec '/no/such': No such file or directory" in r.stderr


def test_orphans_are_reaped(tend_run):
    until = time.time() + 5.0 * SLOW
    t = tend_run(["--", "/bin/sh", "-c",
                  f"{HELPERS}/orphans.py 200 {until} & sleep 1000"])
    t.wait_line(r"left 200 orphans", timeout=20)

    def census():  # zombies, and orphans (helpers reparented to tend)
        st = [proc_status(p) or {} for p in t.ns_pids()]
        zombies = [s for s in st if s.get("State", "").startswith("Z")]
        orphans = [s for s in st if s.get("PPid") == str(t.pid) and s.get("Name") == "orphans.py"]
        return len(zombies), len(orphans)
    if time.time() < until - 1:  # a busy machine may take that long to fork them
        assert census() == (0, 200)
    # a generous deadline: how fast is bench scenario 3's business, not this test's
    wait_for(lambda: census() == (0, 0), timeout=max(0.5, until - time.time()) + 30.0,
             what="orphans reaped")


def test_usage_errors():
    assert run([TEND, "--"]).returncode == 2
    assert run([TEND, "-g", "x"]).returncode == 2
    for args, message in [(["-e", "256", "--", "true"], "-e '256': not an exit status"),
                          (["-e", "x", "--", "true"], "-e 'x': not an exit status"),
                          (["-p", "SIGNOPE", "--", "true"], "-p 'SIGNOPE': not a signal"),
                          (["-e"], "usage:"), (["-e", "1", "--"], "usage:")]:
        r = run([TEND] + args)
        assert r.returncode == 2 and message in r.stderr, (args, r.stderr)


@pytest.mark.parametrize("args,script,status", [
    (["-e", "143"], "exit 143", 0),
    (["-e", "143"], "kill -TERM $$", 0),  # as tini: 128 + N is mapped too
    (["-e", "143"], "exit 3", 3),
    (["-e", "3", "-e", "143"], "exit 3", 0),
    (["-g", "-e", "3", "-e", "143"], "exit 143", 0),
])
def test_expected_exit_status_is_success(tend_run, args, script, status):
    assert tend_run(args + ["--", "/bin/sh", "-c", script]).wait() == status


def test_parent_death_signal_is_forwarded():
    # a parent that starts tend, then is killed: tend gets SIGTERM and passes it on
    code = f"import subprocess; subprocess.call([{TEND!r}, '-p', 'SIGTERM', '--', {SIGECHO!r}])"
    parent = subprocess.Popen(["/usr/bin/python3", "-c", code], stdout=subprocess.PIPE,
                              start_new_session=True)
    out = Collector(parent.stdout.fileno())
    below = []
    try:
        out.wait(r"ready \d+")
        below = descendants(parent.pid)
        parent.kill()
        parent.wait(10)
        out.wait(r"got SIGTERM")
        wait_for(lambda: all(gone(p) for p in below), what="tend and its child to exit")
    finally:
        kill_all(below + [parent.pid])
        parent.wait(10)
        out.thread.join(5)
        parent.stdout.close()


def test_parent_death_sigkill_ends_the_namespace():
    # tend as PID 1, its parent killed (no --kill-child: unshare asks for nothing itself)
    outer = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", TEND, "-p", "SIGKILL",
                              "--", "sleep", "1000"], stdin=subprocess.DEVNULL,
                             start_new_session=True)
    tend = child = None
    try:
        tend = wait_for(lambda: (children(outer.pid) or [None])[0], what="tend to start")
        child = wait_for(lambda: (children(tend) or [None])[0], what="the child to start")
        outer.kill()
        outer.wait(10)
        wait_for(lambda: gone(tend) and gone(child), what="tend and its child to die")
    finally:
        kill_all([p for p in (child, tend) if p])
        outer.kill()
        outer.wait(10)


def test_the_child_gets_pipe_and_tty_signals_at_their_defaults():
    # tend ignores and blocks them for itself; the child must not inherit that
    out = run([TEND, "--", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"]).stdout
    bits = sum(1 << (sig - 1) for sig in PIPE_AND_TTY)
    for field in ("SigBlk:", "SigIgn:"):
        assert int(out.split(field)[1].split()[0], 16) & bits == 0, out


@pytest.mark.parametrize("sig", [signal.SIGTTIN, signal.SIGTTOU])
def test_tty_signals_do_not_stop_tend_in_the_background(tty_job, sig):
    j = tty_job([TEND, "--", SIGECHO, "0"])
    j.screen.wait(r"ready \d+")
    os.kill(j.job, sig)
    wait_for(lambda: f"got {sig.name}" in j.screen.text() or "stopped" in j.report.text(),
             what=f"{sig.name} to reach the child")
    assert "stopped" not in j.report.text()
    assert not proc_status(j.job)["State"].startswith("T")
    os.kill(j.job, signal.SIGTERM)
    assert j.result() == "exited 0"


@pytest.mark.parametrize("pid1", [False, True], ids=["child", "pid1"])
def test_exec_error_reaches_a_terminal_with_tostop(tty_job, pid1):
    # the failed child took the terminal: tend writes its error from the background
    args = [TEND, "--", "/doesnotexist"]
    if pid1:
        args = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"] + args
    j = tty_job(args)
    assert j.result() == "exited 127"
    j.screen.wait(r"exec '/doesnotexist': No such file or directory")


def test_leftovers_get_sigterm_before_exit(tend_run, tmp_path):
    mark = tmp_path / "term"
    # an orphan that writes a file on SIGTERM: only a sweep with SIGTERM lets it
    script = (f"(trap 'echo x > {mark}; exit 0' TERM; while :; do sleep 0.05; done) & "
              "sleep 0.2; exit 3")
    t = tend_run(["--", "/bin/sh", "-c", script])
    assert t.wait() == 3
    assert mark.exists()


def test_child_keeps_the_signal_mask_and_ignored_set(tmp_path):
    # started with SIGUSR2 ignored and SIGHUP blocked, as tini keeps them
    code = ("import signal,subprocess,sys\n"
            "signal.signal(signal.SIGUSR2, signal.SIG_IGN)\n"
            "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})\n"
            f"sys.exit(subprocess.call(['{TEND}', '--', 'grep', '-E', '^Sig(Blk|Ign)', '/proc/self/status']))\n")
    r = run(["/usr/bin/python3", "-c", code])
    blk = int(r.stdout.split("SigBlk:")[1].split()[0], 16)
    ign = int(r.stdout.split("SigIgn:")[1].split()[0], 16)
    assert blk & (1 << (signal.SIGHUP - 1))
    assert ign & (1 << (signal.SIGUSR2 - 1))


@pytest.mark.parametrize("args", [["--", "/bin/sh", "-c", "exit 5"], ["-c", "CONFIG"]])
def test_started_with_sigchld_and_sigterm_blocked(tmp_path, args):
    # a parent may hand tend a mask with them blocked: tend must still reap and stop
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {tmp_path}/tend.sock\n"
                   "[program:quick]\ncommand = /bin/sh -c 'exit 5'\nstartsecs = 0\n"
                   "autorestart = false\n")
    blocked = {signal.SIGCHLD, signal.SIGTERM}
    p = subprocess.Popen([TEND] + [str(ini) if a == "CONFIG" else a for a in args],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, blocked))
    try:
        if args[0] == "-c":
            for line in p.stdout:
                if "quick: exited" in line:
                    break
            p.send_signal(signal.SIGTERM)
        assert p.wait(20 * SLOW) == (5 if args[0] == "--" else 0)
    finally:
        p.kill()
        p.wait()


@pytest.mark.native  # valgrind hands descriptors of its own to the child
def test_the_child_inherits_what_tend_inherited_and_nothing_of_tends(tmp_path):
    # socket activation hands descriptors from 3 up (LISTEN_FDS): tini passes them on
    r, w = os.pipe()
    os.set_inheritable(r, True)
    try:
        out = run([TEND, "--", "/bin/sh", "-c", "ls /proc/self/fd"], pass_fds=(r,)).stdout
    finally:
        os.close(r)
        os.close(w)
    fds = sorted(int(x) for x in out.split())
    assert fds[:3] == [0, 1, 2] and r in fds
    assert len(fds) == 5, out  # 0-2, the inherited one, and ls's own directory handle
