"""Soak and faults: tend keeps supervising the rest, says what happened once, and
loses no line it already accepted."""
import fcntl
import json
import os
import pathlib
import shutil
import tempfile
import re
import signal
import socket
import struct
import subprocess
import termios
import time

import pytest

from conftest import (ROOT, SANITIZED, SLOW, TEND, TENDCTL, Tend, proc_status, run, wait_count,
                      wait_for)

HELPERS = os.path.join(ROOT, "tests", "helpers")


def start(tend_run, tmp_path, text, **kw):
    sock = tmp_path / "tend.sock"
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\n" + text)
    t = tend_run(["-c", str(ini)], **kw)
    wait_for(lambda: ctl(sock, "version").returncode == 0, what="the control socket")
    return t, sock, ini


def ctl(sock, *args):
    return run([TENDCTL, "-s", str(sock), *args])


def status(sock, name):
    r = ctl(sock, "status", "--json", name)
    return json.loads(r.stdout) if r.stdout.startswith("[") else []


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def unread(fd):
    """Bytes waiting in a pipe."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]


def rss(pid):
    return int(proc_status(pid)["VmRSS"].split()[0])


KEEPER = """
[program:keeper]
command = sleep 1000
startsecs = 0
"""


def keeper_fine(sock):
    s = status(sock, "keeper")
    return s and s[0]["state"] == "RUNNING"


@pytest.mark.native
def test_soak_ten_thousand_restarts_hold_memory_and_descriptors(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
loglevel = warn
[program:crash]
command = /bin/false
restart_delay = 0
startretries = unlimited
""" + KEEPER)
    restarts = lambda: (status(sock, "crash") or [{"restarts": 0}])[0]["restarts"]

    def at_rest():  # between restarts some pipes are in flight: compare with it stopped
        assert ctl(sock, "stop", "crash").returncode == 0
        wait_for(lambda: not [q for q in t.descendants()
                              if "false" in open(f"/proc/{q}/cmdline").read()])
    wait_for(lambda: restarts() >= 100, timeout=30, what="100 restarts")
    at_rest()
    early = rss(t.pid), fds(t.pid)  # the last pipe's EOF may be unread yet: at most one more
    assert ctl(sock, "start", "crash").returncode in (0, 1)  # it never gets ready: 1
    wait_count(restarts, 10000, what="restarts")
    at_rest()
    wait_for(lambda: fds(t.pid) <= early[1], what=f"tend's descriptors back to {early[1]}")
    late = rss(t.pid)
    # kB: no growth beyond the allocator's slack
    assert SANITIZED or late <= early[0] + 64, (early, late)
    zombies = [p for p in t.ns_pids() if (proc_status(p) or {}).get("State", "").startswith("Z")]
    assert len(zombies) <= 1  # at most the one just exiting
    assert keeper_fine(sock)


def test_clients_that_leave_mid_request_or_mid_tail(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:talker]
command = /bin/sh -c 'while :; do echo tick; sleep 0.05; done'
startsecs = 0
""" + KEEPER)
    for partial in (b"TN", b"TND1\x00\x00\x00\x20status\0", b"TND1\x00\x00\x00\x07stat"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(sock))
        s.sendall(partial)
        s.close()
    for _ in range(3):  # tail -f, then the client vanishes
        f = subprocess.Popen([TENDCTL, "-s", str(sock), "tail", "-f", "talker"],
                             stdout=subprocess.PIPE)
        f.stdout.readline()
        f.kill()
        f.wait()
    wait_for(lambda: keeper_fine(sock))
    assert "tick" in ctl(sock, "tail", "talker").stdout
    assert t.outer.poll() is None


def test_a_child_that_closes_its_stdout_early(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:mute]
command = /bin/sh -c 'echo before; exec 1>&-; echo still-alive >&2; exec sleep 1000'
startsecs = 0.3
""" + KEEPER)
    t.wait_line(r"mute +\| before")
    t.wait_line(r"mute +\| still-alive")
    wait_for(lambda: status(sock, "mute")[0]["state"] == "RUNNING")
    assert keeper_fine(sock)


@pytest.mark.native
def test_a_ten_megabyte_line(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, f"""
[program:long]
command = {HELPERS}/longline.py 10000000
startsecs = 0
""" + KEEPER)
    t.wait_line(r"long +\| after", timeout=30)
    pieces = [m.group(1) for m in (re.match(r"long +[|+] (\d.*)$", line)
                                   for line in t.output().splitlines()) if m]
    assert "".join(pieces) == ("0123456789" * 1000000)[:10000000]
    assert all(len(p) <= 16384 for p in pieces)
    assert t.count(r"^long +\+ ") == len(pieces) - 1  # every piece after the first is marked
    assert SANITIZED or rss(t.pid) < 16 * 1024
    assert keeper_fine(sock)


def test_a_child_in_its_own_group_with_children(tend_run, tmp_path):
    mark = tmp_path / "grandchild-got-term"
    t, sock, _ = start(tend_run, tmp_path, f"""
[program:escapee]
command = /usr/bin/setsid -w /bin/sh -c '(trap "echo x > {mark}; exit 0" TERM; while :; do sleep 0.05; done) & exec sleep 1000'
startsecs = 0.3
""" + KEEPER)
    wait_for(lambda: status(sock, "escapee")[0]["state"] == "RUNNING")
    assert ctl(sock, "stop", "escapee").returncode == 0  # its own process group: TERM to it alone
    assert keeper_fine(sock)
    t.signal(signal.SIGTERM)
    assert t.wait() == 0
    assert mark.exists()  # the grandchild left behind got the sweep's SIGTERM


def test_tends_stdout_closed(tmp_path):
    sock = tmp_path / "tend.sock"
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\n[program:chatty]\n"
                   "command = /bin/sh -c 'i=0; while :; do echo chatter $i; i=$((i+1)); "
                   "sleep 0.01; done'\n"
                   "startsecs = 0\n" + KEEPER)
    r, w = os.pipe()
    err = open(tmp_path / "stderr", "w")
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", TEND,
                          "-c", str(ini)], stdout=w, stderr=err, start_new_session=True)
    os.close(w)
    try:
        wait_for(lambda: ctl(sock, "version").returncode == 0)
        os.read(r, 4096)
        os.close(r)  # nobody reads tend's stdout any more
        wait_for(lambda: "stdout: broken pipe" in (tmp_path / "stderr").read_text(), timeout=10)
        last = lambda: max(map(int, re.findall(r"chatter (\d+)", ctl(sock, "tail", "chatty").stdout)))
        then = last()  # the ring still has it; 50 lines more have hit the closed pipe:
        wait_for(lambda: last() >= then + 50, what="50 more lines")
        assert (tmp_path / "stderr").read_text().count("stdout: broken pipe") == 1
        assert ctl(sock, "restart", "keeper").returncode == 0
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


@pytest.mark.native
def test_tends_stdout_full_keeps_control_responsive(tmp_path):
    sock = tmp_path / "tend.sock"
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\n[program:flood]\n"
                   f"command = {HELPERS}/lines.py f 1000000\nstartsecs = 0\n" + KEEPER)
    r, w = os.pipe()
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", TEND,
                          "-c", str(ini)], stdout=w, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    os.close(w)
    try:
        wait_for(lambda: ctl(sock, "version").returncode == 0)
        # nobody reads tend's stdout: it fills (to within a page or two: writes are not
        # packed exactly), then stands still
        size, seen = fcntl.fcntl(r, fcntl.F_GETPIPE_SZ), [0]

        def full():
            seen.append(unread(r))
            return seen[-1] > size * 3 // 4 and seen[-1] == seen[-2]
        wait_for(full, interval=0.05, what="tend's stdout full")
        started = time.monotonic()
        assert ctl(sock, "status", "keeper").returncode == 0
        assert time.monotonic() - started < 1 * SLOW
        tend = int(open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()[0])
        assert SANITIZED or rss(tend) < 16 * 1024
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        os.close(r)


def test_sigstop_and_sigcont_of_a_child(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:napper]
command = sleep 1000
startsecs = 0
stopwaitsecs = 30
""" + KEEPER)
    wait_for(lambda: status(sock, "napper") and status(sock, "napper")[0]["state"] == "RUNNING")
    pid = status(sock, "napper")[0]["pid"]
    host = [q for q in t.descendants() if open(f"/proc/{q}/cmdline").read().startswith("sleep")]
    napper = [q for q in host if proc_status(q).get("NSpid", "").split()[-1] == str(pid)][0]
    os.kill(napper, signal.SIGSTOP)
    wait_for(lambda: proc_status(napper)["State"].startswith("T"), what="stopped")
    assert status(sock, "napper")[0]["state"] == "RUNNING"  # stopped is not exited
    started = time.monotonic()
    assert ctl(sock, "stop", "napper").returncode == 0  # SIGTERM, then SIGCONT: it can act on it
    assert time.monotonic() - started < 5 * SLOW
    assert keeper_fine(sock)


def unused_uid():
    """A uid no process has: RLIMIT_NPROC counts every process of the user, and on a
    shared machine nobody runs other things (nginx workers of other test runs)."""
    used = set()
    for entry in os.listdir("/proc"):
        st = proc_status(entry) if entry.isdigit() else None
        if st and "Uid" in st:
            used |= {int(x) for x in st["Uid"].split()}
    return next(uid for uid in range(61000, 65000) if uid not in used)


@pytest.mark.native  # as another user: valgrind cannot write its log there
def test_fork_failing_under_rlimit_nproc():
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="tend-nproc-"))  # readable by nobody
    tmp_path.chmod(0o755)
    (tmp_path / "tend.ini").write_text(f"""
[tend]
socket = {tmp_path}/tend.sock
[program:many]
command = sleep 1000
numprocs = 6
startsecs = 0
startretries = 1
restart_delay = 10ms
""")
    # a user of its own may have 4 processes: tend and three children; the other forks fail
    t = Tend(["-c", str(tmp_path / "tend.ini")], pid1=True,
             wrap=["prlimit", "--nproc=4", "setpriv", f"--reuid={unused_uid()}",
                   "--regid=nogroup", "--clear-groups"])
    try:
        t.wait_line(r"fork: Resource temporarily unavailable", timeout=20)
        t.wait_line(r"gave up after 2 failed starts: fork: Resource temporarily unavailable")
        t.wait_line(r"many_0\d: running", timeout=20)  # those that could fork go on
        assert t.outer.poll() is None
    finally:
        t.kill()
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_missing_nginx_binary_fails_only_nginx(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, f"""
[program:web]
command = sleep 1000
port = 41230
startsecs = 0
[program:nginx]
command = /nonexistent/nginx -c {tmp_path}/n.conf -g 'daemon off;'
[nginx]
upstream = web
listen = 127.0.0.1:41239
config = {tmp_path}/run/n.conf
""")
    # tried as any start is (it may be installed meanwhile), then given up, once
    t.wait_line(r"nginx: gave up after 4 failed starts: exec '/nonexistent/nginx': "
                r"No such file or directory")
    assert t.count(r"nginx: gave up") == 1
    assert status(sock, "nginx")[0]["state"] == "FATAL"
    assert status(sock, "web")[0]["state"] == "RUNNING"


def test_config_deleted_before_a_reload(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path, KEEPER)
    wait_for(lambda: keeper_fine(sock))
    pid = status(sock, "keeper")[0]["pid"]
    ini.unlink()
    r = ctl(sock, "reload")
    assert r.returncode == 1 and "No such file or directory" in r.stderr
    assert status(sock, "keeper")[0]["pid"] == pid


def test_disk_full_for_a_log_file(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:logger]
command = /bin/sh -c 'for i in 1 2 3 4 5; do echo "line $i"; done; exec sleep 1000'
stdout_logfile = /dev/full
startsecs = 0
""" + KEEPER)
    t.wait_line(r"write '/dev/full': No space left on device")
    wait_for(lambda: "line 5" in ctl(sock, "tail", "logger").stdout)
    assert ctl(sock, "tail", "logger").stdout == "".join(f"line {i}\n" for i in range(1, 6))
    assert t.count(r"No space left on device") == 1  # said once
    assert keeper_fine(sock)


@pytest.mark.skipif(SANITIZED, reason="ASan reserves terabytes of address space")
def test_a_reload_without_memory_keeps_the_running_config(tend_run, tmp_path):
    """tend.ini(5), MEMORY: out of memory, a reload fails and the old config stays."""
    t, sock, ini = start(tend_run, tmp_path, KEEPER, pid1=False)
    wait_for(lambda: keeper_fine(sock), what="keeper running")
    pid = t.pid
    # a config that needs tens of megabytes to load, under a limit a few above today's use
    ini.write_text(ini.read_text() + """
[program:many]
command = sleep 1000
process_name = %(program_name)s_%(process_num)06d
numprocs = 100000
autostart = false
[program:more]
command = sleep 1000
process_name = %(program_name)s_%(process_num)06d
numprocs = 100000
autostart = false
""")
    size_kb = int(proc_status(pid)["VmSize"].split()[0])
    run(["prlimit", f"--pid={pid}", f"--as={(size_kb + 8 * 1024) * 1024}:unlimited"], check=True)
    r = ctl(sock, "reload")
    assert r.returncode != 0 and "out of memory" in r.stderr, (r.returncode, r.stdout, r.stderr)
    t.wait_line(r"reload: .*out of memory.*the running config is kept")
    assert t.outer.poll() is None
    run(["prlimit", f"--pid={pid}", "--as=unlimited:unlimited"], check=True)
    assert keeper_fine(sock)
    assert not status(sock, "many_000000")  # the old config: no such process
    assert ctl(sock, "reload").returncode == 0  # with memory again, the same file loads
    wait_for(lambda: status(sock, "many_000000"), what="the new config")
