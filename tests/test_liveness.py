"""Health after start-up: liveness checks that take a sick worker out of nginx before
they restart it, exec checks, the child watchdog. tend as PID 1, real nginx, real
node, wrk for load."""
import json
import os
import re
import signal
import sys
import time

import pytest

from conftest import ROOT, SLOW, TENDCTL, run, tend_check, wait_for
from test_nginx import Stack, host_pid_of, wrk

HELPERS = os.path.join(ROOT, "tests", "helpers")
LIVEWORKER = os.path.join(HELPERS, "liveworker.js")

# interval x failures + 1 s: the bound the health checks promise (tend.ini(5))
INTERVAL, FAILURES = 1.0, 3
BOUND = INTERVAL * FAILURES + 1.0


def live_stack(tend_run, tmp_path, extra=""):
    return Stack(tend_run, tmp_path, n=4, command=f"node {LIVEWORKER}", worker_extra=f"""
health = http:/health
health_interval = {INTERVAL:g}s
health_timeout = 500ms
health_failures = {FAILURES}
environment = LIVE_DIR={tmp_path}
{extra}""")


def status(s, name):
    procs = json.loads(s.ctl("status", "--json", name).stdout)
    return procs[0]


def wrk_totals(load, keepalive, reloads):
    """Requests wrk made: none failed, none timed out. With keep-alive, nginx's old
    workers close their idle client connections at each reload, and a request wrk
    sends on one at that moment is a read error (a browser would retry it): at most
    one per connection per reload, none of another kind."""
    out, _ = load.communicate(timeout=60 * SLOW)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    assert "Non-2xx" not in out, out
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    connect, read, write, timeout = (int(v) for v in errors.groups()) if errors else (0, 0, 0, 0)
    assert connect == write == timeout == 0, out
    assert read <= (8 * reloads if keepalive else 0), out
    return requests


def load_on(s, keepalive):
    return wrk(s.listen, 12, connections=8,
               extra=["--timeout", "10s"] + ([] if keepalive else ["-H", "Connection: close"]))


def left_upstream(s, port, since):
    """Seconds from since until nginx's config no longer lists port."""
    wait_for(lambda: port not in s.ports_in_file(), timeout=15, interval=0.01,
             what=f"port {port} out of the upstream")
    return time.monotonic() - since


def served_after(tmp_path, name, pid):
    """What a worker wrote at its SIGTERM: requests served, last one's epoch ms."""
    path = tmp_path / f"{name}.{pid}.json"
    wait_for(path.exists, timeout=10, what=f"{path.name}")
    return json.loads(path.read_text())


def back_in(s, name, old_pid, port):
    wait_for(lambda: status(s, name)["state"] == "RUNNING" and status(s, name)["pid"] != old_pid,
             timeout=20, what=f"{name} running again as a new process")
    wait_for(lambda: port in s.ports_in_file(), timeout=15, what=f"port {port} back in")
    assert status(s, name)["restarts"] == 1


@pytest.mark.parametrize("keepalive", [False, True], ids=["connection-close", "keep-alive"])
def test_a_frozen_worker_leaves_the_upstream_before_it_restarts(tend_run, tmp_path, keepalive):
    s = live_stack(tend_run, tmp_path)
    port = s.base + 1
    host_pid = host_pid_of(s.t, port)
    ns_pid = status(s, "web_01")["pid"]
    assert status(s, "web_01")["health"] in ("ok", "unknown")
    wait_for(lambda: status(s, "web_01")["health"] == "ok", timeout=5, what="a passed check")
    load = load_on(s, keepalive)
    time.sleep(2)  # under load before the freeze
    frozen = time.monotonic()
    os.kill(host_pid, signal.SIGSTOP)
    took = left_upstream(s, port, frozen)
    out_at = time.time()
    assert took <= BOUND, f"out of the upstream after {took:.2f}s, bound {BOUND}s"
    s.t.wait_line(r"web_01: unhealthy: health check failed 3 times in a row: no answer in time")
    back_in(s, "web_01", ns_pid, port)
    served = served_after(tmp_path, "web_01", ns_pid)
    # what nginx's old workers had sent it is answered after SIGCONT; nothing newer
    assert served["count"] > 0
    assert served["last"] / 1000 <= out_at + 1.0
    assert wrk_totals(load, keepalive, max(2, s.t.count(r"nginx: reloaded"))) > 1000
    s.t.wait_line(r"web_01: stopped for its health \(exit status 0\)")


@pytest.mark.parametrize("keepalive", [False, True], ids=["connection-close", "keep-alive"])
def test_a_worker_whose_health_answers_500_goes_the_same_way(tend_run, tmp_path, keepalive):
    s = live_stack(tend_run, tmp_path)
    port = s.base + 2
    ns_pid = status(s, "web_02")["pid"]
    load = load_on(s, keepalive)
    time.sleep(2)
    (tmp_path / "sick-web_02").write_text("")
    sick = time.monotonic()
    wait_for(lambda: status(s, "web_02")["health"].startswith("failing"), timeout=5,
             what="a failed check shown")
    took = left_upstream(s, port, sick)
    out_at = time.time()
    (tmp_path / "sick-web_02").unlink()  # its next process is well
    assert took <= BOUND, f"out of the upstream after {took:.2f}s, bound {BOUND}s"
    s.t.wait_line(r"web_02: unhealthy: health check failed 3 times in a row: "
                  r"GET /health answered 500")
    served = served_after(tmp_path, "web_02", ns_pid)
    assert served["count"] > 100  # it served until then: / still answered
    assert served["last"] / 1000 <= out_at + 1.0, "requests reached it after it left"
    back_in(s, "web_02", ns_pid, port)
    assert wrk_totals(load, keepalive, max(2, s.t.count(r"nginx: reloaded"))) > 1000


def write_ini(tmp_path, body):
    ini = tmp_path / "tend.ini"
    sock = tmp_path / "tend.sock"
    ini.write_text(f"[tend]\nloglevel = info\nsocket = {sock}\n{body}")
    return ini, sock


def ctl(sock, *args):
    return run([TENDCTL, "-s", str(sock), *args], timeout=30)


def test_exec_check_restarts_as_a_crash_and_counts(tend_run, tmp_path):
    flag = tmp_path / "bad"
    ini, sock = write_ini(tmp_path, f"""
[program:app]
command = sleep 3600
startsecs = 0
health = exec:sh -c 'test ! -e {flag}'
health_interval = 300ms
health_failures = 2
""")
    t = tend_run(["-c", str(ini)])
    t.wait_line(r"app: running")
    wait_for(lambda: "health ok" in ctl(sock, "status").stdout, timeout=5, what="health ok")
    first = json.loads(ctl(sock, "status", "--json").stdout)[0]
    flag.write_text("")
    t.wait_line(r"app: health check failed \(1 of 2\): sh exited with status 1")
    t.wait_line(r"app: unhealthy: health check failed 2 times in a row: sh exited with status 1")
    flag.unlink()
    t.wait_line(r"app: stopped for its health \(SIGTERM\)")
    wait_for(lambda: json.loads(ctl(sock, "status", "--json").stdout)[0]["pid"] not in
             (None, first["pid"]), timeout=10, what="a new process")
    now = json.loads(ctl(sock, "status", "--json").stdout)[0]
    assert now["restarts"] == 1


def test_a_critical_program_that_fails_its_checks_fails_tendctl_health(tend_run, tmp_path):
    ini, sock = write_ini(tmp_path, f"""
[program:app]
command = {sys.executable} {HELPERS}/ignoring.py sleep 3600
startsecs = 0
critical = true
autorestart = false
stopwaitsecs = 4
health = exec:false
health_interval = 200ms
health_failures = 1
""")
    t = tend_run(["-c", str(ini)])
    t.wait_line(r"app: unhealthy")
    r = ctl(sock, "health")  # it ignores SIGTERM: unhealthy for stopwaitsecs
    assert r.returncode == 3, r.stdout + r.stderr
    assert re.search(r"app: (RUNNING|STOPPING): health check failed 1 time in a row: false "
                     r"exited with status 1", r.stdout), r.stdout
    assert "health check failed" in ctl(sock, "status").stdout
    # autorestart = false: it is not restarted, and as critical, it ends tend
    t.wait_line(r"app: killed by SIGKILL: stopped by force", timeout=10)
    assert t.wait(20) != 0


def test_the_watchdog_restarts_a_process_that_stops_pinging(tend_run, tmp_path):
    ini, sock = write_ini(tmp_path, f"""
[program:svc]
command = {sys.executable} {HELPERS}/watchdog.py 1.5
ready = notify
watchdog = 500ms
[program:trig]
command = {sys.executable} {HELPERS}/watchdog.py 0.3 trigger
ready = notify
watchdog = 10s
""")
    t = tend_run(["-c", str(ini)])
    t.wait_line(r"WATCHDOG_USEC=500000")
    t.wait_line(r"svc: running")
    t.wait_line(r"svc: unhealthy: no WATCHDOG=1 within 500ms", timeout=10)
    t.wait_line(r"trig: unhealthy: it sent WATCHDOG=trigger", timeout=10)
    t.wait_line(r"svc: stopped for its health \(SIGTERM\)")
    wait_for(lambda: t.count(r"svc: running") >= 2, timeout=10, what="svc running again")
    svc = [p for p in json.loads(ctl(sock, "status", "--json").stdout) if p["name"] == "svc"][0]
    assert svc["restarts"] >= 1
    assert svc["health"] in ("ok", "unhealthy")


def test_health_needs_a_port_and_watchdog_needs_notify(tmp_path):
    ini, _ = write_ini(tmp_path, """
[program:a]
command = sleep 1
health = tcp
[program:b]
command = sleep 1
watchdog = 5s
[program:c]
command = sleep 1
health = bogus
""")
    r = tend_check(ini)
    text = r.stdout + r.stderr
    assert r.returncode != 0
    assert f"{ini}:7: error: health: needs a port= to check: 'tcp'" in text, text
    assert f"{ini}:10: error: watchdog: needs ready = notify" in text, text
    assert f"{ini}:13: error: health: expected none, tcp, http:/PATH or exec:COMMAND, not 'bogus'" in text
