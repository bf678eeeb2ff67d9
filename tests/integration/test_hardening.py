"""Faults, races, load and odd input: each case of the adversarial pass, with real processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from djsupervisor.control.stale import SERVER_URL_VARIABLE
from djsupervisor.proctable import with_environment

from ..support import WAIT, alive, command_lines, free_port, http_get, wait_for
from .conftest import Project, Result
from .test_foreground import Lines

pytestmark = pytest.mark.integration

TICKER = """
[program:ticker]
command={{ PYTHON }} -c "import itertools, time; [print('tick', n, flush=True) or time.sleep(0.05) for n in itertools.count()]"
"""  # noqa: E501

# Each prints LINES numbered lines, one every 10 ms, then sleeps.
TALKER = (
    "import sys, time\n"
    "for n in range(int(sys.argv[2])):\n"
    "    print(sys.argv[1], n, flush=True)\n"
    "    time.sleep(0.01)\n"
    "time.sleep(1000)\n"
)


def one_clear_error(result: Result, *fragments: str) -> str:
    """Assert ``result`` failed with one line on stderr holding ``fragments``; return it."""
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "For help, use" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_the_console_keeps_up_with_many_programs(project: Project) -> None:
    programs, lines = 100, 100  # 10,000 lines a second for a second
    project.write("talker.py", TALKER)
    project.write(
        "supervisord.conf",
        "".join(
            f"[program:p{n}]\ncommand={{{{ PYTHON }}}} talker.py p{n} {lines}\n"
            for n in range(programs)
        ),
    )
    command = project.start_foreground("--noreload", stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    output.wait_for(r"^p\d+ +\| p\d+ \d+$", count=programs * lines)
    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0
    assert not [line for line in output.lines if "overflowed" in line or "skipped" in line]


def test_a_console_that_lags_hears_once_what_it_missed(project: Project) -> None:
    # 40 MB at once, while nobody reads the terminal: more than supervisord keeps for it.
    project.write(
        "supervisord.conf",
        "[program:flood]\n"
        'command={{ PYTHON }} -c "import sys, time; '
        "sys.stdout.writelines(f'{n:099}\\n' for n in range(400000)); sys.stdout.flush(); "
        'time.sleep(1000)"\n'
        "stdout_logfile_maxbytes=0\n",
    )
    command = project.start_foreground("--noreload", stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    project.wait_running("flood")
    log = Path(project.processes()["flood"]["stdout_logfile"])
    wait_for(lambda: log.stat().st_size >= 400000 * 100, "the program's log to be complete")
    output = Lines(command.stdout)  # the terminal reads again
    notice = output.wait_for(r"skipped \d+ lines of output")
    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0
    assert len(notice) == 1
    assert "every line is in the log files in" in notice[0]
    shown = [line for line in output.lines if re.search(r"flood +\| \d{99}$", line)]
    skipped = int(re.search(r"skipped (\d+) lines", notice[0])[1])  # type: ignore[index]
    # A line cut between a skipped chunk and a shown one shows as a fragment:
    # at most one where skipping began and one where it ended.
    assert 400000 - 2 <= len(shown) + skipped <= 400000
    assert not [line for line in output.lines if "overflowed" in line]


def test_own_programs_ignore_the_users_defaults_and_overrides(project: Project) -> None:
    project.add_settings("DEBUG = True\n")
    project.write(
        "supervisord.conf",
        TICKER
        + """exclude=false

[program:other]
command=sleep 1000
exclude=false

[program:__defaults__]
exclude=true
autostart=false
redirect_stderr=true

[program:__overrides__]
startsecs=5
""",
    )
    command = project.start_foreground("-l", "ticker", stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    output.wait_for(r"^ticker +\| tick \d+$", count=2)
    output.wait_for(r"^autoreload +\| watching ")
    states = {name: info["statename"] for name, info in project.processes().items()}
    # startsecs=5 holds the user's program in STARTING; autoreload is spared.
    assert states == {"autoreload": "RUNNING", "ticker": "STARTING", "other": "STOPPED"}
    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0


@pytest.mark.skipif(os.getuid() != 0, reason="switching users needs root")
def test_a_second_stop_kills_programs_of_other_users_too(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[program:__defaults__]\nuser=nobody\ndirectory=/\n"
        "[program:stubborn]\n"
        "command=sh -c 'trap \"\" TERM; while true; do sleep 1; done'\n"
        "stopwaitsecs=60\n",
    )
    command = project.start_foreground(start_new_session=True, stderr=subprocess.PIPE)
    stubborn = project.wait_running("stubborn")["stubborn"]
    command.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    command.send_signal(signal.SIGTERM)
    command.communicate(timeout=WAIT)
    wait_for(lambda: not alive([stubborn]), "nobody's program to be killed")


def test_two_foreground_starts_at_once_leave_the_winner_alone(project: Project) -> None:
    project.write("supervisord.conf", TICKER)
    first = project.start_foreground(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
    second = project.start_foreground(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
    wait_for(lambda: first.poll() is not None or second.poll() is not None, "one to give up")
    loser, winner = (first, second) if first.poll() is not None else (second, first)
    _, error = loser.communicate(timeout=WAIT)
    assert loser.returncode == 1
    assert b"already running for this project" in error
    assert winner.stdout is not None
    output = Lines(winner.stdout)
    pid = project.wait_running("ticker")["ticker"]
    seen = len(output.wait_for(r"^ticker +\| tick \d+$"))
    output.wait_for(r"^ticker +\| tick \d+$", count=seen + 3)  # its output still arrives
    assert project.wait_running("ticker")["ticker"] == pid  # not stopped by the loser
    winner.send_signal(signal.SIGTERM)
    assert winner.wait(WAIT) == 0


def test_shutdown_stops_what_escaped_with_setsid(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[program:escaper]\ncommand=sh -c 'setsid sleep 7201 & exec sleep 7202'\n",
    )
    assert project.run("-d").returncode == 0
    project.wait_running("escaper")
    url = project.client().url
    wait_for(lambda: len(with_environment(SERVER_URL_VARIABLE, url)) == 2, "both sleeps")
    stopped = project.run("shutdown")
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped processes the programs had started and left running" in stopped.stderr
    assert not with_environment(SERVER_URL_VARIABLE, url)
    assert not [pid for pid, argv in command_lines().items() if argv[-1:] == ["7201"]]


def test_output_to_a_closed_pipe_stops_quietly(project: Project) -> None:
    project.write("supervisord.conf", TICKER)
    read_end, write_end = os.pipe()
    head = subprocess.Popen(["head", "-3"], stdin=read_end, stdout=subprocess.PIPE)
    command = project.start_foreground(stdout=write_end, stderr=subprocess.PIPE, text=True)
    os.close(read_end)
    os.close(write_end)
    assert len(head.communicate(timeout=WAIT)[0].splitlines()) == 3
    _, error = command.communicate(timeout=WAIT)
    # Ended as 'cat' would be, having stopped everything (test_output_failures.py).
    assert (command.returncode, error) == (-signal.SIGPIPE, "")
    assert not with_environment(SERVER_URL_VARIABLE, project.client().url)


def test_output_to_a_full_disk_is_said_once_and_the_programs_go_on(project: Project) -> None:
    project.write("supervisord.conf", TICKER)
    with open("/dev/full", "w") as full:
        command = project.start_foreground(stdout=full, stderr=subprocess.PIPE, text=True)
        ticker = project.wait_running("ticker")["ticker"]
        time.sleep(0.5)
        assert command.poll() is None
        command.send_signal(signal.SIGTERM)
        _, error = command.communicate(timeout=WAIT)
    assert command.returncode == 1
    assert error.count("cannot print the programs' output (No space left on device)") == 1
    assert error.splitlines()[-1] == (
        "CommandError: cannot write to standard output: No space left on device"
    )
    assert "Traceback" not in error
    assert not alive([ticker])


def test_a_socket_path_too_long_for_supervisord_is_refused_first(project: Project) -> None:
    base = Path("/tmp") / ("r" * 64)  # /tmp/r...r/proj-<12 hex>/supervisor.sock: 103 bytes
    project.add_settings(f"SUPERVISOR_RUNTIME_DIR = {str(base)!r}\n")
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    for args in (("-d",), ()):
        one_clear_error(project.run(*args), "too long for a unix socket", "(103 bytes; at most 99)")
    assert not base.exists()


def test_a_foreground_supervisord_that_cannot_start_says_why_once(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[unix_http_server]\nfile=/nonexistent/dir/s.sock\n[program:web]\ncommand=sleep 1000\n",
    )
    failed = project.run()
    assert failed.returncode == 1
    assert "For help, use" not in failed.stdout + failed.stderr
    assert "Traceback" not in failed.stdout + failed.stderr
    assert failed.stderr.strip().startswith("CommandError: supervisord could not start: Error:")


def test_paths_with_a_space_and_a_quote_in_commands(project: Project, tmp_path: Path) -> None:
    odd = tmp_path / "my project's"
    project.path.rename(odd)
    project.path = odd
    port = free_port()
    project.write(
        "supervisord.conf",
        "[program:web]\n"
        "command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py runserver --noreload "
        f"127.0.0.1:{port}\n",
    )
    assert project.run("-d").returncode == 0
    assert wait_for(lambda: http_get(port), "web to answer") == "hello from djsupervisor"


@pytest.mark.skipif(os.getuid() != 0, reason="the case of root switching to another user")
def test_supervisord_user_it_cannot_run_as_is_refused(project: Project) -> None:
    project.write("supervisord.conf", "[supervisord]\nuser=nobody\n[program:web]\ncommand=true\n")
    for args in (("-d",), ()):
        one_clear_error(project.run(*args), "[supervisord] user=nobody", "sudo -u nobody")
    check = project.run_manage("check")
    assert "djsupervisor.E012" in check.stderr


def test_a_control_server_without_a_password_is_refused(project: Project) -> None:
    server = f"[inet_http_server]\nport=127.0.0.1:{free_port()}\n"
    project.write("supervisord.conf", server + "[program:web]\ncommand=sleep 1000\n")
    one_clear_error(project.run("-d"), "has no password: any user of this machine could stop")
    assert "djsupervisor.E011" in project.run_manage("check").stderr
    project.add_settings("SUPERVISOR_ALLOW_UNAUTHENTICATED_SERVER = True\n")
    started = project.run("-d")
    assert started.returncode == 0, started.stderr


def test_a_release_symlink_switched_is_the_same_project(project: Project, tmp_path: Path) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    release1 = tmp_path / "r1"
    project.path.rename(release1)
    release2 = tmp_path / "r2"
    subprocess.run(["cp", "-a", str(release1), str(release2)], check=True)
    current = tmp_path / "current"
    current.symlink_to(release1)
    project.path = current
    assert project.run("-d").returncode == 0
    pid = project.wait_running("web")["web"]
    current.unlink()
    current.symlink_to(release2)  # the deploy switches releases
    status = project.run("status")
    assert status.returncode == 0 and f"pid {pid}," in status.stdout
    again = project.run("-d")
    assert again.returncode == 1 and "already running" in again.stderr


@pytest.mark.parametrize(
    ("config_file", "says"), [(".", "is a directory"), ("/dev/null", "is not a regular file")]
)
def test_a_config_file_that_is_no_file(project: Project, config_file: str, says: str) -> None:
    one_clear_error(project.run("--config-file", config_file, "getconfig"), says)


@pytest.mark.parametrize(
    ("conf", "says"),
    [
        ("[program:]\ncommand=sleep 1\n", "[program:] (from"),
        ("[program:web]\ncommand=sleep 1\x00 2\n", "command contains a NUL byte"),
        ("[program:web]\ncommand=echo 'unclosed\n", "command cannot be split into words"),
    ],
)
def test_programs_supervisord_could_not_run_are_refused(
    project: Project, conf: str, says: str
) -> None:
    project.write("supervisord.conf", conf)
    one_clear_error(project.run("-d"), says)


def test_split_characters_and_bytes_that_are_not_utf8(project: Project) -> None:
    project.write(
        "writer.py",
        "import os, time\n"
        "os.write(1, b'caf\\xc3'); time.sleep(0.2); os.write(1, b'\\xa9\\n')\n"
        "os.write(1, b'\\xff\\xfe bad\\n'); time.sleep(1000)\n",
    )
    project.write("supervisord.conf", "[program:writer]\ncommand={{ PYTHON }} writer.py\n")
    command = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    assert output.wait_for(r"^writer +\| ")[0].endswith("| café")
    output.wait_for(r"^writer +\| \ufffd\ufffd bad$")
    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0


def test_nohup_keeps_hangups_away_and_a_hangup_otherwise_stops(project: Project) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")

    def ignore_hangups() -> None:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def take_hangups() -> None:  # as from a terminal, even if the tests run under nohup
        signal.signal(signal.SIGHUP, signal.SIG_DFL)

    nohup = project.start_foreground(preexec_fn=ignore_hangups)
    pid = project.wait_running("web")["web"]
    nohup.send_signal(signal.SIGHUP)
    time.sleep(1)
    assert nohup.poll() is None and project.wait_running("web")["web"] == pid
    nohup.send_signal(signal.SIGTERM)
    assert nohup.wait(WAIT) == 0

    plain = project.start_foreground(preexec_fn=take_hangups)
    pid = project.wait_running("web")["web"]
    plain.send_signal(signal.SIGHUP)  # the terminal went away
    assert plain.wait(WAIT) == 0
    assert not alive([pid])


def test_hundreds_of_programs_under_the_default_descriptor_limit(project: Project) -> None:
    programs = 300
    project.write(
        "supervisord.conf",
        "".join(f"[program:s{n}]\ncommand=sleep 1000\n" for n in range(programs)),
    )
    limited = subprocess.run(
        ["sh", "-c", 'ulimit -S -n 1024 && exec "$@"', "sh", *project.command("-d")],
        cwd=project.path,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=WAIT * 4,
    )
    assert limited.returncode == 0, limited.stderr
    project.wait_running(*(f"s{n}" for n in range(programs)))


def test_output_goes_on_after_a_reload(project: Project) -> None:
    project.write("supervisord.conf", TICKER)
    command = project.start_foreground(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    before = project.wait_running("ticker")["ticker"]
    reloaded = project.run("reload")
    assert reloaded.returncode == 0, reloaded.stderr
    after = project.wait_running("ticker")["ticker"]
    assert after != before
    # The restarted ticker counts from 0 again, on the same console.
    output.wait_for(r"^ticker +\| tick 0$", count=2)
    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0, output.last()
