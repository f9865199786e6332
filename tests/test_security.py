"""Another user on the same host, trying what worked against tend before it was
hardened: links, FIFOs and files planted where tend writes as root, directories and
sockets made before tend's, slow readers, a READY=1 race. tend runs as root (as PID
1 of a fresh PID namespace where that matters); the attacker is a user made for
these tests with useradd, removed after them with everything it ran."""
import fcntl
import json
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import termios
import time

import pytest

from conftest import (ROOT, SANITIZED, TEND, TENDCTL, Tend, free_ports, proc_status, run,
                      tend_check, wait_for)

HELPERS = os.path.join(ROOT, "tests", "helpers")


class User:
    def __init__(self, name):
        pw = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, pw.pw_uid, pw.pw_gid

    def cmd(self, *args):
        """args, run as this user."""
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                *map(str, args)]

    def run(self, *args, **kw):
        return run(self.cmd(*args), **kw)


def pids_of(uid):
    found = []
    for entry in os.listdir("/proc"):
        st = proc_status(int(entry)) if entry.isdigit() else None
        if st and int(st.get("Uid", "-1").split()[0]) == uid:
            found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def users():
    """Makes users for the module; at its end, stops what they still run (by pid: only
    these tests ran anything as them) and removes them."""
    made = []

    def make(role):
        name = f"tend{role}{os.getpid() % 100000}"
        r = run(["useradd", "--system", "--no-create-home", "--user-group",
                 "--shell", "/usr/sbin/nologin", name])
        assert r.returncode == 0, r.stderr
        made.append(User(name))
        return made[-1]

    yield make
    for u in made:
        for pid in pids_of(u.uid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_for(lambda: not pids_of(u.uid), what=f"{u.name}'s processes gone")
        r = run(["userdel", u.name])
        assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def attacker(users):
    return users("atk")


@pytest.fixture(scope="module")
def victim(users):
    return users("vic")


@pytest.fixture
def place():
    """A directory of root's that every user can reach (tmp_path is root's alone)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="tend-sec-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def shared():
    """A /tmp of the test's own: root's, sticky, anyone may write in it."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="tend-tmp-"))
    d.chmod(0o1777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def spawned():
    """Processes a test starts (as the attacker, say): killed at its end."""
    procs = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def secret_file(where, text="root's alone\n"):
    path = where / "secret"
    path.write_text(text)
    path.chmod(0o600)
    return path


def unchanged(path, text):
    st = os.lstat(path)
    return stat.S_ISREG(st.st_mode) and st.st_uid == 0 and path.read_text() == text


def start(tend_run, where, text, **kw):
    ini = where / "tend.ini"
    sock = where / "tend.sock"
    ini.write_text(f"[tend]\nsocket = {sock}\n" + text)
    ini.chmod(0o644)
    return tend_run(["-c", str(ini)], **kw), sock


def ctl(sock, *args, **kw):
    return run([TENDCTL, "-s", str(sock), *args], **kw)


# ---- 1. log files and links -------------------------------------------------------

def test_1_a_link_the_programs_user_puts_in_its_log_directory_is_not_followed(
        tend_run, place, attacker):
    """The program's user owns its log directory and swaps app.log for a link to a file
    of root's: a rotation (backups = 0 truncated it), SIGUSR1 or a restart wrote there."""
    logs = place / "logs"
    logs.mkdir()
    os.chown(logs, attacker.uid, attacker.gid)
    secret = secret_file(place)
    log = logs / "app.log"
    t, sock = start(tend_run, place, f"""loglevel = debug
[program:app]
command = /bin/sh -c 'while :; do echo "a line of the program, with some length to it"; sleep 0.01; done'
user = {attacker.name}
stdout_logfile = {log}
stdout_logfile_maxbytes = 4KB
stdout_logfile_backups = 0
startsecs = 0
""")
    wait_for(lambda: log.exists() and log.stat().st_size > 0, what="the log")
    assert log.stat().st_uid == attacker.uid
    assert attacker.run("ln", "-sfn", secret, log).returncode == 0
    # the file tend holds grows to 4KB; the rotation then opens app.log afresh
    t.wait_line(rf"open '{log}': 'app.log' is a symbolic link of uid {attacker.uid}", timeout=20)
    t.signal(signal.SIGUSR1)
    t.wait_line(rf"reopen '{log}': 'app.log' is a symbolic link")
    assert ctl(sock, "restart", "app").returncode == 0
    assert unchanged(secret, "root's alone\n")
    assert os.path.islink(log)


def test_1_a_link_higher_up_the_log_path_is_not_followed(tend_run, place, attacker):
    logs = place / "logs"
    (logs / "sub").mkdir(parents=True)
    for d in (logs, logs / "sub"):
        os.chown(d, attacker.uid, attacker.gid)
    roots = place / "roots"  # root's, with a file of the same name
    roots.mkdir()
    secret = secret_file(roots)
    (roots / "app.log").symlink_to(secret)  # root's own link: root's business
    t, _ = start(tend_run, place, f"""
[program:app]
command = /bin/sh -c 'echo hello; exec sleep 1000'
user = {attacker.name}
stdout_logfile = {logs}/sub/app.log
startsecs = 0
""")
    wait_for(lambda: "hello" in (logs / "sub" / "app.log").read_text()
             if (logs / "sub" / "app.log").exists() else False, what="the log")
    assert attacker.run("sh", "-c", f"mv {logs}/sub {logs}/old && ln -s {roots} {logs}/sub"
                        ).returncode == 0
    t.signal(signal.SIGUSR1)
    t.wait_line(rf"reopen '{logs}/sub/app.log': 'sub' is a symbolic link of uid {attacker.uid}")
    assert unchanged(secret, "root's alone\n")


# ---- 2. AUTO log files --------------------------------------------------------------

def test_2_auto_log_files_have_names_nobody_can_plant_beforehand(tend_run, place, shared,
                                                                 attacker):
    """childlogdir is /tmp: a FIFO at the name tend would use hung PID 1 in open() at
    start; a world-readable file there collected the program's output."""
    fifo = shared / "web-stdout.log"
    planted = shared / "web-stderr.log"
    assert attacker.run("mkfifo", "-m", "666", fifo).returncode == 0
    assert attacker.run("sh", "-c", f"umask 0; : > {planted}").returncode == 0
    t, sock = start(tend_run, place, f"""childlogdir = {shared}
[program:web]
command = /bin/sh -c 'echo password=hunter2; echo password=hunter3 >&2; exec sleep 1000'
stdout_logfile = AUTO
stderr_logfile = AUTO
startsecs = 0
""")
    wait_for(lambda: ctl(sock, "status", "web", timeout=5).returncode == 0, timeout=10,
             what="tend answering, web running")
    paths = []
    for stream, text in (("stdout", "hunter2"), ("stderr", "hunter3")):
        line = t.wait_line(rf"web: {stream} goes to ")
        path = pathlib.Path(line.split(" goes to ", 1)[1])
        assert re.fullmatch(rf"{shared}/web-{stream}---tend-[A-Za-z0-9]{{12}}\.log", str(path))
        wait_for(lambda: text in path.read_text(), what=f"{stream} in its file")
        st = path.stat()
        assert stat.S_ISREG(st.st_mode) and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600
        assert attacker.run("cat", path).returncode != 0  # not theirs to read
        paths.append(path)
    assert paths[0].name[-16:] != paths[1].name[-16:]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and planted.read_text() == ""


# ---- 3. a non-root tend's default paths -----------------------------------------------

FAKE_TEND = r"""
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.listen(8)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.recv(8192)
    for payload in (b"ook\n", b"x\0"):  # "ok", exit status 0, as tend's health says it
        c.sendall(b"TND1" + struct.pack(">I", len(payload)) + payload)
    c.close()
"""


def user_env():
    return {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "TEND_SOCKET")}


def squat(attacker, victim, spawned):
    """/tmp/tend-VICTIM, made first by the attacker: their nginx.conf, their 'tend'."""
    own = pathlib.Path(f"/tmp/tend-{victim.uid}")
    assert attacker.run("mkdir", "-m", "777", own).returncode == 0
    evil = "load_module /nonexistent/evil.so;\n"
    assert attacker.run("sh", "-c", f"printf '{evil}' > {own}/nginx.conf").returncode == 0
    server = subprocess.Popen(attacker.cmd("/usr/bin/python3", "-c", FAKE_TEND,
                                           own / "tend.sock"),
                              stdout=subprocess.PIPE, text=True)
    spawned.append(server)
    assert server.stdout.readline() == "listening\n"
    return own, evil


def test_3_a_directory_or_socket_another_user_made_first_is_refused(place, attacker, victim,
                                                                    spawned):
    own, evil = squat(attacker, victim, spawned)
    try:
        port = free_ports(2)
        ini = place / "tend.ini"
        ini.write_text(f"[program:web]\ncommand = sleep 1000\nport = {port}\nstartsecs = 0\n"
                       f"[nginx]\nupstream = web\nlisten = 127.0.0.1:{port + 1}\n")
        ini.chmod(0o644)
        r = victim.run(TEND, "-c", ini, env=user_env(), timeout=20)
        assert r.returncode == 1
        assert re.search(rf"'{own}' belongs to uid {attacker.uid}: someone else made it.*"
                         r"not starting", r.stderr), r.stderr
        assert (own / "nginx.conf").read_text() == evil
        ini.write_text("[program:web]\ncommand = sleep 1000\nstartsecs = 0\n")  # no nginx
        r = victim.run(TEND, "-c", ini, env=user_env(), timeout=20)
        assert r.returncode == 1 and f"'{own}' belongs to uid {attacker.uid}" in r.stderr
        # the victim's tendctl finds the impostor where its tend's socket would be
        r = victim.run(TENDCTL, "health", env=user_env())
        assert r.returncode == 5 and "ok" not in r.stdout
        assert (f"'{own}/tend.sock' is served by uid {attacker.uid}, which is neither root nor "
                "you") in r.stderr
    finally:
        for p in spawned:
            p.kill()
        shutil.rmtree(own, ignore_errors=True)


def test_3_a_non_root_tend_makes_its_directory_private(place, victim):
    own = pathlib.Path(f"/tmp/tend-{victim.uid}")
    ini = place / "tend.ini"
    ini.write_text("[program:web]\ncommand = sleep 1000\nstartsecs = 0\n")
    ini.chmod(0o644)
    t = Tend(["-c", str(ini)], env=user_env(), wrap=victim.cmd())
    try:
        wait_for(lambda: victim.run(TENDCTL, "health", env=user_env()).returncode == 0,
                 what="tendctl health")
        st = os.lstat(own)
        assert stat.S_ISDIR(st.st_mode) and st.st_uid == victim.uid
        assert stat.S_IMODE(st.st_mode) == 0o700
        assert stat.S_ISSOCK(os.lstat(own / "tend.sock").st_mode)
        # root's tendctl talks to a tend of root's or of its own user only
        r = run([TENDCTL, "-s", str(own / "tend.sock"), "health"])
        assert r.returncode == 5 and f"served by uid {victim.uid}" in r.stderr
        t.signal(signal.SIGTERM)
        assert t.wait() == 0
    finally:
        t.kill()
        shutil.rmtree(own, ignore_errors=True)


# ---- 4. pidfile --------------------------------------------------------------------

@pytest.mark.parametrize("plant", ["link", "file"])
def test_4_a_pidfile_planted_in_tmp_is_not_written(tend_run, place, shared, attacker, plant):
    pidfile = shared / "supervisord.pid"
    secret = secret_file(place)
    if plant == "link":
        assert attacker.run("ln", "-s", secret, pidfile).returncode == 0
        why = rf"'supervisord\.pid' is a symbolic link of uid {attacker.uid}"
    else:
        assert attacker.run("sh", "-c", f"umask 0; : > {pidfile}").returncode == 0
        why = rf"'{pidfile}' belongs to uid {attacker.uid}, neither root nor"
    t, _ = start(tend_run, place, f"pidfile = {pidfile}\n[program:web]\ncommand = sleep 1000\n"
                                  "startsecs = 0\n")
    t.wait_line(rf"pidfile .*{why}.*: not written")
    t.signal(signal.SIGTERM)
    assert t.wait() == 0
    assert unchanged(secret, "root's alone\n")
    if plant == "link":
        assert os.readlink(pidfile) == str(secret)
    else:
        assert pidfile.read_text() == "" and pidfile.stat().st_uid == attacker.uid


def test_4_a_pidfile_of_tends_own_is_written_and_removed(tend_run, place, shared):
    pidfile = shared / "supervisord.pid"
    t, _ = start(tend_run, place, f"pidfile = {pidfile}\n[program:web]\ncommand = sleep 1000\n"
                                  "startsecs = 0\n")
    wait_for(lambda: pidfile.exists() and pidfile.read_text() == "1\n", what="the pidfile")
    assert pidfile.stat().st_uid == 0
    t.signal(signal.SIGTERM)
    assert t.wait() == 0
    assert not pidfile.exists()


# ---- 5. log targets that block ------------------------------------------------------

def pipe_full(fd):
    """A condition: the pipe holds much, and stands still (nobody reads; what is
    written does not pack pages exactly, so 'full' is not its size)."""
    size, seen = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ), []

    def full():
        seen.append(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])
        return seen[-1] > size // 4 and len(seen) > 10 and len(set(seen[-10:])) == 1
    return full


FLOOD = ("/usr/bin/python3 -c 'import sys; w = sys.stdout.write; "
         "any(w(\"x\" * 99 + \"\\n\") < 0 for _ in iter(int, 1))'")


def test_5_a_fifo_nobody_reads_never_stalls_tend(tend_run, place):
    """A log shipper's FIFO whose reader stopped reading: tend froze in write(),
    SIGTERM and all, and so did every other program's output."""
    fifo = place / "ship.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, never read
    try:
        t, sock = start(tend_run, place, f"""
[program:flood]
command = {FLOOD}
stdout_logfile = {fifo}
stdout_logfile_type = fifo
startsecs = 0
[program:other]
command = /bin/sh -c 'i=0; while :; do i=$((i+1)); echo "other $i"; sleep 0.02; done'
startsecs = 0
""")
        wait_for(pipe_full(reader), interval=0.05, what="the FIFO full")
        for _ in range(5):  # tend answers, however long the FIFO stays full
            began = time.monotonic()
            assert ctl(sock, "status", timeout=5).returncode == 0
            assert time.monotonic() - began < 2
        seen = t.count(r"^other +\| other")
        wait_for(lambda: t.count(r"^other +\| other") > seen + 20, what="other's lines going on")
        began = time.monotonic()
        t.signal(signal.SIGTERM)
        assert t.wait(30) == 0
        assert time.monotonic() - began < 20
        assert re.search(rf"{fifo}: \d+ lines dropped: nobody read them in time", t.output())
    finally:
        os.close(reader)


def test_5_a_fifo_read_only_later_is_opened_then(tend_run, place):
    """A log shipper that starts after tend: lines meanwhile are counted, then go."""
    fifo = place / "late.fifo"
    os.mkfifo(fifo)
    t, _ = start(tend_run, place, f"""
[program:tick]
command = /bin/sh -c 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.02; done'
stdout_logfile = {fifo}
stdout_logfile_type = fifo
startsecs = 0
""")
    t.wait_line(rf"open '{fifo}': no process reads it: lines for it are dropped until it opens")
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    got = []

    def read():
        try:
            got.append(os.read(reader, 65536))
        except BlockingIOError:
            pass
        return b"tick" in b"".join(got)
    try:
        wait_for(read, what="lines through the FIFO")
        t.wait_line(rf"write '{fifo}': working again \([1-9]\d* lines were dropped\)")
    finally:
        os.close(reader)


def test_5_docker_proc_1_fd_1_with_a_reader_that_stopped(place):
    """stdout_logfile = /proc/1/fd/1 (Docker's idiom), and whoever reads tend's stdout
    stops reading: tend, PID 1, kept answering, and other programs went on."""
    side = place / "side.log"
    ini = place / "tend.ini"
    sock = place / "tend.sock"
    ini.write_text(f"""[tend]
socket = {sock}
[program:dock]
command = {FLOOD}
stdout_logfile = /proc/1/fd/1
startsecs = 0
[program:side]
command = /bin/sh -c 'i=0; while :; do i=$((i+1)); echo "side $i"; sleep 0.02; done'
stdout_logfile = {side}
startsecs = 0
""")
    rd, wr = os.pipe()  # tend's stdout: read by nobody
    t = Tend(["-c", str(ini)], stdout=wr)
    os.close(wr)
    try:
        wait_for(pipe_full(rd), interval=0.05, what="tend's stdout full")
        wait_for(lambda: ctl(sock, "status", "side", timeout=5).returncode == 0, what="status")
        size = side.stat().st_size
        wait_for(lambda: side.stat().st_size > size + 200, what="side's lines going on")
        began = time.monotonic()
        t.signal(signal.SIGTERM)
        assert t.wait(30) == 0
        assert time.monotonic() - began < 20
    finally:
        t.kill()
        os.close(rd)


# ---- 6. the socket's owner, directory=, ready = notify --------------------------------

def test_6_a_socket_directory_another_user_may_write_in_is_refused(place, attacker):
    theirs = place / "theirs"
    theirs.mkdir()
    os.chown(theirs, attacker.uid, attacker.gid)
    ini = place / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {theirs}/tend.sock\n[unix_http_server]\nchown = "
                   f"{attacker.name}\n[program:web]\ncommand = sleep 1000\n")
    r = run([TEND, "-c", str(ini)], timeout=20)
    assert r.returncode == 1
    assert f"socket '{theirs}' belongs to uid {attacker.uid}" in r.stderr, r.stderr
    assert list(theirs.iterdir()) == []


def test_6_in_tmp_an_impostors_socket_goes_and_a_planted_link_stops_tend(
        tend_run, place, shared, attacker, spawned):
    sock = shared / "supervisor.sock"
    server = subprocess.Popen(attacker.cmd("/usr/bin/python3", "-c", FAKE_TEND, sock),
                              stdout=subprocess.PIPE, text=True)
    spawned.append(server)
    assert server.stdout.readline() == "listening\n"
    ini = place / "tend.ini"
    ini.write_text(f"[unix_http_server]\nfile = {sock}\nchown = {attacker.name}\n"
                   "[program:web]\ncommand = sleep 1000\nstartsecs = 0\n")
    t = tend_run(["-c", str(ini)])
    t.wait_line(rf"removed a socket of uid {attacker.uid} that was in tend's place")
    wait_for(lambda: "web" in ctl(sock, "status").stdout, what="tend's own answer")
    st = os.lstat(sock)
    assert stat.S_ISSOCK(st.st_mode) and st.st_uid == attacker.uid  # as asked: chown
    t.signal(signal.SIGTERM)
    assert t.wait() == 0
    # a link where the socket goes, for a chown by path to follow: it goes too
    secret = secret_file(place)
    if os.path.lexists(sock):
        os.unlink(sock)
    assert attacker.run("ln", "-s", secret, sock).returncode == 0
    t = tend_run(["-c", str(ini)])
    t.wait_line(rf"removed a link of uid {attacker.uid} that was in tend's place")
    wait_for(lambda: "web" in ctl(sock, "status").stdout, what="tend's own answer")
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)
    assert unchanged(secret, "root's alone\n")


def test_6_directory_is_entered_as_the_programs_user(tend_run, place, attacker):
    rootonly = place / "rootonly"
    rootonly.mkdir(mode=0o700)
    t, sock = start(tend_run, place, f"""
[program:peek]
command = /bin/pwd
directory = {rootonly}
user = {attacker.name}
startretries = 0
autorestart = false
""")
    t.wait_line(rf"peek: chdir '{rootonly}': Permission denied")
    wait_for(lambda: "FATAL" in ctl(sock, "status", "peek").stdout, what="FATAL")
    assert t.count(rf"peek +\| {rootonly}") == 0


RACE = r"""
import os, socket, sys
addr = "\0" + sys.argv[1][1:]
junk = os.fork()  # keeps the queue long: tend reads each READY=1 well after it was sent
if junk == 0:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    while True:
        s.sendto(b"STATUS=busy", addr)
for _ in range(int(sys.argv[2])):  # rounds of 50 senders at once, gone as soon as sent
    gate_r, gate_w = os.pipe()
    kids = []
    for _ in range(50):
        pid = os.fork()
        if pid == 0:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            os.close(gate_w)
            os.read(gate_r, 1)
            s.sendto(b"READY=1", addr)
            os._exit(0)
        kids.append(pid)
    os.close(gate_w)
    for pid in kids:  # each reaped as soon as it exits, whichever it is
        os.wait()
    os.close(gate_r)
os.kill(junk, 9)
os.waitpid(junk, 0)
print("sent", flush=True)
"""


def test_6_ready_notify_from_a_gone_process_of_the_same_user_is_not_believed(
        tend_run, place, attacker):
    t, sock = start(tend_run, place, f"""loglevel = debug
[program:svc]
command = sleep 1000
user = {attacker.name}
ready = notify
ready_timeout = 120s
""")
    pid = wait_for(lambda: [p for p in t.descendants()
                            if open(f"/proc/{p}/cmdline", "rb").read().startswith(b"sleep")],
                   what="svc running")[0]
    env = dict(x.split("=", 1) for x in
               open(f"/proc/{pid}/environ", "rb").read().decode().split("\0") if "=" in x)
    path = env["NOTIFY_SOCKET"]
    r = run(["nsenter", "-t", str(t.pid), "-p", "--", *attacker.cmd(
        "/usr/bin/python3", "-c", RACE, path, 4)], timeout=120)
    assert r.returncode == 0 and "sent" in r.stdout, r.stderr
    # a last message from outside tend's namespace (pid 0): once it is judged, all are
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", "\0" + path[1:])
    t.wait_line(r"svc: READY=1 from pid 0 \(uid 0\) ignored", timeout=60)
    assert t.count(rf"svc: READY=1 from pid \d+ \(uid {attacker.uid}\) ignored") >= 200
    assert t.count(r"svc: running") == 0
    assert "STARTING" in ctl(sock, "status", "svc").stdout


# ---- 7. the smaller ones ------------------------------------------------------------

def test_7_a_long_line_in_one_read_is_cut_and_marked_in_json(tend_run, place):
    t, _ = start(tend_run, place, """log_format = json
[program:long]
command = /usr/bin/python3 -c 'import sys; sys.stdout.write("y" * 50000 + "\\nafter\\n"); sys.stdout.flush(); import time; time.sleep(1000)'
startsecs = 0
""")
    t.wait_line(r'"process":"long".*"line":"after"')
    pieces = [json.loads(line) for line in t.output().splitlines()
              if line.startswith("{") and '"process":"long"' in line]
    assert [len(p["line"]) for p in pieces] == [16384, 16384, 16384, 848, 5]
    assert [p.get("continued", False) for p in pieces] == [False, True, True, True, False]
    assert "".join(p["line"] for p in pieces[:4]) == "y" * 50000


def test_7_a_full_disk_leaves_no_half_line(place):
    small = place / "small"  # a 64 KiB tmpfs, inside tend's namespace only
    small.mkdir()
    t1, t2 = place / "t1", place / "t2"
    ini = place / "tend.ini"
    ini.write_text(f"""[tend]
socket = {place}/tend.sock
[program:w]
command = /bin/sh -c 'until [ -e {t1} ]; do sleep 0.02; done; /usr/bin/python3 -c "print(\\"x\\" * 12000)"; until [ -e {t2} ]; do sleep 0.02; done; echo next line; exec sleep 1000'
stdout_logfile = {small}/w.log
startsecs = 0
""")
    mount = f"mount -t tmpfs -o size=64k tmpfs {small} && exec \"$@\""
    t = Tend(["-c", str(ini)], wrap=["sh", "-c", mount, "sh"])
    try:
        inside = pathlib.Path(f"/proc/{t.pid}/root{small}")
        wait_for(lambda: (inside / "w.log").exists(), what="the log file")
        (inside / "filler").write_bytes(b"f" * 57344)  # two pages left
        t1.touch()
        t.wait_line(rf"write '{small}/w.log': No space left on device")
        (inside / "filler").unlink()
        t2.touch()
        wait_for(lambda: (inside / "w.log").read_text() == "next line\n",
                 what="the next line alone")
        t.wait_line(rf"write '{small}/w.log': working again")
    finally:
        t.kill()


def test_7_a_newline_in_the_config_path_stays_in_the_nginx_comment(tmp_path):
    odd = tmp_path / "x\nload_module evil.so;\n#.ini"
    port = free_ports(2)
    odd.write_text(f"[program:web]\ncommand = sleep 1000\nport = {port}\n"
                   f"[nginx]\nupstream = web\nlisten = 127.0.0.1:{port + 1}\n")
    r = tend_check(odd)
    assert r.returncode == 0, r.stderr
    assert "# Written by tend from " in r.stdout
    assert not re.search(r"^\s*load_module", r.stdout, re.M)
    assert "x?load_module evil.so;?#.ini" in r.stdout


def test_7_many_double_stars_in_a_watch_glob_match_in_linear_time(place):
    deep = place / "/".join(["a"] * 30)
    deep.mkdir(parents=True)
    glob = "/".join(["**", "a"] * 12) + "/**/zz"
    ini = place / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {place}/tend.sock\n"
                   f"[program:w]\ncommand = sleep 1000\nstartsecs = 0\nwatch = {glob}\n")
    t = Tend(["dev", "-c", str(ini)], cwd=place)
    try:
        t.wait_line(r"w: running", timeout=10)
        (deep / "nope").write_text("no match: each way a ** could go fails\n")
        (deep / "zz").write_text("changed\n")
        t.wait_line(r"w: files changed: restarting", timeout=10)
    finally:
        t.kill()


def test_7_a_ready_timeout_says_why(tend_run, place):
    port = free_ports(1)
    t, sock = start(tend_run, place, f"""
[program:mute]
command = sleep 1000
port = {port}
ready = tcp
ready_timeout = 1s
startretries = 0
""")
    why = f"not ready within 1.0s: no connection to 127.0.0.1:{port} succeeded"
    t.wait_line(rf"mute: {re.escape(why)}")
    wait_for(lambda: why in ctl(sock, "status", "mute").stdout, what="the reason in status")


def test_7_supervisord_user_is_honoured(tend_run, place, attacker):
    """[supervisord] user= was ignored without a word: programs without a user of their
    own ran as root."""
    t, sock = start(tend_run, place, f"""[supervisord]
user = {attacker.name}
[program:plain]
command = sleep 1000
startsecs = 0
""")
    t.wait_line(rf"running as user '{attacker.name}' \(uid {attacker.uid}\) from now on")
    wait_for(lambda: "RUNNING" in ctl(sock, "status", "plain").stdout, what="plain running")
    uid = lambda pid: int(proc_status(pid)["Uid"].split()[0])
    assert uid(t.pid) == attacker.uid
    assert [uid(p) for p in t.descendants()] == [attacker.uid]
    assert os.lstat(sock).st_uid == attacker.uid
    assert attacker.run(TENDCTL, "-s", sock, "status", "plain").returncode == 0
    t.signal(signal.SIGTERM)
    assert t.wait() == 0


def test_7_a_supervisord_user_that_does_not_exist_stops_tend(tmp_path):
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[supervisord]\nuser = no-such-user-here\n[unix_http_server]\n"
                   f"file = {tmp_path}/tend.sock\n[program:plain]\ncommand = sleep 1000\n")
    r = run([TEND, "-c", str(ini)], timeout=20)
    assert r.returncode == 1
    assert "user: user 'no-such-user-here' does not exist: not starting" in r.stderr, r.stderr


IGNORED = {
    "supervisord": ["nodaemon = false", "nocleanup = false", "directory = /srv",
                    "strip_ansi = true", "identifier = box"],
    "unix_http_server": ["username = admin", "password = secret"],
    "program:web": ["stdout_capture_maxbytes = 1MB", "stdout_events_enabled = true",
                    "stdout_syslog = true", "stderr_capture_maxbytes = 1KB",
                    "stderr_events_enabled = true", "stderr_syslog = true",
                    "serverurl = AUTO"],
}
FINE = {
    "supervisord": ["nodaemon = true", "nocleanup = true", "strip_ansi = false"],
    "program:web": ["stdout_capture_maxbytes = 0", "stdout_events_enabled = false",
                    "stdout_syslog = false", "stderr_events_enabled = false"],
}


def test_7_every_key_tend_does_not_act_on_is_a_warning(tmp_path):
    def config(keys):
        text = ""
        for section, lines in keys.items():
            text += f"[{section}]\n" + ("command = sleep 1000\n" if "program" in section else "")
            text += "".join(f"{line}\n" for line in lines)
        ini = tmp_path / "tend.ini"
        ini.write_text(text)
        return tend_check(ini)
    r = config(IGNORED)
    assert r.returncode == 0
    for lines in IGNORED.values():
        for line in lines:
            key, value = line.split(" = ")
            assert re.search(rf"warning: {key} = {re.escape(value)}: not used: ", r.stderr), \
                (line, r.stderr)
    r = config(FINE)
    assert r.returncode == 0 and "warning:" not in r.stderr, r.stderr
    assert tend_check(tmp_path / "tend.ini", "--strict").returncode == 0
    config(IGNORED)
    assert tend_check(tmp_path / "tend.ini", "--strict").returncode == 1


# ---- the build ---------------------------------------------------------------------

@pytest.mark.skipif(SANITIZED, reason="the sanitizer build has flags of its own")
@pytest.mark.parametrize("binary", [TEND, TENDCTL], ids=["tend", "tendctl"])
def test_the_binaries_are_hardened(binary):
    dynamic = run(["readelf", "-d", binary]).stdout
    assert re.search(r"\(FLAGS\)\s+BIND_NOW", dynamic) and "PIE" in dynamic
    assert "GNU_RELRO" in run(["readelf", "-l", binary]).stdout
    symbols = run(["nm", "-D", binary]).stdout
    assert "__stack_chk_fail" in symbols and re.search(r"__\w+_chk\b", symbols)
