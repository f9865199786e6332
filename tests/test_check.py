"""tend check: the corpus, the malformed-config table, host problems, lookup order."""
import glob
import os
import re
import shutil

import pytest

from conftest import CORPUS, ROOT, SHARED_CORPUS, TEND, run, tend_check

BAD = sorted(glob.glob(os.path.join(ROOT, "tests/configs/bad/*.ini")))
HOST = sorted(glob.glob(os.path.join(ROOT, "tests/configs/host/*.ini")))
CORPUS_FILES = sorted(glob.glob(os.path.join(CORPUS, "*.conf")))


def at_line(where, line, severity):
    """FILE:LINE: SEVERITY:, LINE alone or among the lines of a message said once for several."""
    return rf"^{re.escape(where)}:(?:\d+,)*{line}(?:,\d+)*: {severity}: "


def expectation(path):
    """'; expect: [FILE:]LINE: REGEX' on the first line of a table file."""
    with open(path) as f:
        m = re.match(r"; expect: (?:(\S+?):)?(\d+): (.*)", f.readline())
    where = os.path.join(os.path.dirname(path), m.group(1)) if m.group(1) else path
    return where, int(m.group(2)), m.group(3)


def test_corpus_copy_matches_shared():
    if not os.path.isdir(SHARED_CORPUS):
        pytest.skip("no ../shared/corpus next to this checkout")
    for name in os.listdir(SHARED_CORPUS):
        with open(os.path.join(SHARED_CORPUS, name), "rb") as a, \
                open(os.path.join(CORPUS, name), "rb") as b:
            assert a.read() == b.read(), name


def test_tables_are_big_enough():
    assert len(BAD) >= 30
    assert len(CORPUS_FILES) == 37


@pytest.mark.parametrize("path", BAD, ids=[os.path.basename(p)[:-4] for p in BAD])
def test_malformed_config_is_an_error_at_its_line(path):
    where, line, rx = expectation(path)
    r = tend_check(path)
    assert r.returncode == 1, r.stderr
    assert re.search(at_line(where, line, "error") + f".*{rx}", r.stderr, re.M), r.stderr
    assert "Sanitizer" not in r.stderr and "runtime error" not in r.stderr


@pytest.mark.parametrize("path", HOST, ids=[os.path.basename(p)[:-4] for p in HOST])
def test_host_problem_is_a_warning_and_strict_makes_it_an_error(path):
    where, line, rx = expectation(path)
    r = tend_check(path)
    assert r.returncode == 0, r.stderr
    assert re.search(at_line(where, line, "warning") + f".*{rx}", r.stderr, re.M), r.stderr
    strict = tend_check(path, "--strict")
    assert strict.returncode == 1
    assert re.search(at_line(where, line, "error") + f".*{rx}", strict.stderr, re.M)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[os.path.basename(p)[:2] for p in CORPUS_FILES])
def test_supervisord_corpus_loads(path):
    r = tend_check(path)
    if os.path.basename(path).startswith("35-"):
        # %HOME%/%USER% are placeholders its image rewrites with sed; supervisord rejects them too
        assert r.returncode == 1
        assert re.search(at_line(path, 31, "error") + "directory: bad expansion '%HOME%'",
                         r.stderr, re.M), r.stderr
        return
    assert r.returncode == 0, r.stderr
    for line in r.stderr.splitlines()[:-1]:
        assert re.match(rf"^{re.escape(path)}(:\d+(,\d+)*)?: warning: ", line), line
    assert r.stdout.startswith("NAME ")


def test_table_shows_expanded_processes(tmp_path):
    cfg = tmp_path / "tend.ini"
    cfg.write_text("[program:web]\ncommand=node server.js --port %(port)d\nnumprocs=2\n"
                   "port=8100\ndirectory=/tmp\npriority=10\n"
                   "[program:cron]\ncommand=/bin/sh -c 'echo hi; sleep 1'\nautostart=false\n")
    r = tend_check(cfg)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert rows[0][:6] == ["NAME", "PORT", "PRIORITY", "AUTOSTART", "USER", "DIRECTORY"]
    assert rows[1][:9] == ["web_00", "8100", "10", "yes", "-", "/tmp", "node", "server.js",
                           "--port"]
    assert rows[1][9] == "8100"
    assert rows[2][0] == "web_01" and rows[2][9] == "8101"
    assert "cron" in r.stdout and "'echo hi; sleep 1'" in r.stdout


def test_nothing_is_cut_short(tmp_path):
    long_word = "x" * 10000
    cfg = tmp_path / "tend.ini"
    cfg.write_text(f"[program:web]\ncommand = /bin/echo '{long_word}' \"it's\"\nport = 20000\n"
                   "numprocs = 5000\n[nginx]\nupstream = web\nlisten = 127.0.0.1:8080\n")
    r = tend_check(cfg)
    assert r.returncode == 0, r.stderr
    assert f"/bin/echo {long_word} 'it'\\''s'" in r.stdout.splitlines()[1]
    servers = re.findall(r"server 127\.0\.0\.1:(\d+)", r.stdout)
    assert [int(p) for p in servers] == list(range(20000, 25000))


def auto_count(cfg, *wrap):
    r = run([*wrap, TEND, "check", "-c", str(cfg)])
    assert r.returncode == 0, r.stderr
    return len(re.findall(r"^web(_\d\d)? ", r.stdout, re.M))


V1_CPU = "/sys/fs/cgroup/cpu"


def test_numprocs_auto_follows_affinity(tmp_path):
    cfg = tmp_path / "tend.ini"
    cfg.write_text("[program:web]\ncommand = sleep 1\nnumprocs = auto\n")
    assert 1 <= auto_count(cfg) <= len(os.sched_getaffinity(0))
    assert auto_count(cfg, "taskset", "-c", "0") == 1


@pytest.mark.skipif(not os.access(os.path.join(V1_CPU, "cpu.cfs_quota_us"), os.W_OK),
                    reason="no writable cgroup v1 cpu controller here")
def test_numprocs_auto_follows_a_parent_cgroups_quota(tmp_path):
    cfg = tmp_path / "tend.ini"
    cfg.write_text("[program:web]\ncommand = sleep 1\nnumprocs = auto\n")
    outer = os.path.join(V1_CPU, f"tend-test-{os.getpid()}")
    inner = os.path.join(outer, "inner")
    try:
        os.makedirs(inner)
    except OSError as e:
        pytest.skip(f"cannot make a cgroup here: {e}")
    try:
        for quota, want in (("150000", 2), ("100000", 1)):  # 1.5 CPUs: 2 processes
            with open(os.path.join(outer, "cpu.cfs_quota_us"), "w") as f:
                f.write(quota)
            # the quota is on the parent, the process in the child
            n = auto_count(cfg, "sh", "-c", f'echo $$ > {inner}/cgroup.procs && exec "$@"', "sh")
            assert n == min(want, len(os.sched_getaffinity(0))), (quota, n)
    finally:
        os.rmdir(inner)
        os.rmdir(outer)


def test_unknown_key_and_strict(tmp_path):
    cfg = tmp_path / "x.ini"
    cfg.write_text("[program:a]\ncommand=/bin/true\nauto_start=false\n")
    r = tend_check(cfg)
    assert r.returncode == 0
    assert f"{cfg}:3: warning: unknown key 'auto_start' in a [program:x] section (did you mean 'autostart'?)" in r.stderr
    assert tend_check(cfg, "--strict").returncode == 1


def test_fragment_without_main_section_is_valid(tmp_path):
    cfg = tmp_path / "frag.conf"
    cfg.write_text("[program:only]\ncommand=/bin/true\n")
    assert tend_check(cfg).returncode == 0


def test_missing_file_is_reported(tmp_path):
    r = tend_check(tmp_path / "nope.ini")
    assert r.returncode == 1
    assert "nope.ini" in r.stderr and "No such file" in r.stderr


def test_lookup_order(tmp_path):
    env = dict(os.environ)
    env.pop("TEND_CONFIG", None)
    (tmp_path / "supervisord.conf").write_text("[program:from_supervisord]\ncommand=/bin/true\n")
    r = run([TEND, "check"], cwd=tmp_path, env=env)
    assert "from_supervisord" in r.stdout
    (tmp_path / "tend.ini").write_text("[program:from_tend_ini]\ncommand=/bin/true\n")
    r = run([TEND, "check"], cwd=tmp_path, env=env)
    assert "from_tend_ini" in r.stdout
    other = tmp_path / "other.ini"
    other.write_text("[program:from_env]\ncommand=/bin/true\n")
    env["TEND_CONFIG"] = str(other)
    r = run([TEND, "check"], cwd=tmp_path, env=env)
    assert "from_env" in r.stdout


def test_long_lines_crlf_and_continuations(tmp_path):
    long_arg = "x" * 3000
    cfg = tmp_path / "c.ini"
    cfg.write_bytes(("[program:a]\r\ncommand = /bin/echo\r\n    " + long_arg +
                     "  ; comment\r\n    last\r\n").encode())
    r = tend_check(cfg)
    assert r.returncode == 0, r.stderr
    assert long_arg + " last" in r.stdout


@pytest.mark.skipif(not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")),
                    reason="nginx is not installed")
def test_nginx_t_judges_the_generated_config(tmp_path):
    ini = tmp_path / "tend.ini"
    ini.write_text("[program:web]\ncommand = /bin/true\nport = 8000\n"
                   "[nginx]\nupstream = web\nlisten = 127.0.0.1:8080\n")
    assert tend_check(ini).returncode == 0 and "nginx -t" not in tend_check(ini).stderr
    # tend's own check takes this address; nginx does not: this host's nginx says why
    ini.write_text(ini.read_text().replace("127.0.0.1:8080", "999999.1.1.1:8080"))
    r = tend_check(ini)
    assert r.returncode == 0
    assert re.search(r"tend\.ini:4: warning: nginx -t refuses the generated config: "
                     r'host not found in "999999\.1\.1\.1:8080"', r.stderr), r.stderr
    assert tend_check(ini, "--strict").returncode == 1
    assert not glob.glob("/tmp/tend-check-*")  # nginx's scratch directory is gone
