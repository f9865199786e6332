"""nginx in front of Node.js workers: tend as PID 1, real nginx, real node."""
import collections
import glob
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import (ROOT, SLOW, TENDCTL, Tend, children, free_ports, proc_status, run,
                      static_libs_missing, wait_for)

WORKER = os.path.join(ROOT, "examples", "worker.js")
GOLDEN = sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "nginx", "*.conf")))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def get(port, path="/", timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read().decode()


def served_by(port):
    return json.loads(get(port)[1])["worker"]


class Stack:
    """nginx on a free port in front of N workers on consecutive free ports."""

    def __init__(self, tend_run, tmp_path, n=4, worker_extra="", nginx_extra="", command=None,
                 listen=None, conf=None):
        self.base = free_ports(max(n, 8))  # room to scale up
        self.listen = listen or free_ports(1)
        self.conf = conf or tmp_path / "run" / "nginx.conf"
        self.flag = tmp_path / "crash"  # while it exists, a (re)started worker exits at once
        command = command or f"/bin/sh -c 'test -e {self.flag} && exit 1; exec node {WORKER}'"
        self.ini = tmp_path / "tend.ini"
        self.sock = tmp_path / "tend.sock"
        self.ini.write_text(f"""
[tend]
loglevel = info
socket = {self.sock}
[program:web]
command = {command}
numprocs = {n}
port = {self.base}
ready = http:/health
{worker_extra}
[nginx]
upstream = web
listen = 127.0.0.1:{self.listen}
config = {self.conf}
access_log = off
{nginx_extra}
""")
        self.t = tend_run(["-c", str(self.ini)])
        for i in range(n):
            self.t.wait_line(rf"web_{i:02d}: running", timeout=20)
        self.t.wait_line(r"nginx: running", timeout=20)
        wait_for(self.routes_all, timeout=10, what="nginx routing to every worker")

    def routes_all(self):
        try:
            return len({served_by(self.listen) for _ in range(16)}) == 4
        except OSError:
            return False

    def ctl(self, *args):
        return run([TENDCTL, "-s", str(self.sock), *args], timeout=120)

    def ports_in_file(self):
        return sorted(int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+) max_fails", self.conf.read_text()))

    def worker_pid(self, i):
        return int(json.loads(get(self.base + i)[1])["pid"])  # host pid: node reports its ns pid

    def nginx_workers(self):
        master = [p for p in self.t.descendants() if comm(p) == "nginx"]
        return sorted(p for m in master for p in children(m))


def comm(pid):
    """A process's name, or None once it is gone (a worker may exit while listed)."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def host_pid_of(t, port):
    """The host pid of the node worker listening on port (ss reports it)."""
    out = run(["ss", "-Hltnp", f"sport = :{port}"]).stdout
    m = re.search(r"pid=(\d+)", out)
    return int(m.group(1)) if m else None


@pytest.mark.parametrize("path", GOLDEN, ids=[os.path.basename(p)[:-5] for p in GOLDEN])
def test_golden_configs_pass_nginx_t(path, tmp_path):
    text = open(path).read()
    ini = path[:-5] + ".ini"
    target = re.search(r"^config = (.*)$", open(ini).read(), re.M).group(1)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w") as f:
        f.write(text)
    if "include" in os.path.basename(path):
        main = tmp_path / "nginx.conf"
        main.write_text(f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{\n"
                        f"  client_body_temp_path {tmp_path}/cb; proxy_temp_path {tmp_path}/p;\n"
                        f"  fastcgi_temp_path {tmp_path}/f; uwsgi_temp_path {tmp_path}/u;\n"
                        f"  scgi_temp_path {tmp_path}/s;\n  include {target};\n"
                        "  server { listen 127.0.0.1:1; location / { proxy_pass http://web; } }\n}\n")
        target = str(main)
    r = run([NGINX, "-t", "-c", target, "-g", "daemon off;"])
    assert r.returncode == 0, r.stderr


def test_requests_spread_over_all_workers(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    counts = collections.Counter(served_by(s.listen) for _ in range(400))
    assert sorted(counts) == ["web_00", "web_01", "web_02", "web_03"]
    for worker, n in counts.items():
        assert 90 <= n <= 110, counts  # 25% +- 10% of it


def wrk(port, seconds, connections=16, extra=()):
    return subprocess.Popen(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", *extra,
                             f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE, text=True)


def established(port):
    """Established TCP connections on 127.0.0.1 whose local port is port."""
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    return sum(1 for r in rows if r[3] == "01" and int(r[1].split(":")[1], 16) == port)


def under_load(s, port):
    """Waits until wrk talks to nginx, and nginx to the worker on port."""
    wait_for(lambda: established(s.listen) and established(port), what="the load running")


def wrk_errors(out):
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return (int(non2xx.group(1)) if non2xx else 0,
            sum(int(x) for x in sock.groups()) if sock else 0, requests)


def test_kill_9_of_a_worker_under_load_loses_nothing(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    reloads = s.t.count(r"nginx: reloaded")
    load = wrk(s.listen, 6)
    under_load(s, s.base + 1)  # now the crash, in the middle of it
    victim = host_pid_of(s.t, s.base + 1)
    os.kill(victim, signal.SIGKILL)
    out = load.communicate(timeout=30)[0]
    non2xx, sock, requests = wrk_errors(out)
    assert requests > 1000, out
    assert (non2xx, sock) == (0, 0), out
    wait_for(lambda: host_pid_of(s.t, s.base + 1) not in (None, victim), what="the replacement")
    assert served_by(s.base + 1) == "web_01"
    assert s.t.count(r"nginx: reloaded") == reloads  # a quick restart is nginx's to retry


def test_a_worker_in_backoff_leaves_the_upstream_and_returns(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path, worker_extra="restart_delay = 4s")
    assert s.ports_in_file() == [s.base + i for i in range(4)]
    before = s.nginx_workers()
    s.flag.write_text("")
    os.kill(host_pid_of(s.t, s.base + 2), signal.SIGKILL)
    s.t.wait_line(r"web_02: restarting in [34]\.\d+s|web_02: restarting in [34]s")
    left = time.monotonic()
    wait_for(lambda: s.base + 2 not in s.ports_in_file(), timeout=3, what="web_02 out of the file")
    assert time.monotonic() - left < 1.5 * SLOW
    wait_for(lambda: s.nginx_workers() and not set(s.nginx_workers()) & set(before), timeout=5,
             what="nginx reloaded")
    assert {served_by(s.listen) for _ in range(40)} == {"web_00", "web_01", "web_03"}
    os.unlink(s.flag)
    s.t.wait_line(r"web_02: running", timeout=15)
    wait_for(lambda: s.ports_in_file() == [s.base + i for i in range(4)], timeout=5,
             what="web_02 back in the file")
    wait_for(s.routes_all, timeout=5, what="nginx routing to web_02 again")


def test_a_reload_after_scaling_down_puts_every_worker_back(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    assert s.ctl("scale", "web=2").returncode == 0
    wait_for(lambda: s.ports_in_file() == [s.base, s.base + 1], what="two workers in the file")
    r = s.ctl("reload")  # the config says numprocs = 4: web_02 and web_03 are new again
    assert r.returncode == 0 and "2 added" in r.stdout, r.stdout + r.stderr
    wait_for(lambda: s.ports_in_file() == [s.base + i for i in range(4)], timeout=20,
             what="all four in the file again (once ready)")
    wait_for(s.routes_all, timeout=5, what="nginx routing to all four")


def test_a_reload_that_changes_nothing_for_nginx_does_not_reload_it(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    workers, reloads = s.nginx_workers(), s.t.count(r"nginx: reloaded")
    s.ini.write_text(s.ini.read_text().replace("loglevel = info", "loglevel = debug")
                     + "\n[program:other]\ncommand = sleep 1000\nstartsecs = 0\n")
    r = s.ctl("reload")
    assert r.returncode == 0, r.stderr + s.t.output()[-4000:]
    s.t.wait_line(r"nginx: the config is unchanged: no reload")
    assert s.t.count(r"nginx: reloaded") == reloads and s.nginx_workers() == workers


def test_a_config_nginx_rejects_never_goes_live(tend_run, tmp_path):
    listen = free_ports(1)
    extra = tmp_path / "extra.conf"
    extra.write_text("# fine for now\n")
    upstreams = tmp_path / "run" / "upstreams.conf"
    main = tmp_path / "nginx.conf"
    main.write_text(f"""pid {tmp_path}/nginx.pid;
error_log stderr;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/cb; proxy_temp_path {tmp_path}/p;
    fastcgi_temp_path {tmp_path}/f; uwsgi_temp_path {tmp_path}/u; scgi_temp_path {tmp_path}/s;
    include {upstreams};
    include {extra};
    server {{ listen 127.0.0.1:{listen}; location / {{ proxy_pass http://web; }} }}
}}
""")
    s = Stack(tend_run, tmp_path, worker_extra="restart_delay = 30s", listen=listen,
              conf=upstreams,
              nginx_extra=f"mode = include\n[program:nginx]\n"
                          f"command = nginx -c {main} -g 'daemon off;'\nstopsignal = QUIT\n"
                          "depends_on = web\n")
    good = upstreams.read_text()
    extra.write_text("this is not nginx syntax\n")
    s.flag.write_text("")
    os.kill(host_pid_of(s.t, s.base + 3), signal.SIGKILL)
    s.t.wait_line(r"nginx rejected the generated config, which did not go live", timeout=10)
    assert upstreams.read_text() == good  # what nginx runs with stays on disk
    assert {served_by(s.listen) for _ in range(30)} >= {"web_00", "web_01", "web_02"}


def test_nginx_starts_beside_a_worker_that_never_comes_up(tend_run, tmp_path):
    base, listen = free_ports(2), free_ports(1)
    ini = tmp_path / "tend.ini"
    ini.write_text(f"""
[program:web]
command = /bin/sh -c 'test %(process_num)d = 1 && exit 1; exec node {WORKER}'
numprocs = 2
port = {base}
ready = http:/health
startretries = unlimited
[nginx]
upstream = web
listen = 127.0.0.1:{listen}
config = {tmp_path}/run/nginx.conf
access_log = off
""")
    t = tend_run(["-c", str(ini)])
    t.wait_line(r"nginx: running", timeout=20)  # web_01 retries for good; web_00 serves
    wait_for(lambda: {served_by(listen) for _ in range(10)} == {"web_00"}, what="web_00 served")
    assert t.count(r"web_01: restarting in") >= 1 and not t.count(r"web_01: gave up")


def test_sigterm_stops_nginx_first_then_the_workers(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    s.t.signal(signal.SIGTERM)
    assert s.t.wait() == 0
    lines = s.t.output().splitlines()
    stopped = [i for i, line in enumerate(lines) if re.search(r"(nginx|web_\d\d): stopped", line)]
    names = [re.search(r"(nginx|web_\d\d): stopped", lines[i]).group(1) for i in stopped]
    assert names[0] == "nginx" and sorted(names[1:]) == [f"web_{i:02d}" for i in range(4)]
    assert not any("SIGKILL" in line for line in lines)


@pytest.mark.parametrize("keepalive", [False, True], ids=["connection-close", "keep-alive"])
def test_rolling_restart_and_scaling_under_load(tend_run, tmp_path, keepalive, capsys):
    s = Stack(tend_run, tmp_path)
    extra = [] if keepalive else ["-H", "Connection: close"]
    load = wrk(s.listen, 25, connections=8, extra=extra)
    under_load(s, s.base)
    r = s.ctl("restart", "--rolling", "web")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("restarted") == 4
    r = s.ctl("scale", "web=8")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: s.ports_in_file() == [s.base + i for i in range(8)], timeout=10,
             what="8 workers in nginx")
    r = s.ctl("scale", "web=2")
    assert r.returncode == 0, r.stderr
    assert s.ports_in_file() == [s.base, s.base + 1]
    out = load.communicate(timeout=60)[0]
    non2xx, sock, requests = wrk_errors(out)
    reloads = s.t.count(r"nginx: reloaded")
    with capsys.disabled():
        print(f"\n[{'keep-alive' if keepalive else 'close'}] {requests} requests, "
              f"{non2xx} non-2xx, {sock} socket errors, {reloads} reloads")
    assert requests > 1000 and non2xx == 0, out
    if not keepalive:
        assert sock == 0, out


def generation(port):
    """GEN= in the environment of the worker on port."""
    with open(f"/proc/{host_pid_of(None, port)}/environ", "rb") as f:
        env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
    return env.get(b"GEN", b"").decode()


def test_a_reload_restarts_changed_workers_one_at_a_time_under_load(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path, worker_extra="environment = GEN=1")
    load = wrk(s.listen, 20, connections=8, extra=["-H", "Connection: close"])
    under_load(s, s.base)
    start = len(s.t.lines)
    s.ini.write_text(s.ini.read_text().replace("GEN=1", "GEN=2"))
    r = s.ctl("reload")
    assert r.returncode == 0 and "4 restarted" in r.stdout, r.stdout + r.stderr
    assert "4 of them one at a time through nginx" in r.stdout
    for i in range(4):
        s.t.wait_line(rf"web_0{i}: ready under the new config", timeout=30, start=start)
    assert [generation(s.base + i) for i in range(4)] == ["2"] * 4
    # one at a time: each is ready again before the next one is told to stop
    steps = [m.group(1) for line in s.t.lines[start:]
             if (m := re.search(r"(closing on SIGTERM|ready under the new config)", line))]
    assert steps == ["closing on SIGTERM", "ready under the new config"] * 4, steps
    out = load.communicate(timeout=60)[0]
    non2xx, sock, requests = wrk_errors(out)
    assert requests > 1000 and (non2xx, sock) == (0, 0), out


def test_a_reload_that_breaks_workers_takes_down_only_the_first(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path, worker_extra="environment = GEN=1")
    old = {i: host_pid_of(s.t, s.base + i) for i in range(4)}
    s.flag.write_text("")  # what the new config starts exits at once
    load = wrk(s.listen, 8, connections=8, extra=["-H", "Connection: close"])
    under_load(s, s.base)
    s.ini.write_text(s.ini.read_text().replace("GEN=1", "GEN=2"))
    assert s.ctl("reload").returncode == 0
    s.t.wait_line(r"web_00: not ready under the new config \((STARTING|BACKOFF|FATAL)", timeout=30)
    s.t.wait_line(r"reload: 3 more processes keep their old config until restarted")
    assert {i: host_pid_of(s.t, s.base + i) for i in range(1, 4)} == {i: old[i] for i in range(1, 4)}
    assert [generation(s.base + i) for i in range(1, 4)] == ["1"] * 3
    out = load.communicate(timeout=60)[0]
    non2xx, sock, requests = wrk_errors(out)
    assert requests > 1000 and (non2xx, sock) == (0, 0), out
    os.unlink(s.flag)  # fixed: a restart takes the config the reload gave
    assert s.ctl("restart", "--rolling", "web").returncode == 0
    assert [generation(s.base + i) for i in range(4)] == ["2"] * 4


def test_a_reload_with_fewer_workers_drains_them_first(tend_run, tmp_path):
    s = Stack(tend_run, tmp_path)
    load = wrk(s.listen, 10, connections=8, extra=["-H", "Connection: close"])
    under_load(s, s.base + 3)
    start = len(s.t.lines)
    s.ini.write_text(s.ini.read_text().replace("numprocs = 4", "numprocs = 2"))
    r = s.ctl("reload")
    assert r.returncode == 0 and "2 removed" in r.stdout, r.stdout + r.stderr
    assert "2 of them one at a time through nginx" in r.stdout
    wait_for(lambda: s.ports_in_file() == [s.base, s.base + 1], timeout=20, what="two in the file")
    wait_for(lambda: not host_pid_of(s.t, s.base + 2) and not host_pid_of(s.t, s.base + 3),
             timeout=20, what="web_02 and web_03 stopped")
    # each left nginx's upstream before it was told to stop
    lines = s.t.lines[start:]
    for name in ("web_02", "web_03"):
        stop = next(i for i, line in enumerate(lines) if f"{name} closing on SIGTERM" in line)
        assert any("nginx: reloaded" in line for line in lines[:stop]), lines[:stop]
    out = load.communicate(timeout=60)[0]
    non2xx, sock, requests = wrk_errors(out)
    assert requests > 1000 and (non2xx, sock) == (0, 0), out


def test_the_image_layout_runs_as_a_non_root_init(tmp_path):
    """Dockerfile.example's layout: the static tend and tendctl (make static) in
    /usr/local/bin, examples/docker.ini, a non-root user, tend as PID 1 (no Docker
    engine here: unshare plays the runtime). Where static libraries are missing, the
    dynamic tend of make install stands in."""
    root = tempfile.mkdtemp(prefix="tend-image-")
    os.chmod(root, 0o755)
    try:
        env = {k: v for k, v in os.environ.items() if k != "BUILD"}  # the Makefile's builds
        bindir = os.path.join(root, "usr", "local", "bin")
        if static_libs_missing() is None:
            r = run(["make", "-C", ROOT, "static"], timeout=600, env=env)
            assert r.returncode == 0, r.stdout + r.stderr
            os.makedirs(bindir)
            for b in ("tend", "tendctl"):
                shutil.copy(os.path.join(ROOT, "build", "static", b), bindir)
        else:
            r = run(["make", "-C", ROOT, "install", f"DESTDIR={root}", "PREFIX=/usr/local"],
                    timeout=120, env=env)
            assert r.returncode == 0, r.stdout + r.stderr
        app = os.path.join(root, "app")
        os.makedirs(app)
        shutil.copy(WORKER, app)
        base, listen = free_ports(8), free_ports(1)
        rundir = os.path.join(root, "run")  # /tmp/tend in the image: writable by its user
        os.makedirs(rundir)
        os.chown(rundir, pwd.getpwnam("nobody").pw_uid, -1)
        ini = open(os.path.join(ROOT, "examples", "docker.ini")).read()
        ini = (ini.replace("/app/worker.js", f"{app}/worker.js").replace("port = 8000", f"port = {base}")
                  .replace("listen = 8080", f"listen = 127.0.0.1:{listen}")
                  .replace("/tmp/tend/nginx.conf", f"{rundir}/nginx.conf"))
        conf = os.path.join(root, "tend.ini")
        open(conf, "w").write(ini + f"\n[tend]\nsocket = {rundir}/tend.sock\n")
        t = Tend(["-c", conf], pid1=True, wrap=["setpriv", "--reuid=nobody", "--regid=nogroup",
                                                 "--clear-groups"], binary=os.path.join(bindir, "tend"))
        try:
            health = lambda: run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                  os.path.join(bindir, "tendctl"), "-s", f"{rundir}/tend.sock",
                                  "health"]).returncode == 0
            wait_for(health, timeout=30, what="tendctl health")
            assert get(listen)[0] == 200
            assert all(proc_user(p) == "nobody" for p in t.descendants() + [t.pid])
            t.signal(signal.SIGTERM)
            assert t.wait() == 0
        finally:
            t.kill()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def proc_user(pid):
    st = proc_status(pid)
    return pwd.getpwuid(int(st["Uid"].split()[0])).pw_name if st else "nobody"
