"""What the Makefile gives a user beyond the build: `make install` / `make uninstall`,
and the static tend (`make static`) as PID 1 of an empty root, as in a FROM scratch image.

The Debian package and the brand-new-machine check take minutes and run apart:
`make check-deb`, `make check-fresh`."""
import os
import re
import shlex
import signal
import subprocess

import pytest

from conftest import ROOT, Tend, proc_status, run, static_libs_missing, wait_for

ENV = {k: v for k, v in os.environ.items() if k != "BUILD"}  # the Makefile's own builds
STATIC = os.path.join(ROOT, "build", "static")


def installed(root):
    out = set()
    for d, _, files in os.walk(root):
        out |= {os.path.relpath(os.path.join(d, f), root) for f in files}
    return out


def test_make_install_and_uninstall(tmp_path):
    dest = tmp_path / "dest"
    r = run(["make", "-C", ROOT, "install", f"DESTDIR={dest}", "PREFIX=/usr"], timeout=300,
            env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert installed(dest) == {
        "usr/bin/tend", "usr/bin/tendctl", "usr/share/man/man1/tendctl.1",
        "usr/share/man/man5/tend.ini.5", "usr/share/man/man8/tend.8",
        "usr/lib/systemd/system/tend.service"}
    for b in ("tend", "tendctl"):
        assert os.access(dest / "usr" / "bin" / b, os.X_OK)
    unit = (dest / "usr/lib/systemd/system/tend.service").read_text()
    assert re.search(r"^ExecStart=/usr/bin/tend -c /etc/tend/tend.ini$", unit, re.M), unit
    r = run(["make", "-C", ROOT, "uninstall", f"DESTDIR={dest}", "PREFIX=/usr"], env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert installed(dest) == set()


@pytest.fixture(scope="module")
def static_build():
    why = static_libs_missing()
    if why:
        pytest.skip(f"make static cannot link: {why}")
    r = run(["make", "-C", ROOT, "static"], timeout=600, env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    return STATIC


def empty_root(tmp_path, static_build, config):
    """A root with tend, tendctl, the static test program and the config; /proc and
    /dev/null are mount points the runtime fills, as Docker does for FROM scratch."""
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "dev").mkdir()
    (root / "dev" / "null").touch()
    for b in ("tend", "tendctl"):
        subprocess.run(["cp", os.path.join(static_build, b), str(root / b)], check=True)
    r = run(["cc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(root / "child"),
             os.path.join(ROOT, "tests", "helpers", "child.c")])
    assert r.returncode == 0, r.stderr
    (root / "tend.ini").write_text(config)
    return root


def in_root(root, binary, args):
    """tend as a container runtime starts it: PID 1 of new PID and mount namespaces,
    chrooted, with a /proc of its own and /dev/null."""
    q = shlex.quote(str(root))
    setup = (f"mount -t proc proc {q}/proc && mount --bind /dev/null {q}/dev/null && "
             f'exec chroot {q} "$@"')
    return Tend(args, binary=binary, wrap=["/bin/sh", "-c", setup, "sh"])


CONFIG = """
[tend]
socket = /tend.sock

[program:leaver]
command = /child orphans 20
startsecs = 0

[program:worker]
command = /child serve
numprocs = 2
startsecs = 0.2
"""


def test_static_tend_is_pid1_of_an_empty_root(tmp_path, static_build):
    root = empty_root(tmp_path, static_build, CONFIG)
    t = in_root(root, "/tend", ["-c", "/tend.ini"])
    try:
        t.wait_line(r"leaver +\| left 20 orphans")
        wait_for(lambda: t.count(r"worker_\d+: running") == 2, what="both workers running")
        assert os.readlink(f"/proc/{t.pid}/root") == str(root)

        def census():  # zombies, and processes besides tend and its 3 programs
            st = [proc_status(p) or {} for p in t.ns_pids()]
            return (sum(1 for s in st if s.get("State", "").startswith("Z")), len(st) - 4)
        wait_for(lambda: census() == (0, 0), timeout=30, what="the 20 orphans reaped")
        # tendctl, static too, from inside the root
        r = run(["chroot", str(root), "/tendctl", "-s", "/tend.sock", "status"])
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(re.findall(r"\bRUNNING\b", r.stdout)) == 3, r.stdout
        # supervising: a worker killed is started again
        victim = next(p for p in t.descendants()
                      if open(f"/proc/{p}/cmdline", "rb").read() == b"/child\0serve\0")
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: t.count(r"worker_\d+ +\| ready, pid") == 3, what="the worker restarted")
        # stopping: every program gets its SIGTERM, tend exits 0
        t.signal(signal.SIGTERM)
        assert t.wait() == 0, t.output()
        assert t.count(r"\| bye$") == 3, t.output()
    finally:
        t.kill()
    assert sorted(os.listdir(root)) == ["child", "dev", "proc", "tend", "tend.ini", "tendctl"]


def test_static_tend_in_init_mode_exits_with_the_childs_status(tmp_path, static_build):
    root = empty_root(tmp_path, static_build, "")
    t = in_root(root, "/tend", ["--", "/child", "orphans", "5"])
    t.wait_line(r"^ready, pid")
    t.signal(signal.SIGTERM)  # forwarded to the child, which exits 0
    assert t.wait() == 0
    assert t.output().splitlines()[-1] == "bye"


def test_static_tend_looks_users_up_in_files_only(tmp_path, static_build):
    """Beyond /etc/passwd and /etc/group the static glibc would load the host's NSS
    modules (systemd, sss, ...) into itself and may crash: a missing user is a
    warning, as with the dynamic tend, whatever nsswitch.conf says."""
    cfg = tmp_path / "tend.ini"
    cfg.write_text("[program:a]\ncommand = /bin/true\nuser = no-such-user-here\n"
                   "[tend]\nsocket_owner = no-such-user-here:no-such-group-here\n")
    r = run([os.path.join(static_build, "tend"), "check", "-c", str(cfg)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no-such-user-here" in r.stderr
    r = run([os.path.join(static_build, "tend"), "--version"])
    assert r.stdout.strip().endswith("(static)")
