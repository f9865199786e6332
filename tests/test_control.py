"""tendctl and the control socket, against tend as PID 1."""
import grp
import json
import os
import pathlib
import pwd
import shutil
import tempfile
import re
import signal
import socket
import stat
import struct
import subprocess
import time

import pytest

from conftest import ROOT, SANITIZED, SLOW, TEND, TENDCTL, Tend, run, wait_for

WORKER = os.path.join(ROOT, "examples", "worker.js")


def ctl(sock, *args, **kw):
    return run([TENDCTL, "-s", str(sock), *args], **kw)


def start(tend_run, tmp_path, text, **kw):
    sock = tmp_path / "tend.sock"
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\n" + text)
    t = tend_run(["-c", str(ini)], **kw)
    wait_for(lambda: ctl(sock, "version").returncode == 0, what="the control socket")
    return t, sock, ini


BASIC = """
[program:web]
command = sleep 1000
numprocs = 3
startsecs = 0.2
[program:job]
command = /bin/sh -c 'echo out-line; echo err-line >&2; exec sleep 1000'
startsecs = 0
[program:manual]
command = sleep 1000
autostart = false
"""


def running(sock, name):
    r = ctl(sock, "status", "--json", name)
    return r.returncode == 0 and all(p["state"] == "RUNNING" for p in json.loads(r.stdout))


def test_status_and_its_exit_codes(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, BASIC)
    wait_for(lambda: running(sock, "web") and running(sock, "job"))
    r = ctl(sock, "status")
    assert r.returncode == 3  # manual is not running
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "STATE", "PID", "UPTIME"]
    assert re.search(r"^web_00 +RUNNING +\d+ ", r.stdout, re.M)
    assert re.search(r"^manual +STOPPED +- ", r.stdout, re.M)
    assert ctl(sock, "status", "web").returncode == 0
    assert ctl(sock, "status", "web:*", "job").returncode == 0
    r = ctl(sock, "status", "nope")
    assert r.returncode == 4 and "no such process: nope" in r.stderr
    data = json.loads(ctl(sock, "status", "--json").stdout)
    assert [p["name"] for p in data][:3] == ["web_00", "web_01", "web_02"]
    web = data[0]
    assert set(web) >= {"name", "program", "group", "state", "pid", "port", "uptime", "restarts",
                        "exit_status", "ready", "numprocs"}
    assert web["program"] == "web" and web["ready"] is True and web["numprocs"] == 3
    manual = [p for p in data if p["name"] == "manual"][0]
    assert manual["pid"] is None and manual["ready"] is False and manual["exit_status"] is None


def test_start_stop_restart_signal_pid(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, BASIC)
    wait_for(lambda: running(sock, "web"))
    r = ctl(sock, "start", "manual")
    assert r.returncode == 0 and "manual: started" in r.stdout
    assert ctl(sock, "start", "manual").stdout.strip() == "manual: already running"
    pid = int(ctl(sock, "pid", "manual").stdout)
    r = ctl(sock, "restart", "manual")
    assert r.returncode == 0 and "manual: restarted" in r.stdout
    assert int(ctl(sock, "pid", "manual").stdout) != pid
    r = ctl(sock, "stop", "web:*")
    assert r.returncode == 0 and r.stdout.count("stopped") == 3
    assert ctl(sock, "status", "web").returncode == 3
    r = ctl(sock, "pid", "web_00")
    assert r.stdout.strip() == "0" and r.returncode == 3
    assert int(ctl(sock, "pid").stdout) == 1  # tend is PID 1 of its namespace
    r = ctl(sock, "signal", "USR1", "manual")
    assert r.returncode == 0 and "sent SIGUSR1" in r.stdout
    t.wait_line(r"manual: killed by SIGUSR1")
    assert ctl(sock, "signal", "TERM", "web_00").returncode == 1  # not running
    assert ctl(sock, "signal", "NOPE", "manual").returncode == 2


def test_start_reports_a_failure(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:bad]
command = /bin/sh -c 'exit 3'
autostart = false
startretries = 0
""")
    r = ctl(sock, "start", "bad")
    assert r.returncode == 1
    assert "bad: FATAL: exited with status 3" in r.stderr


def test_health(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:slow]
command = sleep 1000
startsecs = 1.5
[program:off]
command = sleep 1000
autostart = false
""")
    r = ctl(sock, "health")
    assert r.returncode == 3 and "slow: STARTING" in r.stdout
    wait_for(lambda: ctl(sock, "health").returncode == 0, what="healthy")
    assert ctl(sock, "health").stdout == "ok\n"


def test_tail_and_tail_follow(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:talker]
command = /bin/sh -c 'for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; exec sleep 1000'
startsecs = 0
""")
    wait_for(lambda: "line 5" in ctl(sock, "tail", "talker").stdout)
    assert ctl(sock, "tail", "-n", "2", "talker").stdout == "line 4\nline 5\n"
    assert ctl(sock, "tail", "talker", "stderr").stdout == "oops\n"
    f = subprocess.Popen([TENDCTL, "-s", str(sock), "tail", "-f", "-n", "1", "talker"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert f.stdout.readline() == "line 5\n"  # attached: what comes next must reach it
        ctl(sock, "restart", "talker")
        assert f.stdout.readline() == "line 1\n"
    finally:
        f.kill()
        f.wait()
    assert ctl(sock, "status", "talker").returncode == 0  # tend did not mind the client leaving


def test_usage_and_unreachable(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, BASIC)
    assert ctl(sock, "frobnicate").returncode == 2
    assert ctl(sock, "scale", "web").returncode == 2
    assert ctl(sock, "scale", "nope=2").returncode == 4
    assert ctl(sock, "tail", "-x", "web_00").returncode == 2
    assert run([TENDCTL]).returncode == 2
    r = ctl(tmp_path / "no.sock", "status")
    assert r.returncode == 5 and "cannot reach tend" in r.stderr
    assert "tend" in ctl(sock, "version").stdout
    r = ctl(sock, "nginx")
    assert r.returncode == 1 and "no [nginx]" in r.stderr


def test_socket_mode_owner_and_a_second_tend(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path, BASIC)
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    second = Tend(["-c", str(ini)], pid1=False)
    try:
        assert second.wait(10) == 1
        assert "another tend answers on it" in second.output()
    finally:
        second.kill()
    assert ctl(sock, "status", "web").returncode in (0, 3)  # the first is untouched


def test_stale_socket_is_replaced(tend_run, tmp_path):
    sock = tmp_path / "tend.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(sock))
    s.close()  # a socket file nobody answers on
    t, sock, _ = start(tend_run, tmp_path, "[program:a]\ncommand = sleep 1000\n")
    assert ctl(sock, "version").returncode == 0


def raw(sock, data, read=True):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5 * SLOW)
    s.connect(str(sock))
    for chunk in data:
        s.sendall(chunk)
    out = b""
    if read:
        try:
            while chunk := s.recv(65536):
                out += chunk
        except socket.timeout:
            pass
    s.close()
    return out


def frame(payload):
    return b"TND1" + struct.pack(">I", len(payload)) + payload


def end_status(reply):
    """The exit status in the reply's end frame, or None."""
    i = 0
    while i + 8 <= len(reply):
        n = struct.unpack(">I", reply[i + 4:i + 8])[0]
        body = reply[i + 8:i + 8 + n]
        if body[:1] == b"x":
            return body[1]
        i += 8 + n
    return None


def test_bad_requests_get_an_error_and_tend_stays_up(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, BASIC)
    wait_for(lambda: running(sock, "web"))
    assert end_status(raw(sock, [b"SSH-2.0-OpenSSH_9.2\r\n"])) == 2       # another protocol
    assert end_status(raw(sock, [b"TND1\xff\xff\xff\xff"])) == 2            # claims 4 GiB
    assert end_status(raw(sock, [frame(b"x" * 5000)])) == 2                # too large
    assert end_status(raw(sock, [frame(b"status")])) == 2                  # no final NUL
    assert end_status(raw(sock, [frame(b"\0")])) == 2                      # empty command
    assert end_status(raw(sock, [frame(b"a\0" * 200)])) == 2               # too many words
    assert end_status(raw(sock, [frame(b"status\0") + b"extra"])) == 2     # two at once
    raw(sock, [b"TND1\x00\x00\x00\x10stat"], read=False)                   # truncated, then gone
    raw(sock, [b"TN"], read=False)                                         # a header cut short
    slow = frame(b"status\0web\0")
    assert end_status(raw(sock, [bytes([b]) for b in slow])) == 0          # byte by byte
    assert ctl(sock, "status", "web").returncode == 0
    assert t.outer.poll() is None


def test_clients_that_never_finish_a_request_are_let_go(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, BASIC)
    wait_for(lambda: running(sock, "web"))
    fds = lambda: len(os.listdir(f"/proc/{t.pid}/fd"))
    before = fds()
    stuck = []
    try:
        for _ in range(300):  # more than tend keeps open: the last ones are refused at once
            s = socket.socket(socket.AF_UNIX)
            s.connect(str(sock))
            s.sendall(b"TND1")
            stuck.append(s)
        wait_for(lambda: fds() >= before + 200, what="the connections accepted")
        stuck[-1].settimeout(5 * SLOW)
        assert b"too many control connections" in stuck[-1].recv(4096)
        # each gets 5 s to send its request, then tend lets it go
        wait_for(lambda: fds() <= before, timeout=15, what="the stuck connections closed")
        assert all(s.recv(4096) == b"" for s in stuck[:10])
    finally:
        for s in stuck:
            s.close()
    assert ctl(sock, "status", "web").returncode == 0


def in_a_directory_nobody_reaches(test, tend_run):
    shared = pathlib.Path(tempfile.mkdtemp(prefix="tend-uid-"))  # tmp_path is root's alone
    shared.chmod(0o755)
    try:
        test(tend_run, shared)
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_a_connection_from_another_uid_is_refused(tend_run):
    in_a_directory_nobody_reaches(refused_for_nobody, tend_run)


def refused_for_nobody(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, BASIC + "\n[unix_http_server]\nchmod = 0666\n")
    r = run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", TENDCTL, "-s",
             str(sock), "status"])
    assert r.returncode == 1 and "permission denied" in r.stderr
    assert ctl(sock, "status", "web").returncode in (0, 3)


# Each write to a socket waits 0.3 s: tend has refused the connection, answered and
# closed before tendctl's request goes out, which a busy machine can make happen.
SLOW_SOCKET_WRITES = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
static void wait_if_socket(int fd)
{
    struct stat st;
    struct timespec ts = {0, 300 * 1000 * 1000};
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
        nanosleep(&ts, NULL);
}
ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    wait_if_socket(fd);
    return ((ssize_t(*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send"))(fd, buf, len, flags);
}
ssize_t write(int fd, const void *buf, size_t len)
{
    wait_if_socket(fd);
    return ((ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write"))(fd, buf, len);
}
"""


@pytest.mark.skipif(SANITIZED, reason="ASan's runtime must come first: no LD_PRELOAD")
def test_a_refused_client_reads_the_answer_when_tend_closed_first(tend_run):
    in_a_directory_nobody_reaches(refused_before_the_request, tend_run)


def refused_before_the_request(tend_run, tmp_path):
    shim = tmp_path / "slow.so"
    src = tmp_path / "slow.c"
    src.write_text(SLOW_SOCKET_WRITES)
    r = run(["cc", "-shared", "-fPIC", "-o", str(shim), str(src), "-ldl"])
    assert r.returncode == 0, r.stderr
    t, sock, _ = start(tend_run, tmp_path, BASIC + "\n[unix_http_server]\nchmod = 0666\n")
    # setpriv passes LD_PRELOAD on (an env in between could not reach a TENDCTL
    # under root's 0700 home, as in a checkout in /root)
    r = run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", TENDCTL, "-s",
             str(sock), "status"], env={**os.environ, "LD_PRELOAD": str(shim)})
    # not killed by SIGPIPE (-13): tend's answer is read and its status passed on
    assert (r.returncode, "permission denied" in r.stderr) == (1, True), r


def test_socket_owner_user_and_group(tend_run):
    in_a_directory_nobody_reaches(owned_by_nobody, tend_run)


def owned_by_nobody(tend_run, tmp_path):
    # the group is not nobody's own: the :group part is what sets it
    t, sock, ini = start(tend_run, tmp_path, BASIC + "\n[unix_http_server]\nchown = nobody:daemon\n")
    st = os.stat(sock)
    assert (st.st_uid, st.st_gid) == (pwd.getpwnam("nobody").pw_uid, grp.getgrnam("daemon").gr_gid)
    r = run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", TENDCTL, "-s",
             str(sock), "status", "web"])
    assert r.returncode in (0, 3) and "web" in r.stdout, r
    ini.write_text(ini.read_text().replace("nobody:daemon", "nobody:no-such-group"))
    r = run([TEND, "check", "-c", str(ini)])
    assert "group 'no-such-group' does not exist" in r.stdout + r.stderr, r


def test_reload_applies_only_the_difference(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path, BASIC)
    wait_for(lambda: running(sock, "web") and running(sock, "job"))
    before = {p["name"]: p["pid"] for p in json.loads(ctl(sock, "status", "--json").stdout)}
    text = ini.read_text()
    ini.write_text(text.replace("command = sleep 1000\nnumprocs = 3",
                                "command = sleep 1001\nnumprocs = 3")
                   + "[program:added]\ncommand = sleep 1000\nstartsecs = 0\n")
    r = ctl(sock, "reload")
    assert r.returncode == 0, r.stderr
    assert "1 added" in r.stdout and "3 restarted" in r.stdout
    wait_for(lambda: running(sock, "web") and running(sock, "added"))
    after = {p["name"]: p["pid"] for p in json.loads(ctl(sock, "status", "--json").stdout)}
    assert after["job"] == before["job"]
    assert all(after[f"web_0{i}"] != before[f"web_0{i}"] for i in range(3))
    ini.write_text(ini.read_text() + "[program:broken]\ncommand = echo 'unterminated\n")
    r = ctl(sock, "reload")
    assert r.returncode == 1
    assert re.search(rf"{re.escape(str(ini))}:\d+: error: command: unterminated", r.stderr), r.stderr
    assert {p["name"]: p["pid"] for p in json.loads(ctl(sock, "status", "--json").stdout)} == after
    ini.write_text(text)  # and SIGHUP does the same as reload
    t.signal(signal.SIGHUP)
    t.wait_line(r"reloaded .*1 removed")
    wait_for(lambda: ctl(sock, "status", "added").returncode == 4, what="added removed")


def test_scale_up_and_down(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:web]
command = sleep 1000
numprocs = 2
port = 40100
startsecs = 0
""")
    wait_for(lambda: running(sock, "web"))
    r = ctl(sock, "scale", "web=5")
    assert r.returncode == 0 and "web_04: started" in r.stdout
    data = json.loads(ctl(sock, "status", "--json", "web").stdout)
    assert [p["port"] for p in data] == [40100 + i for i in range(5)]
    assert {p["numprocs"] for p in data} == {5}
    r = ctl(sock, "scale", "web=1")
    assert r.returncode == 0 and r.stdout.count("removed") == 4
    assert [p["name"] for p in json.loads(ctl(sock, "status", "--json").stdout)] == ["web_00"]


def test_shutdown_command(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, BASIC)
    r = ctl(sock, "shutdown")
    assert r.returncode == 0 and "shutting down" in r.stdout
    assert t.wait() == 0
    assert not sock.exists()
