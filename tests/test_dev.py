"""tend dev: Procfile and .env, foreman's ports, colors in a real terminal, watching."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import SLOW, TEND, TENDCTL, Tend, free_ports, run, wait_for


def project(tmp_path, procfile, env=None):
    (tmp_path / "Procfile").write_text(procfile)
    if env is not None:
        (tmp_path / ".env").write_text(env)
    return tmp_path


def test_procfile_formation_ports_and_env(tmp_path):
    p = project(tmp_path, "# the app\n"
                          "web: echo \"web $PORT $GREETING\"; exec sleep 1000\n"
                          "worker: echo \"worker $PORT $MODE 100% sure\"; exec sleep 1000\n",
                "GREETING='hello there'\nexport MODE=dev  # comment\n")
    t = Tend(["dev", "-m", "web=2,worker=1"], cwd=p, pid1=False)
    try:
        t.wait_line(r"^web\.1 +\| web 5000 hello there$")
        t.wait_line(r"^web\.2 +\| web 5001 hello there$")
        t.wait_line(r"^worker\.1 \| worker 5100 dev 100% sure$")
        t.signal(signal.SIGINT)
        assert t.wait() == 0
    finally:
        t.kill()


def test_a_long_procfile_command_runs_whole(tmp_path):
    p = project(tmp_path, f"long: echo {'x' * 10000} | wc -c; exec sleep 1000\n")
    t = Tend(["dev"], cwd=p, pid1=False)
    try:
        t.wait_line(r"^long\.1 +\| 10001$")
        t.signal(signal.SIGINT)
        assert t.wait() == 0
    finally:
        t.kill()


def test_a_bad_procfile_names_its_line(tmp_path):
    p = project(tmp_path, "web: node x.js\nthis is not an entry\n")
    r = subprocess.run([TEND, "dev"], cwd=p, capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert re.search(r"Procfile:2: error: expected 'name: command'", r.stderr), r.stderr


def tmux(*args, **kw):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, **kw)


@pytest.mark.skipif(not shutil.which("tmux"), reason="tmux is not installed")
def test_in_a_terminal_colors_align_and_ctrl_c_ends_it(tmp_path):
    p = project(tmp_path, "api: echo api-ready; exec sleep 1001\n"
                          "background: echo bg-ready; exec sleep 1002\n")
    session = f"tend-dev-{os.getpid()}"
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40", "bash", "--norc", "-i")
    try:
        tmux("send-keys", "-t", session, f"cd {p} && PS1='PROMPT> ' exec bash --norc -i", "Enter")
        wait_for(lambda: "PROMPT>" in tmux("capture-pane", "-p", "-t", session).stdout)
        tmux("send-keys", "-t", session, f"{TEND} dev", "Enter")
        screen = lambda: tmux("capture-pane", "-p", "-e", "-t", session).stdout
        wait_for(lambda: "api-ready" in screen() and "bg-ready" in screen(), timeout=15)
        colored = screen()
        # each name in its own color, padded to the longest (background.1 is 12 wide)
        reset = r"(?:\x1b\[[0-9;]*m)+"  # tmux writes the reset its own way
        api = re.search(rf"\x1b\[(\d+)m(api\.1 *){reset} \| api-ready", colored)
        bg = re.search(rf"\x1b\[(\d+)m(background\.1 *){reset} \| bg-ready", colored)
        assert api and bg, colored
        assert api.group(1) != bg.group(1)
        assert len(api.group(2)) == len(bg.group(2)) == len("background.1")
        tmux("send-keys", "-t", session, "C-c", "")
        wait_for(lambda: screen().rstrip().endswith("PROMPT>"), timeout=15, what="the prompt")
        left = subprocess.run(["pgrep", "-f", "sleep 100[12]"], capture_output=True, text=True)
        assert left.stdout == ""
    finally:
        tmux("kill-session", "-t", session)
        subprocess.run(["pkill", "-f", "sleep 100[12]"])


def restarts(t, name):
    return t.count(rf"{name}: files changed: restarting")


def test_watch_restarts_the_program_that_watches(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("1")
    (tmp_path / "notes.md").write_text("1")
    (tmp_path / "tend.ini").write_text(f"""
[tend]
socket = {tmp_path}/tend.sock
[program:app]
command = sleep 1000
startsecs = 0
watch = src/**/*.py
[program:other]
command = sleep 1000
startsecs = 0
watch = *.txt
""")
    t = Tend(["dev"], cwd=tmp_path, pid1=False)
    try:
        t.wait_line(r"app: running")
        t.wait_line(r"other: running")
        saved = time.monotonic()
        (tmp_path / "src" / "app.py").write_text("2")
        t.wait_line(r"app: files changed: restarting")
        assert time.monotonic() - saved < 0.5 * SLOW
        t.wait_line(r"app: started", start=len(t.lines) - 5)
        before = restarts(t, "app")
        for i in range(10):  # a burst: one restart
            (tmp_path / "src" / "app.py").write_text(str(i))
            time.sleep(0.01)
        wait_for(lambda: restarts(t, "app") == before + 1, what="one restart")
        (tmp_path / "notes.md").write_text("2")  # nobody watches it
        (tmp_path / "src" / ".app.py.swp").write_text("x")  # an editor's temp file
        # inotify keeps the order: once other has restarted for a later save, a
        # restart of app for the two files above would have come first
        (tmp_path / "later.txt").write_text("x")
        wait_for(lambda: restarts(t, "other") == 1, what="other's restart")
        assert restarts(t, "app") == before + 1
        t.signal(signal.SIGINT)
        assert t.wait() == 0
    finally:
        t.kill()


def test_only_runs_a_program_and_what_it_depends_on(tmp_path):
    (tmp_path / "tend.ini").write_text(
        f"[tend]\nsocket = {tmp_path}/tend.sock\n"
        "[program:db]\ncommand = sleep 1001\nstartsecs = 0\n"
        "[program:cache]\ncommand = sleep 1002\nstartsecs = 0\n"
        "[program:web]\ncommand = sleep 1003\nstartsecs = 0\ndepends_on = db\n"
        "[program:other]\ncommand = sleep 1004\nstartsecs = 0\ndepends_on = web\n")
    t = Tend(["dev", "-c", str(tmp_path / "tend.ini"), "--only", "web"], cwd=tmp_path,
             pid1=False)
    try:
        t.wait_line(r"web: running, pid")
        assert t.count(r"db: running, pid") == 1
        assert t.count(r"(cache|other): (started|running)") == 0, t.output()
        t.signal(signal.SIGINT)
        assert t.wait() == 0
    finally:
        t.kill()


# ---- foreman's habits (issue 16) ----

def clean_env(**extra):
    """The test's environment without what would steer tend dev or tendctl."""
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "TEND_SOCKET")}
    env.update(extra)
    return env


def tendctl_here(project, *args):
    """tendctl run in the project's directory, with no -s and no TEND_SOCKET."""
    return run([TENDCTL, *args], cwd=project, env=clean_env())


@pytest.mark.parametrize("given, dotenv, environ, wanted", [
    (None, None, "env", "env"),     # the environment's PORT
    (None, "dot", "env", "dot"),    # .env's wins over it, as in foreman (.env is loaded over it)
    ("flag", "dot", "env", "flag"),  # -p wins over both
])
def test_the_base_port_comes_from_p_then_env_file_then_environment(
        tmp_path, tend_run, given, dotenv, environ, wanted):
    base = free_ports(3)
    ports = {"flag": base, "dot": base + 1, "env": base + 2}
    p = project(tmp_path, "web: echo \"web $PORT\"; exec sleep 1000\n"
                          "api: echo \"api $PORT\"; exec sleep 1000\n",
                f"PORT={ports[dotenv]}\n" if dotenv else "")
    args = ["dev"] + (["-p", str(ports[given])] if given else [])
    t = tend_run(args, cwd=p, pid1=False, env=clean_env(PORT=str(ports[environ])))
    t.wait_line(rf"^web\.1 +\| web {ports[wanted]}$")
    t.wait_line(rf"^api\.1 +\| api {ports[wanted] + 100}$")
    t.signal(signal.SIGINT)
    assert t.wait() == 0


def test_a_port_that_is_no_number_stops_tend_dev(tmp_path):
    p = project(tmp_path, "web: sleep 1000\n")
    r = run([TEND, "dev"], cwd=p, env=clean_env(PORT="http"))
    assert r.returncode == 1
    assert "tend dev: PORT 'http': not a port number (1-65535)" in r.stderr, r.stderr


def test_names_run_only_those_entries_with_the_formation(tmp_path, tend_run):
    p = project(tmp_path, "web: echo \"web $PORT\"; exec sleep 1001\n"
                          "worker: echo worker; exec sleep 1002\n"
                          "clock: echo \"clock $PORT\"; exec sleep 1003\n")
    t = tend_run(["dev", "web", "clock", "-m", "web=2,worker=3"], cwd=p, pid1=False)
    t.wait_line(r"^web\.2 +\| web 5001$")
    t.wait_line(r"^clock\.1 +\| clock 5200$")  # ports keep the Procfile's order
    t.wait_line(r"^web\.1 +\| web 5000$")
    t.wait_line(r"every autostart program is ready")
    assert t.count(r"worker") == 0, t.output()
    names = {line.split()[0] for line in tendctl_here(p, "status").stdout.splitlines()[1:]}
    assert names == {"web.1", "web.2", "clock.1"}
    t.signal(signal.SIGINT)
    assert t.wait() == 0
    r = run([TEND, "dev", "web", "wokrer"], cwd=p)
    assert r.returncode == 1
    assert "Procfile: error: no process 'wokrer' in it (web, worker, clock)" in r.stderr, r.stderr


def test_names_pick_programs_of_a_config_and_what_they_depend_on(tmp_path, tend_run):
    (tmp_path / "tend.ini").write_text(
        "[program:db]\ncommand = sleep 1001\nstartsecs = 0\n"
        "[program:cache]\ncommand = sleep 1002\nstartsecs = 0\n"
        "[program:web]\ncommand = sleep 1003\nstartsecs = 0\ndepends_on = db\n"
        "[program:mail]\ncommand = sleep 1004\nstartsecs = 0\n"
        "[program:other]\ncommand = sleep 1005\nstartsecs = 0\ndepends_on = web\n")
    t = tend_run(["dev", "web", "mail"], cwd=tmp_path, pid1=False)
    t.wait_line(r"web: running, pid")
    t.wait_line(r"mail: running, pid")
    assert t.count(r"db: running, pid") == 1
    assert t.count(r"(cache|other): (started|running)") == 0, t.output()
    t.signal(signal.SIGINT)
    assert t.wait() == 0
    r = run([TEND, "dev", "web", "nosuch"], cwd=tmp_path, timeout=20 * SLOW)
    assert r.returncode == 1 and "nosuch: no such program" in r.stdout + r.stderr


def test_exit_0_is_done_a_crash_restarts_and_can_die_may_exit(tmp_path, tend_run):
    p = project(tmp_path, "build: echo built\n"
                          "crash: sh -c 'echo crashing; exit 3'\n"
                          "maybe: sh -c 'echo maybe; exit 4'\n"
                          "web: sleep 1000\n")
    t = tend_run(["dev", "--can-die", "maybe"], cwd=p, pid1=False)
    t.wait_line(r"^build\.1 +\| built$")
    t.wait_line(r"build\.1: done, not restarted")
    t.wait_line(r"maybe\.1: exited with status 4")
    t.wait_line(r"maybe\.1: done, not restarted")
    wait_for(lambda: t.count(r"crash\.1: restarting in") >= 2, what="crash's restarts")
    assert t.count(r"^crash\.1 +\| crashing$") >= 3
    assert t.count(r"crash\.1: done") == 0
    # the one-shots ran once; the others go on
    assert t.count(r"build\.1: started") == 1 and t.count(r"maybe\.1: started") == 1
    assert t.count(r"gave up|shutting down") == 0, t.output()
    status = {line.split()[0]: line.split()[1]
              for line in tendctl_here(p, "status").stdout.splitlines()[1:]}
    assert status["build.1"] == "EXITED" and status["maybe.1"] == "EXITED"
    assert status["web.1"] == "RUNNING"
    t.signal(signal.SIGINT)
    assert t.wait() == 0


APP = """
import os, signal, sys
def on_term(signo, frame):
    print("got TERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print("app pid", os.getpid(), flush=True)
while True:
    signal.pause()
"""


def test_a_plain_command_is_the_process_and_gets_the_signal(tmp_path, tend_run):
    (tmp_path / "app.py").write_text(APP)
    p = project(tmp_path, "plain: /usr/bin/python3 -u app.py\n"
                          "viash: /usr/bin/python3 -u app.py \"$GREETING\" >&1\n"
                          "list: echo one; exec /usr/bin/python3 -u app.py\n",
                "GREETING=hi\n")
    t = tend_run(["dev"], cwd=p, pid1=False)
    for name in ("plain", "viash", "list"):
        printed = int(t.wait_line(rf"^{name}\.1 +\| app pid").split()[-1])
        told = tendctl_here(p, "pid", f"{name}.1")
        assert told.returncode == 0, told.stderr
        assert int(told.stdout) == printed  # no /bin/sh in between
        assert os.readlink(f"/proc/{printed}/exe").startswith("/usr/bin/python3")
    os.kill(printed, signal.SIGTERM)  # as another tool would, by the pid tend reports
    t.wait_line(r"^list\.1 +\| got TERM$")
    t.wait_line(r"list\.1: done, not restarted")  # it exited 0 on SIGTERM
    t.signal(signal.SIGINT)
    t.wait_line(r"^plain\.1 +\| got TERM$")
    t.wait_line(r"^viash\.1 +\| got TERM$")
    assert t.wait() == 0


def test_a_slow_stop_is_said_once_and_a_second_ctrl_c_kills(tmp_path, tend_run):
    p = project(tmp_path, "slow: sh -c 'trap \"\" TERM; echo deaf; exec sleep 1001'\n"
                          "quick: sleep 1002\n")
    t = tend_run(["dev"], cwd=p, pid1=False)
    t.wait_line(r"^slow\.1 +\| deaf$")
    t.wait_line(r"every autostart program is ready")
    asked = time.monotonic()
    t.signal(signal.SIGINT)
    t.wait_line(r"quick\.1: stopped")
    t.wait_line(r"waiting for slow\.1 to stop \(SIGKILL in 3s\)")
    waited = time.monotonic() - asked
    assert waited >= 1.9, waited  # not at once: a second after the stop signal or two
    assert t.count(r"waiting for") == 1, t.output()
    t.signal(signal.SIGINT)
    t.wait_line(r"interrupted again: SIGKILL to everything")
    t.wait_line(r"slow\.1: killed by SIGKILL")
    assert t.wait() == 0
    assert time.monotonic() - asked < 4.5 * SLOW  # stopwaitsecs (5 s) did not run out


def test_a_slow_restart_on_file_change_is_said_too(tmp_path, tend_run):
    (tmp_path / "tend.ini").write_text(
        "[program:slow]\ncommand = sh -c 'trap \"\" TERM; echo deaf; exec sleep 1001'\n"
        "startsecs = 0\nstopwaitsecs = 3\nstopasgroup = true\nwatch = *.txt\n")
    t = tend_run(["dev"], cwd=tmp_path, pid1=False)
    t.wait_line(r"^slow +\| deaf$")
    (tmp_path / "a.txt").write_text("1")
    t.wait_line(r"slow: files changed: restarting")
    t.wait_line(r"waiting for slow to stop \(SIGKILL in 1s\)")
    t.wait_line(r"slow: killed by SIGKILL")
    wait_for(lambda: t.count(r"^slow +\| deaf$") == 2, what="the restart")
    assert t.count(r"waiting for") == 1
    t.signal(signal.SIGINT)
    t.signal(signal.SIGINT)
    assert t.wait() == 0


def test_the_socket_is_the_projects_never_run_tend_sock(tmp_path, tend_run):
    """As root, with a config that names no socket: a tmpfs on /run in tend's own mount
    namespace shows whether tend made anything there."""
    (tmp_path / "tend.ini").write_text("[program:web]\ncommand = sleep 1001\nstartsecs = 0\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "Procfile").write_text("api: sleep 1002\n")
    on_tmpfs = ["sh", "-c", 'mount -t tmpfs tmpfs /run && exec "$@"', "sh"]
    t = tend_run(["dev"], cwd=tmp_path, wrap=on_tmpfs, env=clean_env())
    t.wait_line(r"web: running, pid")
    sock = tmp_path / ".tend" / "tend.sock"
    assert t.count(rf"control: tendctl -s {sock} status") == 1, t.output()
    assert os.geteuid() != 0 or os.listdir(f"/proc/{t.pid}/root/run") == []
    st = os.lstat(tmp_path / ".tend")
    assert oct(st.st_mode & 0o777) == "0o700" and st.st_uid == os.geteuid()
    assert stat_is_socket(sock)
    assert (tmp_path / ".tend" / ".gitignore").read_text() == "*\n"
    assert tendctl_here(tmp_path, "status", "web").stdout.splitlines()[1].split()[:2] == [
        "web", "RUNNING"]
    # -f elsewhere: that Procfile's directory has its own, side by side with this one
    u = tend_run(["dev", "-f", str(sub / "Procfile")], cwd=tmp_path, pid1=False, env=clean_env())
    u.wait_line(r"api\.1: running, pid")
    assert stat_is_socket(sub / ".tend" / "tend.sock")
    assert "api.1" in tendctl_here(sub, "status").stdout
    assert "api.1" not in tendctl_here(tmp_path, "status").stdout
    for x in (t, u):
        x.signal(signal.SIGINT)
        assert x.wait() == 0
    assert not sock.exists()


def stat_is_socket(path):
    import stat
    return stat.S_ISSOCK(os.lstat(path).st_mode)


@pytest.mark.parametrize("status", [0, 7])
def test_abort_on_exit_stops_everything_with_the_first_exit(tmp_path, tend_run, status):
    p = project(tmp_path, "web: sleep 1001\n"
                          f"job: sh -c 'echo job ran; exit {status}'\n")
    t = tend_run(["dev", "--abort-on-exit"], cwd=p, pid1=False)
    assert t.wait() == status
    assert t.count(r"^job\.1 +\| job ran$") == 1
    assert t.count(r"job\.1: exited: stopping everything \(--abort-on-exit\)") == 1
    assert t.count(r"web\.1: stopped") == 1
    assert t.count(r"job\.1: (restarting|started)") <= 1, t.output()


def test_each_process_has_its_name_in_ps_and_all_done_ends_tend_dev(tmp_path, tend_run):
    p = project(tmp_path, "job: echo \"I am $PS on $PORT\"\n")
    t = tend_run(["dev", "-m", "job=2"], cwd=p, pid1=False)
    assert t.wait() == 0  # nothing left to run, nothing to restart on a change: the end
    assert t.count(r"^job\.1 \| I am job\.1 on 5000$") == 1
    assert t.count(r"^job\.2 \| I am job\.2 on 5001$") == 1
    assert t.count(r"every process is done") == 1


def test_with_watch_tend_dev_stays_when_all_is_done(tmp_path, tend_run):
    p = project(tmp_path, "job: echo ran\n")
    t = tend_run(["dev", "--watch"], cwd=p, pid1=False)
    t.wait_line(r"job\.1: done, not restarted")
    (p / "x.txt").write_text("a fix")  # a change runs it again
    t.wait_line(r"job: files changed: restarting")
    wait_for(lambda: t.count(r"^job\.1 +\| ran$") == 2, what="the second run")
    assert t.outer.poll() is None
    t.signal(signal.SIGINT)
    assert t.wait() == 0
    assert t.count(r"every process is done") == 0


def test_a_one_shot_picked_by_name_ends_tend_dev_when_done(tmp_path, tend_run):
    (tmp_path / "tend.ini").write_text(
        "[program:web]\ncommand = sleep 1001\nstartsecs = 0\n"
        "[program:migrate]\ncommand = echo migrated\nstartsecs = 0\nautorestart = false\n"
        "[program:later]\ncommand = sleep 1002\nautostart = false\n")
    t = tend_run(["dev", "migrate"], cwd=tmp_path, pid1=False)
    assert t.wait() == 0
    assert t.count(r"^migrate +\| migrated$") == 1
    assert t.count(r"(web|later): started") == 0, t.output()
    assert t.count(r"every process is done") == 1
