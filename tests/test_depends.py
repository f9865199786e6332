"""depends_on = NAME:CONDITION, black-box: tend as PID 1, real processes. A one-shot
migration gates web workers (succeeded), a failed one holds them STOPPED and says
why until it is run again; started, completed and healthy each gate a start; bad
conditions are errors at their line. And [nginx] read_timeout: a frozen worker
costs a request read_timeout, then nginx tries another worker."""
import json
import os
import signal
import time

from conftest import SLOW, free_ports, tend_check, wait_for
from test_liveness import ctl, write_ini
from test_nginx import Stack, get, host_pid_of

PY = "/usr/bin/python3"


def procs(sock):
    r = ctl(sock, "status", "--json")  # exits 3 while some are not RUNNING
    return {p["name"]: p for p in json.loads(r.stdout)} if r.stdout.startswith("[") else {}


def state_is(sock, name, state):
    p = procs(sock).get(name)
    return p is not None and p["state"] == state


def start(tend_run, tmp_path, body):
    ini, sock = write_ini(tmp_path, body)
    t = tend_run(["-c", str(ini)])
    wait_for(lambda: procs(sock), timeout=10, what="tend's socket")
    return t, sock


MIGRATION = """
[program:migrate]
command = /bin/sh -c 'sleep 0.2; test -e {ok} || {{ echo "migration 0042: no such table" >&2; exit 1; }}'
autorestart = false
startsecs = 0
[program:web]
command = sleep 1000
numprocs = 2
process_name = web_%(process_num)d
startsecs = 0
depends_on = migrate:succeeded
"""


def test_workers_start_once_the_migration_succeeded(tend_run, tmp_path):
    ok = tmp_path / "ok"
    ok.write_text("")
    t, sock = start(tend_run, tmp_path, MIGRATION.format(ok=ok))
    wait_for(lambda: state_is(sock, "web_1", "RUNNING") and state_is(sock, "web_0", "RUNNING"),
             timeout=10, what="the workers running")
    assert procs(sock)["migrate"]["state"] == "EXITED"
    lines = t.output().splitlines()
    exited = next(i for i, l in enumerate(lines) if "migrate: exited with status 0" in l)
    started = [i for i, l in enumerate(lines) if "web_0: started" in l]
    assert started and started[0] > exited, t.output()
    assert procs(sock)["web_0"]["waiting"] is None
    r = ctl(sock, "health")  # the one-shot that succeeded is done, not unready
    assert r.returncode == 0 and r.stdout == "ok\n", r.stdout


def test_a_failed_migration_holds_the_workers_until_a_rerun_succeeds(tend_run, tmp_path):
    ok = tmp_path / "ok"
    t, sock = start(tend_run, tmp_path, MIGRATION.format(ok=ok))
    want = "waiting: migrate:succeeded failed (migrate exited 1)"
    wait_for(lambda: want in ctl(sock, "status").stdout, timeout=10, what=want)
    out = ctl(sock, "status").stdout
    for name in ("web_0", "web_1"):
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert "STOPPED" in line and want in line, out
    web = procs(sock)["web_0"]
    assert web["state"] == "STOPPED"
    assert web["waiting"] == {"program": "migrate", "condition": "succeeded", "failed": True,
                              "text": "migrate:succeeded failed (migrate exited 1)"}
    r = ctl(sock, "health")
    assert r.returncode != 0
    assert "migrate: EXITED (1)" in r.stdout, r.stdout
    assert "web_0: STOPPED: " + want in r.stdout, r.stdout
    assert t.count(r"web_\d: started") == 0  # held, not started nor retried
    t.wait_line(r"\[program:web\] not started: depends_on migrate:succeeded failed "
                r"\(migrate exited 1\)")
    assert t.count(r"not started: depends_on") == 1  # once, not per process nor per news

    # tendctl why names the migration's exit and what it said
    r = ctl(sock, "why", "migrate")
    assert r.returncode == 0, r.stderr
    assert "last exit: exited with status 1" in r.stdout, r.stdout
    assert "cause:     exited" in r.stdout and "migration 0042: no such table" in r.stdout, \
        r.stdout
    ok.write_text("")
    assert ctl(sock, "start", "migrate").returncode == 0
    wait_for(lambda: state_is(sock, "web_0", "RUNNING") and state_is(sock, "web_1", "RUNNING"),
             timeout=10, what="the workers running after the rerun")
    assert procs(sock)["migrate"]["state"] == "EXITED"
    wait_for(lambda: ctl(sock, "health").returncode == 0, timeout=5, what="health ok")


def test_started_does_not_wait_for_ready(tend_run, tmp_path):
    # db never says READY=1: it stays STARTING; started is enough for one, not for ready
    t, sock = start(tend_run, tmp_path, """
[program:db]
command = sleep 1000
ready = notify
ready_timeout = 120s
[program:app]
command = sleep 1000
startsecs = 0
depends_on = db:started
[program:web]
command = sleep 1000
startsecs = 0
depends_on = db
""")
    wait_for(lambda: state_is(sock, "app", "RUNNING"), timeout=10, what="app running")
    assert procs(sock)["db"]["state"] == "STARTING"
    assert procs(sock)["web"]["state"] == "STOPPED"
    assert procs(sock)["web"]["waiting"]["text"] == "db:ready (db STARTING)"
    assert "waiting: db:ready (db STARTING)" in ctl(sock, "status", "web").stdout


def test_completed_takes_any_exit_succeeded_only_its_exitcodes(tend_run, tmp_path):
    t, sock = start(tend_run, tmp_path, """
[program:seed]
command = /bin/sh -c 'sleep 0.2; exit 3'
autorestart = false
startsecs = 0
[program:report]
command = sleep 1000
startsecs = 0
depends_on = seed:completed
[program:strict]
command = sleep 1000
startsecs = 0
depends_on = seed:succeeded
""")
    wait_for(lambda: state_is(sock, "report", "RUNNING"), timeout=10, what="report running")
    assert procs(sock)["seed"]["state"] == "EXITED"
    wait_for(lambda: (procs(sock)["strict"]["waiting"] or {}).get("failed"), timeout=5,
             what="strict's dependency failed")
    assert procs(sock)["strict"]["waiting"]["text"] == "seed:succeeded failed (seed exited 3)"
    assert procs(sock)["strict"]["state"] == "STOPPED"


def test_healthy_waits_for_a_passed_health_check(tend_run, tmp_path):
    port = free_ports(1)
    gate = tmp_path / "listen"
    server = tmp_path / "server.py"
    server.write_text(f"""
import os, socket, time
while not os.path.exists({str(gate)!r}):
    time.sleep(0.05)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {port}))
s.listen(16)
while True:
    s.accept()[0].close()
""")
    t, sock = start(tend_run, tmp_path, f"""
[program:db]
command = {PY} {server}
port = {port}
startsecs = 0
health = tcp
health_interval = 500ms
health_failures = 1000
[program:web]
command = sleep 1000
startsecs = 0
depends_on = db:healthy
""")
    want = "db:healthy (db RUNNING, no health check passed yet)"
    wait_for(lambda: (procs(sock)["web"]["waiting"] or {}).get("text") == want, timeout=10,
             what=want)
    wait_for(lambda: "failing" in procs(sock)["db"]["health"], timeout=5, what="a failed check")
    assert procs(sock)["web"]["state"] == "STOPPED"
    gate.write_text("")
    wait_for(lambda: state_is(sock, "web", "RUNNING"), timeout=10, what="web running")
    assert procs(sock)["db"]["health"] == "ok"


def test_bad_conditions_are_errors_at_their_line(tmp_path):
    cases = {
        "depends_on = migrate:succeded":
            "depends_on: 'migrate:succeded': expected NAME or NAME:CONDITION (ready, started, "
            "healthy, completed or succeeded); did you mean 'succeeded'?",
        "depends_on = nope:started": "depends_on: no [program:nope]",
        "depends_on = migrate:": "depends_on: 'migrate:': expected NAME or NAME:CONDITION",
    }
    for line, msg in cases.items():
        ini = tmp_path / "tend.ini"
        ini.write_text(f"[program:migrate]\ncommand = /bin/true\n"
                       f"[program:web]\ncommand = /bin/true\n{line}\n")
        r = tend_check(ini)
        assert r.returncode != 0
        assert f"{ini}:5: error: {msg}" in r.stdout + r.stderr, r.stdout + r.stderr
    ini.write_text("[program:a]\ncommand = /bin/true\ndepends_on = b:completed\n"
                   "[program:b]\ncommand = /bin/true\ndepends_on = a:started\n")
    r = tend_check(ini)
    assert r.returncode != 0
    assert "depends on itself through a cycle" in r.stdout + r.stderr


def test_a_frozen_worker_costs_a_request_read_timeout(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path, n=4, nginx_extra="read_timeout = 2s")
    assert "proxy_read_timeout 2s;" in s.conf.read_text()
    frozen = host_pid_of(s.t, s.base)
    os.kill(frozen, signal.SIGSTOP)
    try:
        took = []
        for _ in range(8):  # least_conn: a share of them goes to the frozen one first
            began = time.monotonic()
            status, body = get(s.listen, timeout=20 * SLOW)
            took.append(time.monotonic() - began)
            assert status == 200
            assert json.loads(body)["worker"] != "web_00", body
        slow = [d for d in took if d >= 1.8]
        assert slow, took  # one reached web_00 and waited for read_timeout
        assert max(took) < 2 + 3 * SLOW, took  # then was served by another
    finally:
        os.kill(frozen, signal.SIGCONT)
