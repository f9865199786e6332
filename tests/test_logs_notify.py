"""Log files with rotation and reopening, and sd_notify both ways."""
import os
import pwd
import re
import signal
import socket
import subprocess
import time

from conftest import ROOT, TEND, TENDCTL, run, wait_for

HELPERS = os.path.join(ROOT, "tests", "helpers")


def start(tend_run, tmp_path, text, **kw):
    ini = tmp_path / "tend.ini"
    sock = tmp_path / "tend.sock"
    ini.write_text(f"[tend]\nsocket = {sock}\n" + text)
    return tend_run(["-c", str(ini)], **kw), sock


def test_rotation_keeps_every_line_exactly_once(tend_run, tmp_path):
    log = tmp_path / "out.log"
    t, _ = start(tend_run, tmp_path, f"""
[program:writer]
command = {HELPERS}/lines.py w 20000
stdout_logfile = {log}
stdout_logfile_maxbytes = 64KB
stdout_logfile_backups = 30
startsecs = 0
""")
    files = lambda: [log] + [tmp_path / f"out.log.{i}" for i in range(1, 31)]
    def read(f):  # a file may be renamed between listing and reading: rotation goes on
        try:
            return f.read_text()
        except FileNotFoundError:
            return ""
    text = lambda: "".join(read(f) for f in files())
    wait_for(lambda: "line 019999" in text(), timeout=30, what="every line written")
    lines = text().splitlines()
    numbers = sorted(int(re.match(r"w line (\d{6}) x{40}$", line).group(1)) for line in lines)
    assert numbers == list(range(20000))
    sizes = [f.stat().st_size for f in files() if f.exists()]
    assert len(sizes) > 10 and max(sizes) <= 64 * 1024
    for f in files():  # whole lines in every file: no line split at a rotation
        if f.exists():
            assert f.read_text().endswith("\n")
    assert "writer |" not in t.output()  # the file takes its output, not tend's stdout


def test_a_rotation_that_fails_loses_nothing_and_hangs_nothing(tend_run, tmp_path):
    log = tmp_path / "out.log"
    (tmp_path / "out.log.1").mkdir()  # the backup's name is taken: the rename fails
    t, sock = start(tend_run, tmp_path, f"""
[program:writer]
command = {HELPERS}/lines.py w 5000
stdout_logfile = {log}
stdout_logfile_maxbytes = 16KB
stdout_logfile_backups = 1
startsecs = 0
autorestart = false
""")
    wait_for(lambda: log.exists() and "line 004999" in log.read_text(), what="every line")
    numbers = [int(re.match(r"w line (\d{6}) ", line).group(1))
               for line in log.read_text().splitlines()]
    assert numbers == list(range(5000))  # all in the one file, once
    assert t.count(r"rotate '.*out\.log' to '.*out\.log\.1'") == 1  # said once
    assert run([TENDCTL, "-s", str(sock), "status", "writer"]).returncode in (0, 3)


def test_sigusr1_reopens_log_files(tend_run, tmp_path):
    log = tmp_path / "tick.log"
    t, sock = start(tend_run, tmp_path, f"""
[program:tick]
command = {HELPERS}/tick.py
stdout_logfile = {log}
startsecs = 0
""")
    wait_for(lambda: log.exists() and "start" in log.read_text())
    os.rename(log, tmp_path / "tick.log.old")  # as logrotate does without copytruncate
    t.signal(signal.SIGUSR1)
    wait_for(lambda: log.exists(), what="the fresh file")
    assert run([TENDCTL, "-s", str(sock), "signal", "USR2", "tick"]).returncode == 0
    wait_for(lambda: "tick 1" in log.read_text(), what="the line in the fresh file")
    assert (tmp_path / "tick.log.old").read_text() == "start\n"


def test_tend_logfile_and_json_format(tend_run, tmp_path):
    own = tmp_path / "tend.log"
    t, _ = start(tend_run, tmp_path, f"""
logfile = {own}
log_format = json
[program:talk]
command = /bin/sh -c 'echo "a \\"quoted\\" line"; exec sleep 1000'
startsecs = 0
""")
    wait_for(lambda: own.exists() and "talk: running" in own.read_text())
    t.wait_line(r'"process":"talk","stream":"stdout","line":"a \\"quoted\\" line"')
    assert re.search(r'^\{"time":"\d{4}-\d\d-\d\dT[\d:.]+Z","process":"tend"', own.read_text(), re.M)


def notify_receiver(tmp_path):
    path = str(tmp_path / "notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.05)
    return s, path


def drain(s, got):
    try:
        while True:
            got.append((time.monotonic(), s.recv(4096).decode()))
    except (socket.timeout, BlockingIOError):
        pass


def test_sd_notify_ready_after_the_slowest_then_stopping(tend_run, tmp_path):
    s, path = notify_receiver(tmp_path)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    t, _ = start(tend_run, tmp_path, """
[program:fast]
command = sleep 1000
startsecs = 0.1
[program:slow]
command = sleep 1000
startsecs = 1.5
""", env=env)
    started = time.monotonic()  # tend runs; slow cannot be ready before 1.5 s from here
    got = []
    t.wait_line(r"fast: running")
    t.signal(signal.SIGHUP)  # a reload before the slow one is ready says nothing yet
    t.wait_line(r"reloaded ")
    wait_for(lambda: drain(s, got) or any("READY=1" in m for _, m in got), timeout=10,
             what="READY=1")
    ready_at = min(at for at, m in got if "READY=1" in m)
    assert ready_at - started >= 1.4, ready_at - started
    assert any("RELOADING=1" in m for _, m in got)
    assert any(m.startswith("STATUS=") for _, m in got)
    lines = t.output().splitlines()
    # READY=1 came after the slow one was ready: tend says so in the same turn
    assert [i for i, line in enumerate(lines) if "slow: running" in line][0] < \
        [i for i, line in enumerate(lines) if "every autostart program is ready" in line][0]
    assert t.count(r"every autostart program is ready") == 1
    t.signal(signal.SIGTERM)
    wait_for(lambda: drain(s, got) or any("STOPPING=1" in m for _, m in got), what="STOPPING=1")
    assert t.wait() == 0
    s.close()


def test_ready_notify_counts_only_the_process_and_its_descendants(tend_run, tmp_path):
    t, sock = start(tend_run, tmp_path, f"""loglevel = debug
[program:svc]
command = {HELPERS}/notify_ready.py 2
ready = notify
""")
    line = t.wait_line(r"svc +\| socket @")
    started = time.monotonic()
    name = line.split("socket ", 1)[1]
    intruder = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    intruder.sendto(b"READY=1", "\0" + name[1:])  # from a pid that is not svc's
    t.wait_line(r"svc: READY=1 from pid 0 .*ignored")  # handled: svc must still be STARTING
    # one inside tend's namespace, of another user, and gone before tend reads it
    send = ("import socket; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)"
            f".sendto(b'READY=1', '\\0{name[1:]}')")
    r = run(["nsenter", "-t", str(t.pid), "-p", "--", "setpriv", "--reuid=nobody",
             "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c", send])
    assert r.returncode == 0, r.stderr
    t.wait_line(r"svc: READY=1 from pid [1-9]\d* \(uid 65534\) ignored")
    assert "STARTING" in run([TENDCTL, "-s", str(sock), "status", "svc"]).stdout
    t.wait_line(r"svc: running", timeout=10)
    assert time.monotonic() - started >= 1.5
    t.wait_line(r"svc +\| sent")


def test_logfile_dev_stdout_moves_tends_messages_without_doubling_them(tmp_path):
    ini = tmp_path / "supervisord.conf"
    ini.write_text(f"[supervisord]\nnodaemon = true\nlogfile = /dev/stdout\n"
                   f"[unix_http_server]\nfile = {tmp_path}/tend.sock\n"
                   "[program:once]\ncommand = /bin/true\nstartsecs = 0\nautorestart = false\n")
    p = subprocess.Popen([TEND, "-c", str(ini)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stdout:
            if "once: exited" in line:
                break
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
    assert "exiting with status 0" in out and err == ""


def test_a_log_file_tend_creates_is_the_users_one_it_finds_keeps_its_owner(tend_run, tmp_path):
    tmp_path.chmod(0o755)
    kept = tmp_path / "kept.log"
    kept.write_text("")  # root's, before tend starts
    t, _ = start(tend_run, tmp_path, f"""
[program:fresh]
command = /bin/sh -c 'echo one; exec sleep 1000'
user = nobody
stdout_logfile = {tmp_path}/fresh.log
startsecs = 0
[program:old]
command = /bin/sh -c 'echo two; exec sleep 1000'
user = nobody
stdout_logfile = {kept}
startsecs = 0
""")
    fresh = tmp_path / "fresh.log"
    wait_for(lambda: fresh.exists() and "one" in fresh.read_text() and "two" in kept.read_text(),
             what="both lines")
    assert fresh.stat().st_uid == pwd.getpwnam("nobody").pw_uid
    assert kept.stat().st_uid == 0


def test_the_last_lines_before_a_shutdown_are_kept(tend_run, tmp_path):
    """Programs that say goodbye and exit at once on SIGTERM: an exit and the last line
    reach tend together, and the line must come out before tend's stdout closes (one
    was lost in about one shutdown out of eight)."""
    child = tmp_path / "child"
    r = run(["cc", "-O2", "-o", str(child), os.path.join(HELPERS, "child.c")])
    assert r.returncode == 0, r.stderr
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {tmp_path}/tend.sock\n[program:p]\ncommand = {child} serve\n"
                   "numprocs = 3\nstartsecs = 0\n")
    for attempt in range(16):
        t = tend_run(["-c", str(ini)])
        wait_for(lambda: t.count(r"\| ready, pid") == 3, what="3 processes ready")
        t.signal(signal.SIGTERM)
        assert t.wait() == 0
        assert t.count(r"\| bye$") == 3, f"shutdown {attempt + 1}:\n" + t.output()
