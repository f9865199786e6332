"""tend dev: Procfile and .env, foreman's ports, colors in a real terminal, watching."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import SLOW, TEND, Tend, wait_for


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
