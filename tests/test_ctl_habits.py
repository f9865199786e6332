"""tendctl for supervisorctl's users: its verbs, its options, its way of finding the
socket, "did you mean", and what an HTTP client (supervisorctl itself) hears from
tend's socket. Real tend as PID 1, real tendctl, real supervisorctl."""
import os
import re
import shutil
import socket
import subprocess
import threading

import pytest

from conftest import SLOW, TENDCTL, run, wait_for
from test_control import end_status, frame, raw

SUPERVISORCTL = shutil.which("supervisorctl")

CONFIG = """
[program:web]
command = sleep 1000
numprocs = 2
startsecs = 0
[program:talker]
command = /bin/sh -c 'for i in 1 2 3 4 5; do echo line $i; done; exec sleep 1000'
startsecs = 0
[program:manual]
command = sleep 1000
autostart = false
[group:site]
programs = web
"""


def ctl(sock, *args, **kw):
    return run([TENDCTL, "-s", str(sock), *args], **kw)


def start(tend_run, tmp_path, text=CONFIG):
    sock = tmp_path / "tend.sock"
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\n" + text)
    t = tend_run(["-c", str(ini)])
    wait_for(lambda: ctl(sock, "version").returncode == 0, what="the control socket")
    wait_for(lambda: "line 5" in ctl(sock, "tail", "talker").stdout, what="talker's output")
    return t, sock, ini


class Follower:
    """A tendctl that streams (tail -f, log -f, fg): its lines, read as they come."""

    def __init__(self, args):
        self.p = subprocess.Popen([TENDCTL, *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, pattern, what):
        return wait_for(lambda: any(re.search(pattern, x) for x in self.lines), what=what)

    def stop(self):
        self.p.kill()
        self.p.wait()
        return self.p.stderr.read()


def supervisorctl_verbs(tmp_path):
    """Every verb `supervisorctl help` lists."""
    conf = tmp_path / "supervisorctl.conf"
    conf.write_text("[supervisorctl]\n")
    out = run([SUPERVISORCTL, "-c", str(conf), "help"]).stdout
    table = out.split("=====")[-1]
    return sorted(set(re.findall(r"[a-z]+", table)))


@pytest.mark.skipif(not SUPERVISORCTL, reason="supervisorctl is not installed")
def test_every_supervisorctl_verb_is_known(tmp_path):
    verbs = supervisorctl_verbs(tmp_path)
    assert {"update", "reread", "avail", "maintail", "fg", "clear", "open"} <= set(verbs)
    for verb in verbs:
        r = ctl(tmp_path / "none.sock", verb, "web")
        assert "unknown command" not in r.stderr, (verb, r.stderr)
        assert r.returncode in (2, 5), (verb, r.returncode, r.stderr)  # usage, or no tend here


def test_hints_then_tends_own_command(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path)
    r = ctl(sock, "update")
    assert r.stderr.startswith("tendctl: 'update' is tend's 'reload'")
    assert r.returncode == 0 and "reloaded" in r.stdout
    r = ctl(sock, "avail")
    assert "'avail' is tend's 'status'" in r.stderr
    assert re.search(r"^manual +STOPPED", r.stdout, re.M) and re.search(r"^web_01 ", r.stdout, re.M)
    assert r.returncode == 3  # as status: manual is not running
    for verb in ("quit", "exit", "open"):
        r = ctl(sock, verb)
        assert r.returncode == 2 and f"'{verb}'" in r.stderr and "unknown" not in r.stderr
    assert "shell" in ctl(sock, "quit").stderr
    assert "-s" in ctl(sock, "open", "unix:///x").stderr


def test_add_and_remove_explain_and_reload(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path)
    before = ini.read_text()
    ini.write_text(before + "[program:extra]\ncommand = sleep 1000\nstartsecs = 0\n")
    r = ctl(sock, "add", "extra")
    assert "tend applies config changes with 'reload'" in r.stderr and "'add'" in r.stderr
    assert r.returncode == 0 and "1 added" in r.stdout
    wait_for(lambda: ctl(sock, "status", "extra").returncode == 0, what="extra to run")
    ini.write_text(before)
    r = ctl(sock, "remove", "extra")
    assert "'remove'" in r.stderr and "1 removed" in r.stdout
    wait_for(lambda: ctl(sock, "status", "extra").returncode == 4, what="extra to go")


def test_reread_asks_for_a_dry_run(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path)
    ini.write_text(ini.read_text() + "[program:extra]\ncommand = sleep 1000\n")
    r = ctl(sock, "reread")
    assert r.stderr.startswith("tendctl: 'reread' is tend's 'reload --dry-run'")
    if re.match(r"reloaded .*1 added", r.stdout):
        pytest.skip("this tend applies reload --dry-run (the flag comes with another change)")
    assert r.returncode == 0
    assert ctl(sock, "status", "extra").returncode == 4  # told, not applied


def test_tail_counts_and_groups_as_supervisorctl_writes_them(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path)
    assert ctl(sock, "tail", "-2", "talker").stdout == "line 4\nline 5\n"
    assert ctl(sock, "tail", "-3", "talker", "stdout").stdout == "line 3\nline 4\nline 5\n"
    f = Follower(["-s", str(sock), "tail", "-f", "-1", "talker"])
    try:
        f.wait_line(r"^line 5$", "the last line")
        ctl(sock, "restart", "talker")
        f.wait_line(r"^line 1$", "a line from the restart")
        assert f.lines[0] == "line 5"
    finally:
        f.stop()
    assert ctl(sock, "tail", "-x", "talker").returncode == 2
    r = ctl(sock, "status", "site:")
    assert r.returncode == 0
    assert [x.split()[0] for x in r.stdout.splitlines()[1:]] == ["web_00", "web_01"]
    assert ctl(sock, "stop", "site:").stdout.count("stopped") == 2
    assert ctl(sock, "start", "site:").stdout.count("started") == 2


def test_fg_follows_and_says_input_is_not_forwarded(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path)
    f = Follower(["-s", str(sock), "fg", "talker"])
    try:
        f.wait_line(r"^line 5$", "fg's first lines")
        ctl(sock, "restart", "talker")
        f.wait_line(r"^line 1$", "fg following")
    finally:
        err = f.stop()
    assert "'fg' is tend's 'tail -f'" in err and "input does not reach" in err
    r = ctl(sock, "fg")
    assert r.returncode == 2 and "tendctl fg NAME" in r.stderr


def test_maintail_is_tends_own_log(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path)
    r = ctl(sock, "maintail")
    assert "'maintail' is tend's 'log'" in r.stderr
    assert "talker: running" in r.stdout or "web_00" in r.stdout
    assert len(ctl(sock, "log", "-n", "1").stdout.splitlines()) == 1
    assert len(ctl(sock, "maintail", "-2").stdout.splitlines()) == 2
    f = Follower(["-s", str(sock), "maintail", "-f", "-1"])
    try:
        wait_for(lambda: len(f.lines) == 1, what="the last line of tend's log")
        ctl(sock, "stop", "web_01")
        f.wait_line(r"web_01: .*stop", "tend's log line of the stop, as it is logged")
    finally:
        f.stop()
    assert ctl(sock, "log", "web").returncode == 2
    assert ctl(sock, "status", "talker").returncode == 0  # the follower's leaving was fine


def test_clear_empties_what_tail_shows(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path)
    r = ctl(sock, "clear", "talker", "web")
    assert r.returncode == 0
    assert r.stdout == "talker: cleared\nweb_00: cleared\nweb_01: cleared\n"
    assert ctl(sock, "tail", "talker").stdout == ""
    ctl(sock, "restart", "talker")
    wait_for(lambda: "line 5" in ctl(sock, "tail", "talker").stdout, what="new output")
    assert ctl(sock, "tail", "-n", "100", "talker").stdout.startswith("line 1\n")
    assert ctl(sock, "clear", "nope").returncode == 4
    assert ctl(sock, "clear").returncode == 2


def test_did_you_mean(tend_run, tmp_path):
    r = ctl(tmp_path / "none.sock", "stauts")  # told before any connection
    assert r.returncode == 2
    assert r.stderr == "tendctl: unknown command 'stauts' (did you mean 'status'?)\n"
    assert "did you mean 'maintail'" in ctl(tmp_path / "none.sock", "maintial").stderr
    r = ctl(tmp_path / "none.sock", "frobnicate")
    assert r.returncode == 2 and "did you mean" not in r.stderr and "--help" in r.stderr
    t, sock, _ = start(tend_run, tmp_path)
    r = ctl(sock, "status", "wbe_01")
    assert r.returncode == 4
    assert r.stderr == "tend: no such process: wbe_01 (did you mean 'web_01'?)\n"
    assert "did you mean 'talker'" in ctl(sock, "restart", "talkr").stderr
    assert "did you mean 'site:*'" in ctl(sock, "stop", "stie:*").stderr
    assert "did you mean 'site:'" in ctl(sock, "status", "sit:").stderr
    r = ctl(sock, "status", "zzzzzzzz")
    assert r.stderr == "tend: no such process: zzzzzzzz\n"


def test_socket_from_a_config_file(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "TEND_SOCKET"}
    r = run([TENDCTL, "-c", str(ini), "status", "talker"], env=env)
    assert r.returncode == 0 and "talker" in r.stdout
    conf = tmp_path / "supervisord.conf"  # supervisord's spelling, %(here)s as it expands
    conf.write_text("[unix_http_server]\nfile = %(here)s/tend.sock ; the socket\n"
                    "[supervisorctl]\nserverurl = unix:///nowhere.sock\n")
    assert run([TENDCTL, "-c", str(conf), "pid"], env=env).stdout.strip() == "1"
    conf.write_text("[supervisord]\nsocket = %(ENV_SOCKDIR)s/tend.sock\n"
                    "[unix_http_server]\nfile=/nowhere.sock\n")
    r = run([TENDCTL, "--configuration", str(conf), "pid"], env={**env, "SOCKDIR": str(tmp_path)})
    assert r.stdout.strip() == "1"
    conf.write_text("[supervisorctl]\nserverurl = unix://%s\n" % sock)
    assert run([TENDCTL, "-c", str(conf), "pid"], env=env).stdout.strip() == "1"
    conf.write_text("[program:x]\ncommand = true\n")  # no socket: tend's default,
    r = run([TENDCTL, "-c", str(conf), "status", "talker"],  # $TEND_SOCKET first, as tend
            env={**env, "XDG_RUNTIME_DIR": str(tmp_path / "x"), "TEND_SOCKET": str(sock)})
    assert r.returncode == 0 and "talker" in r.stdout
    r = run([TENDCTL, "-c", str(conf), "status", "talker"],
            env={**env, "XDG_RUNTIME_DIR": str(tmp_path / "x")})
    assert "talker" not in r.stdout
    default = "/run/tend.sock" if os.geteuid() == 0 else str(tmp_path / "x" / "tend.sock")
    assert r.returncode != 5 or f"cannot reach tend at '{default}'" in r.stderr
    r = run([TENDCTL, "-c", str(tmp_path / "missing.conf"), "pid"])
    assert r.returncode == 2 and "missing.conf" in r.stderr


def test_server_urls_and_credentials(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path)
    for args in (["-s", f"unix://{sock}"], ["--serverurl", f"unix://{sock}"],
                 [f"--serverurl=unix://{sock}"], ["-s", str(sock)]):
        r = run([TENDCTL, *args, "pid"])
        assert r.returncode == 0 and r.stdout.strip() == "1", args
    r = run([TENDCTL, "-s", "http://localhost:9001", "status"])
    assert r.returncode == 2 and "tend serves no HTTP" in r.stderr
    r = run([TENDCTL, "-s", str(sock), "-u", "user", "-p", "secret", "pid"])
    assert r.returncode == 0 and r.stdout.strip() == "1"
    assert "-u/-p ignored" in r.stderr and "secret" not in r.stderr
    r = run([TENDCTL, "-i"])
    assert r.returncode == 2 and "no interactive shell" in r.stderr
    assert run([TENDCTL, "-s"]).returncode == 2


@pytest.mark.skipif(not SUPERVISORCTL, reason="supervisorctl is not installed")
def test_supervisorctl_and_http_clients_read_what_the_socket_is(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path)
    r = run([SUPERVISORCTL, "-s", f"unix://{sock}", "status"])
    out = r.stdout + r.stderr
    assert "this is tend's control socket: use tendctl (see tendctl(1))" in out
    assert "BadStatusLine" not in out and "Broken pipe" not in out
    assert ctl(sock, "status", "talker").returncode == 0


def test_http_gets_http_and_garbage_gets_a_frame(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path)
    reply = raw(sock, [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"])
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 400 ")
    assert b"Content-Length: %d" % len(body) in head
    assert body == b"this is tend's control socket: use tendctl (see tendctl(1))\n"
    big = b"POST /RPC2 HTTP/1.1\r\nContent-Length: 9000\r\n\r\n" + b"x" * 9000
    assert raw(sock, [big]).startswith(b"HTTP/1.0 400 ")  # a long request: still told
    assert end_status(raw(sock, [b"garbage!garbage!"])) == 2  # not HTTP: tend's error frame
    assert end_status(raw(sock, [frame(b"pid\0")])) == 0
    s = socket.socket(socket.AF_UNIX)  # an HTTP client that never closes is let go
    s.settimeout(15 * SLOW)
    s.connect(str(sock))
    s.sendall(b"GET / HTTP/1.1\r\n\r\n")
    got = b""
    while chunk := s.recv(4096):
        got += chunk
    assert got.startswith(b"HTTP/1.0 400 ")

    def closed_by_tend():
        try:
            s.send(b"more of a body that never ends\r\n")
            return False
        except OSError:  # EPIPE or ECONNRESET: tend closed its end
            return True
    wait_for(closed_by_tend, 15, interval=0.2, what="tend to close a lingering HTTP client")
    s.close()
    assert ctl(sock, "status", "talker").returncode == 0


@pytest.mark.skipif(not SUPERVISORCTL, reason="supervisorctl is not installed")
def test_the_migration_page_names_every_supervisorctl_verb(tmp_path):
    """doc/migrating-from-supervisord.md's table of commands, held to supervisorctl's
    own list, so the page a user reads first does not fall behind."""
    page = open(os.path.join(os.path.dirname(__file__), "..", "doc",
                             "migrating-from-supervisord.md")).read()
    rows = [line.split("|")[1] for line in page.splitlines() if line.startswith("| `")]
    named = set(re.findall(r"[a-z]+", " ".join(re.findall(r"`([^`]*)`", " ".join(rows)))))
    missing = [v for v in supervisorctl_verbs(tmp_path) if v not in named and v != "help"]
    assert not missing, missing
