"""Honest health, ports in use, planned stops and status order, against tend as PID 1."""
import json
import os
import re
import signal
import socket
import sys

import pytest

from conftest import ROOT, TENDCTL, free_ports, run, wait_for

LISTEN = os.path.join(ROOT, "tests", "helpers", "listen.py")
NGINX = "/usr/sbin/nginx"


def ctl(sock, *args):
    return run([TENDCTL, "-s", str(sock), *args])


def start(tend_run, tmp_path, text):
    sock = tmp_path / "tend.sock"
    ini = tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\nloglevel = info\n" + text)
    t = tend_run(["-c", str(ini)])
    wait_for(lambda: ctl(sock, "version").returncode == 0, what="the control socket")
    return t, sock, ini


def status(sock):
    return {p["name"]: p for p in json.loads(ctl(sock, "status", "--json").stdout)}


def state_is(sock, name, *states):
    return status(sock).get(name, {}).get("state") in states


# ---- health ----

def test_health_counts_a_crash_without_autorestart_and_not_a_stop(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:web]
startsecs = 0
command = sleep 1000
[program:done]
command = /bin/sh -c 'exit 0'
autorestart = false
startsecs = 0
[program:victim]
command = sleep 1001
autorestart = false
startsecs = 0
[program:bad]
command = /bin/sh -c 'exec sleep 1002'
autorestart = unexpected
startsecs = 0
""")
    wait_for(lambda: state_is(sock, "done", "EXITED") and state_is(sock, "victim", "RUNNING")
             and state_is(sock, "web", "RUNNING") and state_is(sock, "bad", "RUNNING"))
    r = ctl(sock, "health")
    assert r.returncode == 0 and r.stdout == "ok\n", r.stdout  # done exited as expected
    assert ctl(sock, "stop", "web").returncode == 0
    r = ctl(sock, "health")
    assert r.returncode == 0, r.stdout  # stopped on purpose
    os.kill(host_pid(t, "sleep 1001"), signal.SIGKILL)
    wait_for(lambda: state_is(sock, "victim", "EXITED"))
    r = ctl(sock, "health")
    assert r.returncode == 3 and "victim: EXITED (SIGKILL)" in r.stdout, r.stdout
    assert "done" not in r.stdout and "web" not in r.stdout


def host_pid(t, cmdline):
    """The host pid of the process below tend whose command line is cmdline."""
    for pid in t.descendants():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().replace(b"\0", b" ").strip() == cmdline.encode():
                    return pid
        except OSError:
            pass
    raise AssertionError(f"no process {cmdline!r} below tend")


FLEET = """
[program:web]
command = /bin/sh -c 'test %(process_num)d = 2 && exit 1; exec sleep 1000'
process_name = web_%(process_num)02d
numprocs = 3
startsecs = 0.2
startretries = 1
[program:side]
command = sleep 1000
startsecs = 0
"""


def test_health_min_ready_tolerates_a_bad_worker(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, FLEET)
    wait_for(lambda: state_is(sock, "web_02", "FATAL") and state_is(sock, "web_01", "RUNNING")
             and state_is(sock, "web_00", "RUNNING") and state_is(sock, "side", "RUNNING"))
    r = ctl(sock, "health")
    assert r.returncode == 3 and r.stdout.startswith("web_02: FATAL"), r.stdout
    for ok in (["web=2"], ["web=66%"], ["web=1", "--min-ready", "side=100%"]):
        r = ctl(sock, "health", "--min-ready", *ok)
        assert r.returncode == 0 and r.stdout == "ok\n", (ok, r.stdout)
    r = ctl(sock, "health", "--min-ready", "web=3")
    assert r.returncode == 3 and r.stdout == "web: 2 of 3 processes RUNNING, at least 3 wanted\n"
    r = ctl(sock, "health", "--min-ready=web=67%")  # 67% of 3 is 2.01: 3
    assert r.returncode == 3 and "at least 3 wanted" in r.stdout, r.stdout
    assert ctl(sock, "stop", "side").returncode == 0
    assert ctl(sock, "health", "--min-ready", "web=2").returncode == 0  # side: stopped on purpose
    r = ctl(sock, "health", "--min-ready", "web=2", "--min-ready", "side=1")
    assert r.returncode == 3 and "side: 0 of 1 processes RUNNING" in r.stdout, r.stdout
    assert ctl(sock, "health", "--min-ready", "nope=1").returncode == 4
    assert ctl(sock, "health", "--min-ready", "web").returncode == 2
    assert ctl(sock, "health", "--min-ready", "web=101%").returncode == 2
    r = ctl(sock, "health", "--live")  # no [nginx]: tend answers, that is all
    assert r.returncode == 0 and r.stdout == "ok\n", r.stdout


@pytest.mark.skipif(not os.path.exists(NGINX), reason="no nginx")
def test_health_live_follows_nginx_only(tend_run, tmp_path):
    base, listen = free_ports(2), free_ports(1)
    t, sock, _ = start(tend_run, tmp_path, f"""
[program:web]
command = /bin/sh -c 'test %(process_num)d = 1 && exit 1; exec {sys.executable} {LISTEN} %(port)d'
process_name = web_%(process_num)02d
numprocs = 2
port = {base}
ready = tcp
startretries = 1
[nginx]
upstream = web
listen = 127.0.0.1:{listen}
config = {tmp_path}/nginx.conf
""")
    wait_for(lambda: state_is(sock, "nginx", "RUNNING") and state_is(sock, "web_01", "FATAL"),
             timeout=20)
    assert ctl(sock, "health").returncode == 3
    r = ctl(sock, "health", "--live")
    assert r.returncode == 0 and r.stdout == "ok\n", r.stdout
    assert ctl(sock, "stop", "nginx").returncode == 0
    r = ctl(sock, "health", "--live")
    assert r.returncode == 3 and r.stdout.startswith("nginx: STOPPED"), r.stdout


# ---- ports ----

def test_a_port_held_outside_fails_the_start_until_it_is_free(tend_run, tmp_path):
    port = free_ports(1)
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", port))
    squatter.listen(1)
    try:
        t, sock, _ = start(tend_run, tmp_path, f"""
[program:web]
command = {sys.executable} {LISTEN} %(port)d
port = {port}
ready = tcp
startretries = unlimited
restart_delay = 200ms
restart_delay_max = 200ms
""")
        want = f"web: port {port} is in use by another process"
        t.wait_line(re.escape(want))
        wait_for(lambda: status(sock)["web"]["error"] == want[5:] and
                 state_is(sock, "web", "BACKOFF", "STARTING"))
        assert "port" in ctl(sock, "status").stdout.split("\n")[1]
    finally:
        squatter.close()
    wait_for(lambda: state_is(sock, "web", "RUNNING"), what="web once the port is free")
    assert status(sock)["web"]["restarts"] >= 1  # failed starts count


def test_a_port_held_by_another_program_names_it(tend_run, tmp_path):
    port = free_ports(1)
    t, sock, _ = start(tend_run, tmp_path, f"""
[program:squat]
command = {sys.executable} {LISTEN} {port}
startsecs = 1
[program:web]
command = {sys.executable} {LISTEN} %(port)d
port = {port}
depends_on = squat
startretries = 2
restart_delay = 100ms
""")
    wait_for(lambda: state_is(sock, "web", "FATAL"))
    pid = ctl(sock, "pid", "squat").stdout.strip()
    want = f"port {port} is in use by pid {pid} (python3)"
    assert status(sock)["web"]["error"] == want
    t.wait_line(re.escape(f"web: {want}"))
    assert ctl(sock, "stop", "squat").returncode == 0
    assert ctl(sock, "start", "web").returncode == 0
    assert state_is(sock, "web", "RUNNING")


def test_a_probe_counts_only_a_listener_of_the_process_tree(tend_run, tmp_path):
    base = free_ports(2)
    t, sock, _ = start(tend_run, tmp_path, f"""
[program:own]
command = /bin/sh -c '{sys.executable} {LISTEN} %(port)d; exit 1'
port = {base}
ready = tcp
[program:web]
command = /bin/sh -c '{sys.executable} {LISTEN} %(port)d --orphan; exec sleep 1000'
port = {base + 1}
ready = tcp
ready_timeout = 3s
startretries = 2
restart_delay = 100ms
""")
    wait_for(lambda: state_is(sock, "own", "RUNNING"), what="a listener in a child counts")
    line = t.wait_line(rf"web: port {base + 1} is held by pid \d+ \(python3\), not by web")
    holder = re.search(r"pid (\d+)", line).group(1)
    s = status(sock)["web"]
    assert s["state"] == "STARTING" and f"held by pid {holder} (python3)" in s["error"], s
    t.wait_line(rf"web: not ready within 3(\.0)?s: port {base + 1} is held by pid {holder}", timeout=10)
    # the orphan is still there: the next start does not even begin
    t.wait_line(rf"web: port {base + 1} is in use by pid {holder} \(python3\)", timeout=10)
    wait_for(lambda: state_is(sock, "web", "FATAL"))
    assert "web: running" not in t.output()


# ---- planned stops and RESTARTS ----

def test_planned_stops_log_as_stops_and_do_not_count_as_restarts(tend_run, tmp_path):
    t, sock, _ = start(tend_run, tmp_path, """
[program:web]
command = sleep 1000
startsecs = 0
""")
    wait_for(lambda: state_is(sock, "web", "RUNNING"))
    assert ctl(sock, "restart", "web").returncode == 0
    t.wait_line(r"web: stopped \(SIGTERM\)")
    assert ctl(sock, "stop", "web").returncode == 0
    wait_for(lambda: t.count(r"web: stopped \(SIGTERM\)") == 2)
    assert ctl(sock, "start", "web").returncode == 0
    assert "killed by" not in t.output()
    assert status(sock)["web"]["restarts"] == 0
    os.kill(host_pid(t, "sleep 1000"), signal.SIGSEGV)
    t.wait_line(r"web: killed by SIGSEGV")
    wait_for(lambda: status(sock)["web"]["restarts"] == 1 and state_is(sock, "web", "RUNNING"))
    line = [x for x in ctl(sock, "status").stdout.splitlines() if x.startswith("web")][0]
    assert re.search(r"\s1\s+SIGSEGV", line), line
    t.signal(signal.SIGTERM)
    assert t.wait() == 0
    assert t.count(r"web: stopped \(SIGTERM\)") == 3 and t.count("killed by") == 1


# ---- status order ----

def names(sock):
    return [line.split()[0] for line in ctl(sock, "status").stdout.splitlines()[1:]
            if line and not line.startswith("nginx:")]


def test_status_order_stays_the_config_order_across_reloads(tend_run, tmp_path):
    body = """
[program:a]
command = sleep 1000
startsecs = 0
[program:b]
command = sleep {b}
process_name = b_%(process_num)d
numprocs = 2
startsecs = 0
{n}
[program:c]
command = sleep {c}
startsecs = 0
"""
    t, sock, ini = start(tend_run, tmp_path, body.format(b=1000, c=1000, n=""))
    wait_for(lambda: state_is(sock, "c", "RUNNING"))
    assert ctl(sock, "scale", "b=3").returncode == 0
    assert names(sock) == ["a", "b_0", "b_1", "b_2", "c"]
    new = "[program:n]\ncommand = sleep 1003\nstartsecs = 0"
    ini.write_text(ini.read_text().split("\n[program:a]")[0] + body.format(b=1001, c=1002, n=new))
    assert ctl(sock, "reload").returncode == 0  # b and c change, n is new, b_2 leaves
    want = ["a", "b_0", "b_1", "n", "c"]
    assert names(sock) == want
    wait_for(lambda: all(p["state"] == "RUNNING" for p in status(sock).values()), timeout=15)
    assert names(sock) == want
    assert ctl(sock, "scale", "b=3").returncode == 0
    want = ["a", "b_0", "b_1", "b_2", "n", "c"]
    assert names(sock) == want
    assert [p["name"] for p in json.loads(ctl(sock, "status", "--json").stdout)] == want
