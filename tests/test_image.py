"""The container examples as users copy them: Dockerfile.example's socket for every
user (TEND_SOCKET), a read-only root with /tmp as the only writable place, and stop
timeouts that fit docker's and Kubernetes' (no Docker engine here: unshare plays the
runtime, as in test_nginx's image test)."""
import os
import pwd
import re
import shutil
import signal
import tempfile
import urllib.request

import yaml

from conftest import ROOT, TEND, TENDCTL, Tend, free_ports, run, wait_for
from test_nginx import proc_user

DOCKERFILE = os.path.join(ROOT, "Dockerfile.example")
DOCKER_INI = os.path.join(ROOT, "examples", "docker.ini")
KUBERNETES = os.path.join(ROOT, "examples", "kubernetes.yaml")
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def image_env():
    """TEND_SOCKET as Dockerfile.example sets it."""
    m = re.search(r"^ENV TEND_SOCKET=(\S+)$", open(DOCKERFILE).read(), re.M)
    assert m, "Dockerfile.example sets no TEND_SOCKET"
    return m.group(1)


def duration_s(text):
    m = re.fullmatch(r"(\d+)(ms|s|m)?", text.strip())
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[m.group(2)]


def ini_value(key):
    m = re.search(rf"^{key}\s*=\s*(\S+)", open(DOCKER_INI).read(), re.M)
    return m.group(1)


def kubernetes_app():
    docs = list(yaml.safe_load_all(open(KUBERNETES)))
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    return pod, pod["containers"][0]


def kubernetes_probes():
    app = kubernetes_app()[1]
    return [app[p]["exec"]["command"] for p in ("readinessProbe", "livenessProbe")]


def test_the_stop_timeouts_fit_docker_and_kubernetes():
    """docker stop sends SIGKILL 10 s after SIGTERM; Kubernetes after preStop plus
    SIGTERM's share of terminationGracePeriodSeconds. tend must be done before."""
    shutdown = duration_s(ini_value("shutdown_timeout"))
    assert shutdown <= 9, f"shutdown_timeout {shutdown}s: docker stop kills at 10s"
    pod, app = kubernetes_app()
    pre_stop = app["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + shutdown + 2
    sc = app["securityContext"]
    assert sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
    assert not sc["allowPrivilegeEscalation"] and pod["securityContext"]["runAsNonRoot"]
    mounts = {m["mountPath"]: m["name"] for m in app["volumeMounts"]}
    tmp = next(v for v in pod["volumes"] if v["name"] == mounts["/tmp"])
    assert "emptyDir" in tmp
    assert image_env().startswith("/tmp/"), "the socket must be where the pod can write"
    assert ini_value("config").startswith("/tmp/")
    assert all(p[:2] == ["tendctl", "health"] for p in kubernetes_probes())


def private_tree(mode=0o755):
    """A directory of root's, under a path only root writes to."""
    base = tempfile.mkdtemp(prefix="tend-image-", dir="/var/tmp")
    os.chmod(base, mode)
    return base


def test_one_socket_for_every_user_of_the_image():
    """tend as app (here nobody) is the container's init and makes TEND_SOCKET in a
    directory of its own; tendctl as app and as root (docker exec -u 0, which joins
    the container's PID namespace) both find it through the same variable. Root's
    tendctl trusts another user's tend only when it is that namespace's init."""
    base = private_tree(0o1777)  # as /tmp: tend makes its directory there
    sock = os.path.join(base, "tend", "tend.sock")
    env = dict(os.environ, TEND_SOCKET=sock)
    conf = os.path.join(base, "tend.ini")
    open(conf, "w").write("[program:a]\ncommand = sleep 1000\n")
    os.chmod(conf, 0o644)
    t = Tend(["-c", conf], env=env, wrap=AS_NOBODY)
    try:
        ctl = lambda *pre: run(list(pre) + [TENDCTL, "health"], env=env)
        wait_for(lambda: ctl(*AS_NOBODY).returncode == 0, what="tendctl health as the user")
        assert oct(os.stat(os.path.dirname(sock)).st_mode & 0o777) == "0o700"
        assert proc_user(t.pid) == "nobody"
        r = ctl("nsenter", "-t", str(t.pid), "-p")  # docker exec -u 0
        assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
        r = run(["nsenter", "-t", str(t.pid), "-p", TENDCTL, "-s", sock, "health"])
        assert r.returncode == 0, r.stderr  # -s names the path as TEND_SOCKET does
        r = ctl()  # root outside the container: nobody's tend is not its init
        nobody = pwd.getpwnam("nobody").pw_uid
        assert r.returncode == 5 and f"served by uid {nobody}, which is neither" in r.stderr
        t.signal(signal.SIGTERM)
        assert t.wait() == 0
    finally:
        t.kill()
        shutil.rmtree(base, ignore_errors=True)


def test_the_image_runs_with_a_read_only_root():
    """examples/docker.ini as the image runs it: a read-only root, a tmpfs on /tmp
    (docker run --read-only --tmpfs /tmp; an emptyDir on Kubernetes), a non-root
    user, TEND_SOCKET from the Dockerfile. nginx serves, tendctl answers as the user
    and as root from inside the container (nsenter plays docker exec), and tend
    stops within docker stop's 10 s."""
    base = private_tree()
    base_port, listen = free_ports(8), free_ports(1)
    sock = image_env()
    shutil.copy(os.path.join(ROOT, "examples", "worker.js"), base)
    ini = (open(DOCKER_INI).read().replace("/app/worker.js", "/mnt/worker.js")
           .replace("port = 8000", f"port = {base_port}")
           .replace("listen = 8080", f"listen = 127.0.0.1:{listen}")
           .replace("numprocs = auto", "numprocs = 2"))
    open(os.path.join(base, "tend.ini"), "w").write(ini)
    for f in os.listdir(base):
        os.chmod(os.path.join(base, f), 0o644)
    # the binaries from /mnt: a tmpfs on /tmp hides a checkout that lives under /tmp
    for b in (TEND, TENDCTL):
        shutil.copy(b, base)
    runtime = ("set -e; mount --bind \"$1\" /mnt; mount -o remount,bind,ro /mnt; "
               "mount -o remount,bind,ro /; mount -t tmpfs -o mode=1777 tmpfs /tmp; shift; "
               "exec setpriv --reuid=nobody --regid=nogroup --clear-groups \"$@\"")
    env = dict(os.environ, TEND_SOCKET=sock)
    t = Tend(["-c", "/mnt/tend.ini"], env=env, wrap=["sh", "-c", runtime, "sh", base],
             binary="/mnt/tend")
    try:
        inside = lambda *pre, cmd=("tendctl", "health"): run(
            ["nsenter", "-t", str(t.pid), "-m", "-p"] + list(pre) + ["/mnt/tendctl"]
            + list(cmd[1:]),
            env=env)
        last = []

        def healthy():
            last[:] = [inside(*AS_NOBODY)]
            return last[0].returncode == 0
        try:
            wait_for(healthy, timeout=30, what="tendctl health as the user")
        except AssertionError as e:
            r = last[0] if last else None
            raise AssertionError(f"{e}\nlast: {r and (r.returncode, r.stdout, r.stderr)}\n"
                                 f"status: {inside(cmd=('tendctl', 'status')).stdout}\n"
                                 f"tend:\n{t.output()}") from None
        r = inside()
        assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
        for probe in kubernetes_probes():  # as the kubelet runs them, as the pod's user
            r = inside(*AS_NOBODY, cmd=probe)
            assert r.returncode == 0, (probe, r.stdout, r.stderr)
        with urllib.request.urlopen(f"http://127.0.0.1:{listen}/", timeout=5) as resp:
            assert resp.status == 200
        assert run(["nsenter", "-t", str(t.pid), "-m", "touch", "/etc/x"]).returncode != 0
        t.signal(signal.SIGTERM)
        assert t.wait(timeout=10) == 0
        assert "Read-only file system" not in t.output(), t.output()
    finally:
        t.kill()
        shutil.rmtree(base, ignore_errors=True)
