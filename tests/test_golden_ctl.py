"""Golden files for tendctl's human output: tests/golden/ctl/NAME.txt holds the
command, its exit status, its stdout and its stderr, as a user would see them.

One tend (PID 1 of its own namespace) runs a config whose processes sit in known
states: RUNNING, STOPPED, EXITED, FATAL (with its reason) and BACKOFF. Each case
runs one tendctl command against it and compares with its file.

What varies from run to run is masked by `normalize` before the comparison:
  - the test's temporary directory becomes <tmp>;
  - in status tables, the PID and UPTIME columns of a process that has them
    become <pid> and <up>, padded to the column's width, so that the alignment
    itself is still compared;
  - times (RFC 3339, as tendctl why prints them) become <time>, and how long
    ago, <ago>.
Nothing else is masked: exit statuses, restart counts, last exits and failure
reasons are part of the contract.

Regenerate every file after an intended change of output:
    TEND_GOLDEN_UPDATE=1 /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/test_golden_ctl.py
then read the diff (git diff tests/golden/ctl) before committing it.
"""
import json
import os
import re

import pytest

from conftest import ROOT, TENDCTL, Tend, run, wait_for

GOLDEN = os.path.join(ROOT, "tests", "golden", "ctl")
UPDATE = os.environ.get("TEND_GOLDEN_UPDATE") == "1"

CONFIG = """
[program:up]
command = sleep 1000
startsecs = 0
[program:pair]
command = sleep 1000
numprocs = 2
process_name = pair_%(process_num)d
startsecs = 0
[program:off]
command = sleep 1000
autostart = false
[program:done]
command = /bin/sh -c 'sleep 0.2; exit 0'
startsecs = 0
autorestart = false
[program:broken]
command = /bin/sh -c 'exit 7'
startsecs = 1
startretries = 0
[program:missing]
command = /nonexistent/tend-golden
startretries = 0
[program:flaky]
command = /bin/sh -c 'exit 3'
startsecs = 5
startretries = 50
restart_delay = 60
restart_delay_max = 60
"""

# name: the words after tendctl (SOCK: the socket's path; MISSING: one nobody serves)
CASES = {
    "status": ["status"],
    "status-one": ["status", "up"],
    "status-fatal": ["status", "broken", "missing"],
    "status-group": ["status", "pair:"],
    "why": ["why", "broken", "missing", "flaky"],
    "why-unknown": ["why", "brokn"],
    "avail": ["avail"],
    "reload": ["reload"],
    "update": ["update"],
    "unknown-verb": ["stauts"],
    "unknown-verb-far": ["frobnicate"],
    "unknown-name": ["status", "upp"],
    "unknown-name-far": ["stop", "zzzzzzzz"],
    "usage-scale": ["scale", "up"],
    "usage-tail": ["tail"],
    "usage-fg": ["fg"],
    "usage-signal": ["signal", "NOPE", "up"],
    "quit": ["quit"],
    "http-server": ["-s", "http://localhost:9001", "status"],
    "unreachable": ["-s", "MISSING", "status"],
}


def state(sock, name):
    r = run([TENDCTL, "-s", str(sock), "status", "--json", name])
    return r.returncode in (0, 3) and json.loads(r.stdout)[0]["state"]


@pytest.fixture(scope="module")
def tend_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("golden-ctl")
    sock, ini = tmp / "tend.sock", tmp / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\n" + CONFIG)
    t = Tend(["-c", str(ini)])
    try:
        wait_for(lambda: run([TENDCTL, "-s", str(sock), "version"]).returncode == 0,
                 what="the control socket")
        for name, want in (("up", "RUNNING"), ("pair_1", "RUNNING"), ("done", "EXITED"),
                           ("broken", "FATAL"), ("missing", "FATAL"), ("flaky", "BACKOFF")):
            wait_for(lambda: state(sock, name) == want, 20, what=f"{name} {want}")
        yield tmp, sock
    finally:
        t.kill()


def mask_columns(text):
    """Masks PID and UPTIME in status tables, keeping each column's width."""
    out, cols = [], None
    for line in text.split("\n"):
        if line.startswith("NAME ") and " PID " in line and " UPTIME " in line:
            cols = (line.index("PID"), line.index("UPTIME"), line.index("PORT"))
        elif cols and len(line) > cols[2]:
            pid, up, port = cols
            if line[pid:up].strip() != "-":
                line = line[:pid] + "<pid>".ljust(up - pid) + line[up:]
            if line[up:port].strip() != "-":
                line = line[:up] + "<up>".ljust(port - up) + line[port:]
        else:
            cols = None
        out.append(line)
    return "\n".join(out)


def mask_times(text):
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \([^)]* ago\)",
                  "<time> (<ago> ago)", text)


def normalize(text, tmp):
    return mask_times(mask_columns(text.replace(str(tmp), "<tmp>")))


def render(words, r, tmp):
    shown = " ".join(words).replace(str(tmp), "<tmp>")
    return normalize(f"$ tendctl {shown}\nexit {r.returncode}\n--- stdout\n{r.stdout}"
                     f"--- stderr\n{r.stderr}", tmp)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_output(case, tend_env):
    tmp, sock = tend_env
    words = [str(tmp / "missing.sock") if w == "MISSING" else w for w in CASES[case]]
    if "-s" not in words:
        words = ["-s", str(sock)] + words
    got = render(words, run([TENDCTL, *words]), tmp)
    path = os.path.join(GOLDEN, case + ".txt")
    if UPDATE:
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(got)
    with open(path) as f:
        want = f.read()
    assert got == want, f"{case}: output differs from {path} (TEND_GOLDEN_UPDATE=1 regenerates)"


def test_normalizer_keeps_alignment_and_masks_only_what_varies():
    table = ("NAME    STATE     PID      UPTIME   PORT   RESTARTS  LAST EXIT\n"
             "web_00  RUNNING   123456   1m40s    8000          0  -        \n"
             "off     STOPPED   -        -        -             0  -        \n")
    got = mask_columns(table)
    assert got.split("\n")[1] == "web_00  RUNNING   <pid>    <up>     8000          0  -        "
    assert got.split("\n")[2] == table.split("\n")[2]
    assert mask_columns("exit 3\n12345 1m40s\n") == "exit 3\n12345 1m40s\n"


RELOAD_V1 = """
[program:same]
command = sleep 1000
startsecs = 0
[program:web]
command = sleep 1000
numprocs = 2
process_name = web_%(process_num)d
startsecs = 0
[program:old]
command = sleep 1000
startsecs = 0
"""
RELOAD_V2 = """
[program:same]
command = sleep 1000
startsecs = 0
[program:web]
command = sleep 1001
numprocs = 3
process_name = web_%(process_num)d
startsecs = 0
[program:new]
command = sleep 1000
startsecs = 0
autostrat = false
"""


@pytest.mark.parametrize("case", ["reload-dry-run", "reload-changes"])
def test_golden_reload_with_changes(case, tmp_path):
    """reload's reply when the config changed: the change list, the new config's
    warnings, the summary; --dry-run says the same and applies nothing."""
    sock, ini = tmp_path / "tend.sock", tmp_path / "tend.ini"
    ini.write_text(f"[tend]\nsocket = {sock}\n" + RELOAD_V1)
    t = Tend(["-c", str(ini)])
    try:
        wait_for(lambda: all(state(sock, n) == "RUNNING" for n in ("same", "web_1", "old")),
                 what="v1 running")
        ini.write_text(f"[tend]\nsocket = {sock}\n" + RELOAD_V2)
        words = ["-s", str(sock), "reload"] + (["--dry-run"] if case == "reload-dry-run" else [])
        got = render(words, run([TENDCTL, *words]), tmp_path)
        path = os.path.join(GOLDEN, case + ".txt")
        if UPDATE:
            with open(path, "w") as f:
                f.write(got)
        with open(path) as f:
            assert got == f.read(), f"{case}: output differs from {path}"
    finally:
        t.kill()
