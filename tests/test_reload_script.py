"""tendctl reload you can script: the change list, the warnings, --dry-run, --wait, and
status's old-config marker, against tend as PID 1 (real nginx where a rollout needs it)."""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess

import pytest

from conftest import ROOT, SLOW, TENDCTL, run, wait_for
from test_control import ctl, start
from test_nginx import Stack, generation, host_pid_of, served_by

PROGRAMS = """
[program:web]
command = sleep 1000
numprocs = 2
startsecs = 0
[program:old]
command = sleep 1001
startsecs = 0
[program:same]
command = sleep 1002
startsecs = 0
"""


def status(sock):
    return {p["name"]: p for p in json.loads(ctl(sock, "status", "--json").stdout)}


def all_running(sock, n):
    s = status(sock)
    return len(s) == n and all(p["state"] == "RUNNING" for p in s.values())


def changed_config(ini):
    """web's command and numprocs change, old goes, web2 comes, same stays; a typo warns."""
    text = ini.read_text().replace("sleep 1000\nnumprocs = 2", "sleep 999\nnumprocs = 3")
    text = text.replace("[program:old]\ncommand = sleep 1001\nstartsecs = 0\n", "")
    ini.write_text(text + "[program:web2]\ncommand = sleep 1003\nnumprocs = 2\nstartsecs = 0\n"
                   "autostrat = true\n")
    return text.count("\n") + 5  # the line of the typo


def test_reload_says_what_changed_then_the_warnings_then_the_summary(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path, PROGRAMS)
    wait_for(lambda: all_running(sock, 4), what="every process running")
    line = changed_config(ini)
    r = run([TENDCTL, "-s", str(sock), "reload"], capture_output=True, text=True)
    assert r.returncode == 0, r
    out = r.stdout.splitlines()
    assert out == [
        "~ web: changed (command, numprocs): 2 processes restart, 1 process added",
        "- old: removed",
        "+ web2: added (2 processes)",
        f"reloaded {ini}: 3 added, 1 removed, 2 restarted, 1 unchanged",
    ], r.stdout
    assert r.stderr == (f"{ini}:{line}: warning: unknown key 'autostrat' in a [program:x] section "
                        "(did you mean 'autostart'?)\n"), r.stderr
    wait_for(lambda: all_running(sock, 6), what="the new config running")
    assert set(status(sock)) == {"web_00", "web_01", "web_02", "same", "web2_00", "web2_01"}
    assert all(p["config"] == "current" for p in status(sock).values())


def test_a_change_no_process_restarts_for_and_a_bad_config(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path, PROGRAMS)
    wait_for(lambda: all_running(sock, 4), what="every process running")
    pids = {n: p["pid"] for n, p in status(sock).items()}
    ini.write_text(ini.read_text().replace("sleep 1002\nstartsecs = 0", "sleep 1002\nstartsecs = 1"))
    r = ctl(sock, "reload")
    assert r.returncode == 0, r
    assert r.stdout.splitlines()[0] == "~ same: changed (startsecs): no process restarts", r.stdout
    assert "0 added, 0 removed, 0 restarted, 4 unchanged" in r.stdout
    ini.write_text(ini.read_text() + "[program:broken]\ncommand = echo 'unterminated\n")
    r = ctl(sock, "reload")
    assert r.returncode == 1 and r.stdout == "", r
    assert re.match(rf"{re.escape(str(ini))}:\d+: error: command: unterminated", r.stderr), r.stderr
    assert "the running config is kept" in r.stderr
    assert {n: p["pid"] for n, p in status(sock).items()} == pids
    assert ctl(sock, "reload", "--bogus").returncode == 2
    assert ctl(sock, "reload", "--dry-run", "--wait").returncode == 2


def test_dry_run_says_the_same_and_changes_nothing(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path, PROGRAMS)
    wait_for(lambda: all_running(sock, 4), what="every process running")
    before = {n: p["pid"] for n, p in status(sock).items()}
    changed_config(ini)
    dry = run([TENDCTL, "-s", str(sock), "reload", "--dry-run"], capture_output=True, text=True)
    assert dry.returncode == 0, dry
    assert dry.stdout.splitlines()[:3] == [
        "~ web: changed (command, numprocs): 2 processes restart, 1 process added",
        "- old: removed",
        "+ web2: added (2 processes)",
    ], dry.stdout
    assert dry.stdout.splitlines()[3] == (
        f"dry run of {ini}: 3 added, 1 removed, 2 restarted, 1 unchanged; nothing applied")
    assert "unknown key 'autostrat'" in dry.stderr
    after = status(sock)
    assert {n: p["pid"] for n, p in after.items()} == before
    assert all(p["config"] == "current" for p in after.values())
    assert "(old config)" not in ctl(sock, "status").stdout
    real = run([TENDCTL, "-s", str(sock), "reload"], capture_output=True, text=True)
    assert real.stdout.splitlines()[:3] == dry.stdout.splitlines()[:3]
    ini.write_text(ini.read_text() + "[program:broken]\ncommand = echo 'unterminated\n")
    r = ctl(sock, "reload", "--dry-run")
    assert r.returncode == 1 and re.match(rf"{re.escape(str(ini))}:\d+: error: ", r.stderr), r


def test_wait_without_nginx_follows_restarts_and_removals(tend_run, tmp_path):
    t, sock, ini = start(tend_run, tmp_path, PROGRAMS)
    wait_for(lambda: all_running(sock, 4), what="every process running")
    changed_config(ini)
    ini.write_text(ini.read_text() + "[program:manual]\ncommand = sleep 1004\nautostart = false\n")
    r = ctl(sock, "reload", "--wait")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[:4] == [
        "~ web: changed (command, numprocs): 2 processes restart, 1 process added",
        "- old: removed",
        "+ web2: added (2 processes)",
        "+ manual: added (1 process)",
    ], lines
    steps = sorted(lines[5:-1])  # manual is not started (autostart = false): not waited for
    assert steps == ["old: removed"] + [f"web2_0{i}: ready under the new config" for i in range(2)] \
        + [f"web_0{i}: ready under the new config" for i in range(3)], lines
    assert lines[-1] == "reload: every changed process runs the new config"
    st = status(sock)
    assert "old" not in st and st["manual"]["state"] == "STOPPED"
    assert all(p["state"] == "RUNNING" for n, p in st.items() if n != "manual")


# ---- --wait, with nginx in front of four node workers ----

NEVER_READY = "command = sleep 1000"  # ready = http:/health: it never answers


def wait_reload(s, *extra):
    return subprocess.Popen([TENDCTL, "-s", str(s.sock), "reload", "--wait", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def never_ready(s, timeout):
    """The workers' command becomes one that never gets ready; returns the good text."""
    good = s.ini.read_text()
    bad = re.sub(r"(?m)^command = .*$", NEVER_READY, good)
    s.ini.write_text(bad.replace("ready = http:/health", f"ready = http:/health\nready_timeout = {timeout}"))
    return good


def test_wait_follows_a_rolling_reload_to_its_end(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path, worker_extra="environment = GEN=1")
    s.ini.write_text(s.ini.read_text().replace("GEN=1", "GEN=2"))
    pids = [host_pid_of(s.t, s.base + i) for i in range(4)]
    dry = s.ctl("reload", "--dry-run")  # says the rollout it would do, does none of it
    assert dry.returncode == 0 and dry.stdout.splitlines()[0] == (
        "~ web: changed (environment): 4 processes restart one at a time"), dry
    assert [host_pid_of(s.t, s.base + i) for i in range(4)] == pids
    assert [generation(s.base + i) for i in range(4)] == ["1"] * 4
    r = s.ctl("reload", "--wait")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == "~ web: changed (environment): 4 processes restart one at a time", lines
    assert lines[1].startswith(f"reloaded {s.ini}: 0 added, 0 removed, 4 restarted"), lines
    assert sorted(lines[2:6]) == [f"web_0{i}: ready under the new config" for i in range(4)]
    assert lines[6:] == ["reload: every changed process runs the new config"], lines
    # when it says so, it is so: every worker runs GEN=2 and nginx routes to each
    assert [generation(s.base + i) for i in range(4)] == ["2"] * 4
    assert all(p["config"] == "current" for p in json.loads(s.ctl("status", "--json").stdout))
    wait_for(s.routes_all, timeout=10, what="nginx routing to every worker")


def test_wait_fails_when_the_rollout_halts_and_status_shows_the_old_config(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    old = {i: host_pid_of(s.t, s.base + i) for i in range(1, 4)}
    good = never_ready(s, "1s")
    r = s.ctl("reload", "--wait")
    assert r.returncode == 1, r
    assert r.stdout.splitlines()[0] == (
        "~ web: changed (command, ready_timeout): 4 processes restart one at a time"), r.stdout
    assert re.search(r"^web_00: not ready under the new config \((BACKOFF|FATAL|STARTING)", r.stderr, re.M), r
    assert "reload: rollout halted: 3 processes keep the old config" in r.stderr, r.stderr
    # tend goes on serving with the old three
    assert {i: host_pid_of(s.t, s.base + i) for i in range(1, 4)} == old
    assert {served_by(s.listen) for _ in range(30)} == {"web_01", "web_02", "web_03"}
    st = {p["name"]: p for p in json.loads(s.ctl("status", "--json").stdout)}
    assert [st[f"web_0{i}"]["config"] for i in range(4)] == ["current", "old", "old", "old"]
    human = s.ctl("status").stdout.splitlines()
    marked = sorted(line.split()[0] for line in human if line.endswith("  (old config)"))
    assert marked == ["web_01", "web_02", "web_03"], human
    s.ini.write_text(good)  # the fix: what web_01..03 run already, web_00 starts afresh
    r = s.ctl("reload", "--wait")
    assert r.returncode == 0, r
    # web_00 is in backoff or retrying: it starts afresh or restarts
    assert re.fullmatch(r"~ web: changed \(command, ready_timeout\): 1 process "
                        r"(starts afresh|restarts)", r.stdout.splitlines()[0]), r.stdout
    assert "web_00: ready under the new config" in r.stdout
    assert "(old config)" not in s.ctl("status").stdout
    wait_for(s.routes_all, timeout=10, what="nginx routing to every worker")


def shut_down_cleanly(s):
    """Under BUILD=build/asan, a leak or a use-after-free makes this fail."""
    assert s.ctl("shutdown").returncode == 0
    assert s.t.wait(30) == 0, s.t.output()[-3000:]
    assert "Sanitizer" not in s.t.output()


def until_applied(p):
    """Reads a reload --wait's stdout up to its summary line: it is waiting from there."""
    lines = []
    while not lines or not lines[-1].startswith("reloaded "):
        line = p.stdout.readline()
        assert line, (lines, p.stderr.read())
        lines.append(line.rstrip("\n"))
    return lines


def test_a_client_that_leaves_during_wait_leaves_tend_healthy(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    good = never_ready(s, "30s")
    p = wait_reload(s)
    try:
        assert until_applied(p)[0].startswith("~ web: changed (command, ready_timeout)")
    finally:
        p.kill()
        p.wait(10)
    assert s.t.outer.poll() is None

    def states():
        return {q["name"]: (q["state"], q["config"])
                for q in json.loads(s.ctl("status", "--json").stdout)}
    # the rollout goes on without its client: web_00 restarts under the new command
    wait_for(lambda: states()["web_00"] == ("STARTING", "current"), timeout=20,
             what="web_00 restarted")
    assert [states()[f"web_0{i}"] for i in range(1, 4)] == [("RUNNING", "old")] * 3
    assert {served_by(s.listen) for _ in range(30)} == {"web_01", "web_02", "web_03"}
    old = {i: host_pid_of(s.t, s.base + i) for i in range(1, 4)}
    s.ini.write_text(good)
    r = s.ctl("reload", "--wait")
    assert r.returncode == 0, r
    assert "(old config)" not in s.ctl("status").stdout
    wait_for(s.routes_all, timeout=10, what="nginx routing to every worker")
    # the rollout still had web_01..03 to restart: the fix gave them back what they run
    for i in range(1, 4):
        s.t.wait_line(rf"web_0{i}: runs the loaded config already: not restarted", timeout=10)
    assert {i: host_pid_of(s.t, s.base + i) for i in range(1, 4)} == old
    shut_down_cleanly(s)


def test_a_second_reload_supersedes_a_waiting_one(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    good = never_ready(s, "30s")
    first = wait_reload(s)
    until_applied(first)
    s.ini.write_text(good)
    second = wait_reload(s)
    out, err = first.communicate(timeout=10 * SLOW)
    assert first.returncode == 1, (out, err)
    assert err.endswith("reload: superseded by another reload: no longer waiting\n"), err
    out, err = second.communicate(timeout=60 * SLOW)
    assert second.returncode == 0, (out, err)
    # and a SIGHUP supersedes one too
    never_ready(s, "30s")
    third = wait_reload(s)
    until_applied(third)
    s.ini.write_text(good)
    s.t.signal(signal.SIGHUP)
    out, err = third.communicate(timeout=10 * SLOW)
    assert third.returncode == 1 and "superseded by another reload" in err, (out, err)
    wait_for(lambda: "(old config)" not in s.ctl("status").stdout and s.routes_all(),
             timeout=30, what="every worker back on the good config")
    shut_down_cleanly(s)


def test_wait_follows_workers_removed_one_at_a_time(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    s.ini.write_text(s.ini.read_text().replace("numprocs = 4", "numprocs = 2"))
    r = s.ctl("reload", "--wait")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == "~ web: changed (numprocs): 2 processes removed one at a time", lines
    assert sorted(lines[2:4]) == ["web_02: removed", "web_03: removed"], lines
    assert lines[4:] == ["reload: every changed process runs the new config"], lines
    # gone when it says so: out of the table, and out of nginx's upstream
    assert sorted(p["name"] for p in json.loads(s.ctl("status", "--json", "web").stdout)) == [
        "web_00", "web_01"]
    assert s.ports_in_file() == [s.base, s.base + 1]
