"""tend -- CMD: the tini job, as PID 1 of a fresh PID namespace."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import ROOT, SLOW, TEND, proc_status, run, wait_for

HELPERS = os.path.join(ROOT, "tests", "helpers")
SIGECHO = os.path.join(HELPERS, "sigecho.py")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                                 signal.SIGWINCH, signal.SIGRTMIN + 3])
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
