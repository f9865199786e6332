"""tend check's warnings: keys tend reads and does not act on, the same warning said once
for several lines, the host checks a start would run into, and small command-line habits."""
import os
import pathlib
import re
import shutil
import socket
import stat
import subprocess
import tempfile

import pytest

from conftest import TEND, free_ports, run, tend_check

PROGRAM = "[program:web]\ncommand = sleep 1000\n"
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def check(tmp_path, text, *extra):
    cfg = tmp_path / "tend.ini"
    cfg.write_text(text)
    return cfg, tend_check(cfg, *extra)


def at(cfg, line):
    """FILE:LINE: warning:, LINE alone or among others."""
    return rf"^{re.escape(str(cfg))}:(?:\d+,)*{line}(?:,\d+)*: warning: "


# (config, line of the warning, what it must say). Line 3 is the key under test.
IGNORED = {
    "strip_ansi": ("[supervisord]\nnodaemon = true\nstrip_ansi = true\n" + PROGRAM,
                   3, r"strip_ansi = true: not used: escape sequences .* are kept"),
    "stdout_syslog": (PROGRAM + "stdout_syslog = true\n",
                      3, r"stdout_syslog = true: not used: output does not go to syslog"),
    "stderr_syslog": (PROGRAM + "stderr_syslog = on\n",
                      3, r"stderr_syslog = on: not used: output does not go to syslog"),
    "stdout_events_enabled": (
        PROGRAM + "stdout_events_enabled = true\n", 3,
        r"stdout_events_enabled = true: not used: supervisord's events are not supported; "
        r"tend writes this output to its own stdout, each line prefixed with the process name"),
    "stderr_events_enabled_none": (
        PROGRAM + "stderr_events_enabled = true\nstderr_logfile = NONE\n", 3,
        r"stderr_events_enabled = true: not used: .* and with stderr_logfile = NONE this "
        r"output goes nowhere"),
    "stderr_events_enabled_redirected": (
        PROGRAM + "stderr_events_enabled = 1\nredirect_stderr = true\nstdout_logfile = none\n",
        3, r".* with stdout_logfile = none this output goes nowhere .* its own stdout\)"),
    "stdout_events_enabled_file": (
        PROGRAM + "stdout_events_enabled = true\nstdout_logfile = /tmp/web.log\n", 3,
        r".*; this output goes only where stdout_logfile = /tmp/web.log says"),
    "program_serverurl": (PROGRAM + "serverurl = AUTO\n",
                          3, r"serverurl = AUTO: not used: .*XML-RPC"),
    "supervisorctl_serverurl": (
        PROGRAM + "[supervisorctl]\nserverurl = http://localhost:9001\n", 4,
        r"serverurl = http://localhost:9001: not used: tendctl does not read the config; it "
        r"connects to -s SOCKET, else \$TEND_SOCKET, else /run/tend.sock"),
    "supervisorctl_prompt": (PROGRAM + "[supervisorctl]\nprompt = box\n",
                             4, r"prompt = box: not used: tendctl has no interactive shell"),
    "supervisorctl_password": (PROGRAM + "[supervisorctl]\npassword = 123\n",
                               4, r"password = 123: not used: .*SO_PEERCRED"),
    "eventlistener_state": (
        PROGRAM + "[eventlistener:quit]\ncommand = stop.sh\n"
        "events = PROCESS_STATE_EXITED,PROCESS_STATE_FATAL\n", 3,
        r"\[eventlistener:quit\] is not supported yet \(planned\): it will not run; to stop "
        r"when a program dies, set critical = true on that program"),
    "eventlistener_log": (
        PROGRAM + "[eventlistener:stdout]\ncommand = supervisor_stdout\nevents = PROCESS_LOG\n",
        3, r"\[eventlistener:stdout\] .* tend writes every program's output to its own stdout "
           r"and stderr, each line prefixed with the process name"),
    "eventlistener_tick": (
        PROGRAM + "[eventlistener:tick]\ncommand = tick.sh\nevents = TICK_60\n",
        3, r"\[eventlistener:tick\] is not supported yet \(planned\): it will not run$"),
    "fcgi_program": (
        PROGRAM + "[fcgi-program:php]\ncommand = php-cgi\nsocket = unix:///run/php.sock\n",
        3, r"\[fcgi-program:php\] .* tend does not make FastCGI sockets"),
    "rpcinterface_plugin": (
        PROGRAM + "[rpcinterface:twiddler]\n"
        "supervisor.rpcinterface_factory = supervisor_twiddler.rpcinterface:make_main\n",
        3, r"\[rpcinterface:twiddler\] is not loaded: tend has no XML-RPC interface"),
}


@pytest.mark.parametrize("key", sorted(IGNORED))
def test_a_key_not_acted_on_says_what_tend_does(tmp_path, key):
    text, line, says = IGNORED[key]
    cfg, r = check(tmp_path, text)
    assert r.returncode == 0, r.stderr
    assert re.search(at(cfg, line) + says, r.stderr, re.M), r.stderr
    assert tend_check(cfg, "--strict").returncode == 1


FINE = {
    "standard rpcinterface": "[rpcinterface:supervisor]\n"
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n",
    "serverurl naming tend's socket": "[supervisorctl]\nserverurl = unix:///run/tend.sock\n",
    "events off": "[program:b]\ncommand = sleep 1\nstdout_events_enabled = false\n",
}


@pytest.mark.skipif(os.geteuid() != 0, reason="the default socket is root's /run/tend.sock")
@pytest.mark.parametrize("what", sorted(FINE))
def test_a_value_that_asks_for_what_tend_does_is_not_warned(tmp_path, what):
    cfg, r = check(tmp_path, PROGRAM + FINE[what])
    assert r.returncode == 0 and "warning:" not in r.stderr, r.stderr
    assert tend_check(cfg, "--strict").returncode == 0


def test_the_same_warning_in_five_programs_is_one_line(tmp_path):
    text = "".join(f"[program:p{i}]\ncommand = sleep 1\nstartsec = 1\n" for i in range(5))
    cfg, r = check(tmp_path, text)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines[:-1] == [f"{cfg}:3,6,9,12,15: warning: unknown key 'startsec' in a "
                          "[program:x] section (did you mean 'startsecs'?)"], r.stderr
    assert lines[-1].startswith(f"{cfg}: ok, 5 warning(s)")  # each place counted
    strict = tend_check(cfg, "--strict")
    assert strict.returncode == 1
    assert f"{cfg}:3,6,9,12,15: error: unknown key 'startsec'" in strict.stderr
    text = "".join(f"[program:p{i}]\ncommand = sleep 1\nstdout_syslog = true\n" for i in range(5))
    cfg, r = check(tmp_path, text)
    warnings = [l for l in r.stderr.splitlines() if ": warning: " in l]
    assert len(warnings) == 1, r.stderr
    assert warnings[0].startswith(f"{cfg}:3,6,9,12,15: warning: stdout_syslog = true: not used")


def test_a_long_list_of_lines_is_bounded(tmp_path):
    text = "".join(f"[program:p{i}]\ncommand = sleep 1\nstdout_syslog = true\n"
                   for i in range(12))
    cfg, r = check(tmp_path, text)
    lines = [l for l in r.stderr.splitlines() if "stdout_syslog" in l]
    assert lines == [f"{cfg}:3,6,9,12,15,18,21,24: warning: stdout_syslog = true: not used: "
                     "output does not go to syslog (tend writes it to its stdout, log files or "
                     "streams) (and 4 more lines)"], r.stderr


def test_a_single_warning_keeps_its_line(tmp_path):
    cfg, r = check(tmp_path, PROGRAM + "stdout_syslog = true\n[program:b]\ncommand = sleep 1\n")
    assert re.search(rf"^{re.escape(str(cfg))}:3: warning: stdout_syslog", r.stderr, re.M)


def test_a_config_with_no_programs_is_warned(tmp_path):
    cfg, r = check(tmp_path, "[supervisord]\nnodaemon = true\n")
    assert r.returncode == 0, r.stderr
    assert f"{cfg}: warning: no programs: tend would only wait for signals" in r.stderr
    assert tend_check(cfg, "--strict").returncode == 1
    # a fragment that another file includes is checked as part of it: no warning then
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "web.conf").write_text(PROGRAM)
    cfg, r = check(tmp_path, "[supervisord]\nnodaemon = true\n[include]\nfiles = conf.d/*.conf\n")
    assert r.returncode == 0 and "warning:" not in r.stderr, r.stderr


# ---- host checks ------------------------------------------------------------------------


def test_a_logfile_in_a_missing_directory(tmp_path):
    cfg, r = check(tmp_path, f"[supervisord]\nlogfile = {tmp_path}/no/such/tend.log\n" + PROGRAM)
    assert r.returncode == 0, r.stderr
    assert re.search(at(cfg, 2) + rf"logfile: directory '{tmp_path}/no/such' does not exist: "
                     "tend would log to stderr only", r.stderr, re.M), r.stderr
    assert tend_check(cfg, "--strict").returncode == 1
    (tmp_path / "no" / "such").mkdir(parents=True)
    assert "logfile:" not in tend_check(cfg).stderr
    cfg, r = check(tmp_path, "[supervisord]\nlogfile = /dev/stdout\n" + PROGRAM)
    assert "warning:" not in r.stderr, r.stderr


def test_a_pidfile_in_a_missing_directory(tmp_path):
    cfg, r = check(tmp_path, f"[supervisord]\npidfile = {tmp_path}/run/tend.pid\n" + PROGRAM)
    assert re.search(at(cfg, 2) + rf"pidfile: directory '{tmp_path}/run' does not exist: "
                     "tend would not write it", r.stderr, re.M), r.stderr
    (tmp_path / "run").mkdir()
    assert "pidfile:" not in tend_check(cfg).stderr


def test_a_port_in_use(tmp_path):
    base = free_ports(3)
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", base + 1))
    held.listen()
    try:
        cfg, r = check(tmp_path, PROGRAM + f"numprocs = 3\nport = {base}\n"
                       f"[unix_http_server]\nfile = {tmp_path}/tend.sock\n")
        assert r.returncode == 0, r.stderr
        assert re.search(at(cfg, 4) + rf"port {base + 1} is in use by pid {os.getpid()} "
                         r"\(python3[^)]*\): web_01 would fail to listen on it", r.stderr,
                         re.M), r.stderr
        assert f"port {base}" not in r.stderr and f"port {base + 2}" not in r.stderr
        assert tend_check(cfg, "--strict").returncode == 1
    finally:
        held.close()
    assert "in use" not in tend_check(cfg).stderr


def test_a_running_tend_on_the_socket_skips_socket_and_port_checks(tmp_path):
    base = free_ports(1)
    sock = tmp_path / "tend.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock))
    listener.listen()
    held = socket.socket()
    held.bind(("127.0.0.1", base))
    held.listen()
    try:
        cfg, r = check(tmp_path, PROGRAM + f"port = {base}\n[unix_http_server]\nfile = {sock}\n")
        assert r.returncode == 0 and "warning:" not in r.stderr, r.stderr
        assert r.stderr.splitlines() == [
            f"{cfg}: ok, 0 warning(s) (a tend answers on '{sock}': its socket and ports were "
            "not checked)"], r.stderr
        assert tend_check(cfg, "--strict").returncode == 0
    finally:
        held.close()
        listener.close()


def test_a_socket_directory_others_can_write(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    cfg, r = check(tmp_path, PROGRAM + f"[unix_http_server]\nfile = {shared}/tend.sock\n")
    assert re.search(at(cfg, 4) + f"socket: directory '{shared}' can be written by other users",
                     r.stderr, re.M), r.stderr
    shared.chmod(0o777 | stat.S_ISVTX)  # as /tmp: nobody removes what is not theirs
    assert "socket:" not in tend_check(cfg).stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run tend check as nobody")
def test_as_another_user():
    """user= and a socket directory seen by a tend that is not root."""
    shared = pathlib.Path(tempfile.mkdtemp(prefix="tend-uid-"))  # tmp_path is root's alone
    try:
        shared.chmod(0o755)
        root_only = shared / "root-only"
        root_only.mkdir(mode=0o755)
        mine = shared / "nobodys"
        mine.mkdir()
        shutil.chown(mine, "nobody", "nogroup")
        cfg = shared / "tend.ini"
        cfg.write_text(f"[supervisord]\nuser = root\n[unix_http_server]\n"
                       f"file = {root_only}/sub/tend.sock\n" + PROGRAM + "user = root\n")
        cfg.chmod(0o644)
        r = run(NOBODY + [TEND, "check", "-c", str(cfg)])
        assert r.returncode == 0, r.stderr
        assert re.search(at(cfg, 2) + r"user = root: tend runs as uid 65534, not root, and "
                         "cannot become another user: it would not start", r.stderr, re.M)
        assert re.search(at(cfg, 7) + r"user = root: tend runs as uid 65534, not root, and "
                         "cannot switch users: this program would fail to start",
                         r.stderr, re.M), r.stderr
        assert re.search(at(cfg, 4) + f"socket: directory '{root_only}/sub' does not exist, "
                         f"and tend \\(uid 65534\\) cannot make it in '{root_only}'",
                         r.stderr, re.M), r.stderr
        assert run(NOBODY + [TEND, "check", "--strict", "-c", str(cfg)]).returncode == 1
        # as root, none of that is a problem
        r = tend_check(cfg)
        assert "user = root" not in r.stderr and "socket:" not in r.stderr, r.stderr
        # the user it runs as, in a directory of its own: nothing to say
        cfg.write_text(f"[unix_http_server]\nfile = {mine}/tend.sock\n" + PROGRAM +
                       "user = nobody\n")
        r = run(NOBODY + [TEND, "check", "-c", str(cfg)])
        assert r.returncode == 0 and "warning:" not in r.stderr, r.stderr
    finally:
        shutil.rmtree(shared, ignore_errors=True)


# ---- the command line -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["check", "dev"])
def test_help_is_usage_on_stdout(mode):
    for flag in ("--help", "-h"):
        r = run([TEND, mode, flag])
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"usage: tend {mode} ") and r.stderr == ""


def test_an_unknown_command_is_named(tmp_path):
    r = run([TEND, "bogus"])
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == "tend: unknown command 'bogus'"
    cfg = tmp_path / "tend.ini"
    cfg.write_text(PROGRAM)
    r = run([TEND, str(cfg)])
    assert r.returncode == 2
    assert f"(to run that config: tend -c {cfg})" in r.stderr.splitlines()[0]
