"""Why a process ended: `tendctl why NAME` and the last-exit fields of
`tendctl status --json` (last_exit, cause, why, ended_at, stderr_tail,
restart_times), against a real tend as PID 1 of its own namespace: an exit with a
status and stderr, a SIGKILL from outside, a failed health check, a missing
binary, a crash loop's restart times, and where this host's memory cgroup can be
written, a real kill by the kernel's OOM killer."""
import datetime
import json
import os
import signal
import sys

import pytest

from conftest import TENDCTL, run, wait_for


def write_ini(tmp_path, body):
    sock, ini = tmp_path / "tend.sock", tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\n{body}")
    return ini, sock


def ctl(sock, *words):
    return run([TENDCTL, "-s", str(sock), *words])


def record(sock, name):
    r = ctl(sock, "status", "--json", name)
    assert r.returncode in (0, 3), r.stderr
    return json.loads(r.stdout)[0]


def when(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


def host_pid(t, ns_pid):
    """The host pid of the process tend (in its namespace) knows as ns_pid."""
    for pid in t.descendants():
        try:
            with open(f"/proc/{pid}/status") as f:
                ns = [line.split()[-1] for line in f if line.startswith("NSpid:")]
        except OSError:
            continue
        if ns and int(ns[0]) == ns_pid:
            return pid
    return None


def start(tend_run, tmp_path, body):
    ini, sock = write_ini(tmp_path, body)
    t = tend_run(["-c", str(ini)])
    wait_for(lambda: ctl(sock, "version").returncode == 0, what="the control socket")
    return t, sock


def test_an_exit_shows_its_status_and_its_last_twenty_stderr_lines(tend_run, tmp_path):
    before = datetime.datetime.now(datetime.timezone.utc)
    _, sock = start(tend_run, tmp_path, """
[program:crash]
command = /bin/sh -c 'for i in $(seq 1 30); do echo "boom $i" >&2; echo "out $i"; done; exit 3'
startsecs = 0
autorestart = false
""")
    wait_for(lambda: record(sock, "crash")["state"] == "EXITED", what="crash EXITED")
    rec = record(sock, "crash")
    assert rec["last_exit"] == {"code": 3}
    assert rec["cause"] == "exited"
    assert rec["why"] == "exited with status 3"
    assert rec["stderr_tail"] == [f"boom {i}" for i in range(11, 31)]  # 20 of 30, no stdout
    assert before - datetime.timedelta(seconds=1) <= when(rec["ended_at"]) <= \
        datetime.datetime.now(datetime.timezone.utc)
    assert rec["restart_times"] == []
    r = ctl(sock, "why", "crash")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "crash: EXITED"
    assert "  last exit: exited with status 3" in lines
    assert "  cause:     exited" in lines
    assert "  stderr, its last 20 lines then:" in lines
    assert lines[-20:] == [f"    boom {i}" for i in range(11, 31)]
    assert "boom 10" not in r.stdout
    assert "exited with status 3" in ctl(sock, "status", "crash").stdout


def test_a_sigkill_from_outside_is_a_signal(tend_run, tmp_path):
    t, sock = start(tend_run, tmp_path, """
[program:victim]
command = sleep 1000
startsecs = 0
""")
    wait_for(lambda: record(sock, "victim")["state"] == "RUNNING", what="victim RUNNING")
    rec = record(sock, "victim")
    assert rec["last_exit"] is None and rec["cause"] is None and rec["ended_at"] is None
    assert rec["stderr_tail"] == [] and rec["why"] is None
    assert "has not ended since tend began" in ctl(sock, "why", "victim").stdout
    pid = wait_for(lambda: host_pid(t, rec["pid"]), what="the victim's host pid")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: record(sock, "victim")["cause"] == "signal", what="the signal recorded")
    rec = record(sock, "victim")
    assert rec["last_exit"] == {"signal": "SIGKILL", "core": False}
    assert rec["why"] == "killed by SIGKILL"  # this cgroup's OOM count did not rise
    assert "  last exit: killed by SIGKILL" in ctl(sock, "why", "victim").stdout


def test_a_failed_health_check_is_the_cause(tend_run, tmp_path):
    _, sock = start(tend_run, tmp_path, """
[program:sick]
command = sleep 1000
startsecs = 0
health = exec:false
health_interval = 200ms
health_failures = 2
""")
    wait_for(lambda: record(sock, "sick")["cause"] == "health", timeout=15,
             what="a health stop recorded")
    rec = record(sock, "sick")
    assert rec["last_exit"] == {"signal": "SIGTERM", "core": False}
    assert rec["why"].startswith("stopped by tend: health check failed 2 times in a row"), rec
    out = ctl(sock, "why", "sick").stdout
    assert "  cause:     health" in out
    assert "restarts:  1, at" in out or "restarts:  2, at" in out, out


def test_a_missing_binary_is_an_exec_failure(tend_run, tmp_path):
    _, sock = start(tend_run, tmp_path, """
[program:missing]
command = /nonexistent/tend-why
startretries = 0
""")
    wait_for(lambda: record(sock, "missing")["state"] == "FATAL", what="missing FATAL")
    rec = record(sock, "missing")
    assert rec["cause"] == "exec" and rec["last_exit"] is None
    assert rec["why"] == ("could not start: exec '/nonexistent/tend-why': "
                          "No such file or directory")
    out = ctl(sock, "why", "missing").stdout
    assert "  cause:     exec" in out and "stderr" not in out


def test_restart_times_keep_the_last_ten(tend_run, tmp_path):
    before = datetime.datetime.now(datetime.timezone.utc)
    _, sock = start(tend_run, tmp_path, """
[program:loop]
command = /bin/sh -c 'echo "attempt" >&2; exit 1'
startsecs = 0
startretries = unlimited
restart_delay = 20ms
restart_delay_max = 40ms
""")
    wait_for(lambda: record(sock, "loop")["restarts"] >= 12, timeout=30, what="12 restarts")
    rec = record(sock, "loop")
    times = [when(x) for x in rec["restart_times"]]
    assert len(times) == 10
    assert times == sorted(times)
    assert before - datetime.timedelta(seconds=1) <= times[0]
    assert rec["stderr_tail"] == ["attempt"]  # this run's only, not the earlier ones'
    out = ctl(sock, "why", "loop").stdout
    assert f"  restarts:  {rec['restarts']}, the last 10 at" in out or "the last 10 at" in out


def test_usage_and_unknown_names(tend_run, tmp_path):
    _, sock = start(tend_run, tmp_path, """
[program:web]
command = sleep 1000
numprocs = 2
process_name = web_%(process_num)d
startsecs = 0
""")
    r = ctl(sock, "why", "nope")
    assert r.returncode == 4 and "no such process: nope" in r.stderr
    r = ctl(sock, "why")
    assert r.returncode == 2 and "usage: tendctl why NAME..." in r.stderr
    wait_for(lambda: ctl(sock, "why", "web").stdout.count("RUNNING") == 2, what="both")
    out = ctl(sock, "why", "web").stdout
    assert out.startswith("web_0: RUNNING") and "\n\nweb_1: RUNNING" in out


# ---- a real OOM kill, in a memory cgroup of the test's own ----

def memory_cgroup(limit):
    """A new memory cgroup below this process's, limited to limit bytes: its
    cgroup.procs path, or None where none can be made (no v1 memory controller
    here, not root, a read-only hierarchy)."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        return None
    for _, ctl_, path in lines:
        if "memory" in ctl_.split(","):
            base = "/sys/fs/cgroup/memory" + (path if path != "/" else "")
            break
    else:
        return None
    new = os.path.join(base, f"tend-why-{os.getpid()}")
    try:
        os.mkdir(new)
        with open(os.path.join(new, "memory.limit_in_bytes"), "w") as f:
            f.write(str(limit))
        memsw = os.path.join(new, "memory.memsw.limit_in_bytes")
        if os.path.exists(memsw):
            with open(memsw, "w") as f:
                f.write(str(limit))
    except OSError:
        try:
            os.rmdir(new)
        except OSError:
            pass
        return None
    return new


def remove_cgroup(path):
    def gone():
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            return False
    wait_for(gone, timeout=10, what=f"{path} removed")


def test_a_real_oom_kill_is_told(tend_run, tmp_path):
    cg = memory_cgroup(128 << 20)
    if not cg:
        pytest.skip("no writable cgroup v1 memory controller here: the OOM cause is "
                    "covered by the unit test (a faked count)")
    try:
        hog = tmp_path / "hog.py"
        hog.write_text("import sys\nprint('filling', file=sys.stderr, flush=True)\n"
                       "a = []\nwhile True:\n    a.append(bytearray(8 << 20))\n")
        ini, sock = write_ini(tmp_path, f"""
[program:hog]
command = {sys.executable} {hog}
startsecs = 0
autorestart = false
""")
        # tend itself joins the cgroup before it starts, so that its count is the hog's
        wrap = ["sh", "-c", f'echo 0 > {cg}/cgroup.procs && exec "$@"', "sh"]
        t = tend_run(["-c", str(ini)], wrap=wrap)
        wait_for(lambda: ctl(sock, "version").returncode == 0, what="the control socket")
        wait_for(lambda: record(sock, "hog")["state"] == "EXITED", timeout=30,
                 what="the hog killed")
        rec = record(sock, "hog")
        assert rec["last_exit"] == {"signal": "SIGKILL", "core": False}, rec
        assert rec["cause"] == "oom", rec
        assert rec["why"] == "killed by SIGKILL (out of memory)"
        assert rec["stderr_tail"] == ["filling"]
        assert "killed by SIGKILL (out of memory)" in ctl(sock, "status", "hog").stdout
        assert "  cause:     oom" in ctl(sock, "why", "hog").stdout
        t.kill()
    finally:
        remove_cgroup(cg)
