"""``manage.py supervisor`` against a real supervisord, as a user would run it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from djsupervisor.proctable import ProcessId
from djsupervisor.runtime import RuntimeDir

from ..support import WAIT, alive, children, free_port, http_get, wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

TWO_PROGRAMS = """
[program:sleeper]
command=sleep 1000

[program:ticker]
command=sh -c 'while true; do echo tick $(date +%s); sleep 0.2; done'
"""


@pytest.mark.smoke
def test_daemonize_status_stop_start_shutdown(project: Project) -> None:
    project.write("supervisord.conf", TWO_PROGRAMS)
    started = project.run("--daemonize")
    assert started.returncode == 0, started.stderr
    assert "supervisord is running (pid" in started.stdout
    pids = project.wait_running("sleeper", "ticker")
    supervisord = int(project.pidfile().read_text())

    status = project.run("status")
    assert status.returncode == 0
    for name, pid in pids.items():
        assert f"RUNNING   pid {pid}," in next(
            line for line in status.stdout.splitlines() if line.startswith(name)
        )

    assert project.run("stop", "sleeper").returncode == 0
    assert "STOPPED" in project.run("status", "sleeper").stdout
    assert not alive([pids["sleeper"]])
    assert project.run("start", "sleeper").returncode == 0
    assert project.wait_running("sleeper")["sleeper"] != pids["sleeper"]

    # The literal % in the ticker's command reached the shell intact.
    assert "tick " in project.run("tail", "ticker").stdout

    shutdown = project.run("shutdown")
    assert shutdown.returncode == 0, shutdown.stderr
    assert not alive([supervisord, *(p.pid for p in project.seen)])


def test_daemonize_returns_once_the_programs_are_spawned(project: Project) -> None:
    project.write(
        "supervisord.conf", TWO_PROGRAMS + "[program:idle]\ncommand=sleep 1000\nautostart=false\n"
    )
    assert project.run("-d").returncode == 0
    # Look in /proc first: any request to supervisord would itself wake its
    # loop, and so make it spawn, before it answered.
    supervisord = int(project.runtime_dir().joinpath("supervisord.pid").read_text())
    assert len(children(supervisord)) == 2  # sleeper and ticker, forked; idle not
    processes = project.processes()
    assert {name: bool(info["pid"]) for name, info in processes.items()} == {
        "sleeper": True,
        "ticker": True,
        "idle": False,
    }


def test_web_program_answers_http(project: Project) -> None:
    port = free_port()
    command = "{{ PYTHON }} manage.py runserver --noreload 127.0.0.1:" + str(port)
    project.write("supervisord.conf", f"[program:web]\ncommand={command}\n")
    assert project.run("-d").returncode == 0
    project.wait_running("web")
    assert wait_for(lambda: http_get(port), "an HTTP answer") == "hello from djsupervisor"


def test_foreground_stops_everything_on_sigterm(project: Project) -> None:
    project.write("supervisord.conf", TWO_PROGRAMS)
    command = project.start_foreground()
    pids = project.wait_running("sleeper", "ticker")
    supervisord = int(project.pidfile().read_text())
    assert supervisord != command.pid  # supervisord runs under the command

    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0
    assert not alive([supervisord, *pids.values()])


@pytest.mark.smoke
def test_foreground_ctrl_c(project: Project) -> None:
    project.write("supervisord.conf", TWO_PROGRAMS)
    # Ctrl-C in a terminal signals the whole foreground process group.
    command = project.start_foreground(start_new_session=True)
    pids = project.wait_running("sleeper", "ticker")
    supervisord = int(project.pidfile().read_text())
    os.killpg(command.pid, signal.SIGINT)
    assert command.wait(WAIT) == 0
    assert not alive([supervisord, *pids.values()])


def test_recovers_after_supervisord_is_killed(project: Project) -> None:
    project.write("supervisord.conf", TWO_PROGRAMS)
    assert project.run("-d").returncode == 0
    old = project.wait_running("sleeper", "ticker")
    pidfile = project.pidfile()
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    wait_for(lambda: project.run("status").returncode != 0, "supervisord to be gone")

    restarted = project.run("-d")
    assert restarted.returncode == 0, restarted.stderr
    # The programs the killed supervisord left behind were stopped, not duplicated.
    assert "stopped the programs it left running" in restarted.stderr
    assert not alive(old.values())
    new = project.wait_running("sleeper", "ticker")
    assert set(new.values()).isdisjoint(old.values())


def test_two_projects_side_by_side(project: Project, new_project: Callable[[str], Project]) -> None:
    other = new_project("other")
    project.write("supervisord.conf", "[program:one]\ncommand=sleep 1000\n")
    other.write("supervisord.conf", "[program:two]\ncommand=sleep 1000\n")
    assert project.run("-d").returncode == 0
    assert other.run("-d").returncode == 0
    assert project.client().url != other.client().url
    project.wait_running("one")
    other.wait_running("two")
    assert "two" not in project.run("status").stdout
    assert other.run("shutdown").returncode == 0
    assert project.run("status").returncode == 0


@pytest.mark.parametrize(
    ("command", "says"),
    [("reload", "Restarted supervisord"), ("update", "two: added process group")],
)
def test_rereading_commands_pick_up_an_edited_config(
    project: Project, command: str, says: str
) -> None:
    project.write("supervisord.conf", "[program:one]\ncommand=sleep 1000\n")
    assert project.run("-d").returncode == 0
    project.wait_running("one")
    project.write(
        "supervisord.conf",
        "[program:one]\ncommand=sleep 1000\n[program:two]\ncommand=sleep 1000\n",
    )
    result = project.run(command)
    assert result.returncode == 0, result.stderr
    assert says in result.stdout
    project.wait_running("one", "two")


def test_supervisorctl_arguments_and_exit_status(project: Project) -> None:
    project.write("supervisord.conf", TWO_PROGRAMS)
    assert project.run("-d").returncode == 0
    project.wait_running("ticker")
    # Options after the command word are supervisorctl's: -f follows the log.
    follow = project.start_foreground("tail", "-f", "ticker", stdout=subprocess.PIPE)
    assert follow.stdout is not None
    assert "tick " in follow.stdout.readline() + follow.stdout.readline()
    follow.terminate()
    follow.wait(WAIT)
    # supervisorctl's own exit status comes through.
    unknown = project.run("status", "nosuch")
    assert unknown.returncode != 0
    assert "no such process" in unknown.stdout.lower()


def test_status_reads_exactly_like_supervisorctl(project: Project) -> None:
    project.write(
        "supervisord.conf",
        TWO_PROGRAMS
        + "[program:idle]\ncommand=sleep 1000\nautostart=false\n"
        + "[program:pool]\ncommand=sleep 1000\nnumprocs=2\n"
        + "process_name=%(program_name)s_with_a_long_name_%(process_num)d\n",
    )
    assert project.run("-d").returncode == 0
    project.wait_running("sleeper", "ticker", "pool_with_a_long_name_1")
    config = project.runtime_dir() / "supervisord.conf"
    supervisorctl = [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(config)]
    for args in [(), ("sleeper",), ("pool:*",), ("ticker", "nosuch", "nogroup:*"), ("all",)]:
        ours = project.run("status", *args)
        theirs = subprocess.run(
            [*supervisorctl, "status", *args], capture_output=True, text=True, timeout=WAIT
        )
        # The uptime may tick between the two commands.
        assert uptime_free(ours.stdout) == uptime_free(theirs.stdout), args
        assert ours.returncode == theirs.returncode, args
    assert project.run("status", "idle").returncode == 3  # LSB: not running
    assert project.run("status", "nosuch").returncode == 4  # LSB: unknown


def test_status_of_a_supervisord_without_djsupervisors_namespace(project: Project) -> None:
    # As one started by an older djsupervisor, still running after an upgrade.
    project.write("supervisord.conf", TWO_PROGRAMS)
    config = project.config()
    config.remove_section("rpcinterface:djsupervisor")
    RuntimeDir.for_project(project.path.resolve()).create()  # what a start would do
    rendered = project.runtime_dir() / "supervisord.conf"
    with rendered.open("w") as file:
        config.write(file)
    subprocess.run(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(rendered)],
        check=True,
        timeout=WAIT,
        env=project.env,
    )
    pids = project.wait_running("sleeper", "ticker")
    status = project.run("status")
    assert status.returncode == 0, status.stderr
    assert f"sleeper                          RUNNING   pid {pids['sleeper']}," in status.stdout
    assert f"ticker                           RUNNING   pid {pids['ticker']}," in status.stdout
    assert project.run("shutdown").returncode == 0  # its stop polls states the same way
    assert not alive(pids.values())


def uptime_free(status: str) -> str:
    return re.sub(r"uptime [\d:]+", "uptime -", status)


def test_a_user_inet_server_with_credentials(project: Project) -> None:
    port = free_port()
    project.write(
        "supervisord.conf",
        f"[inet_http_server]\nport=127.0.0.1:{port}\nusername=admin\npassword=s3cret\n"
        + TWO_PROGRAMS,
    )
    assert project.run("-d").returncode == 0
    pids = project.wait_running("sleeper", "ticker")
    status = project.run("status", "sleeper")
    assert status.returncode == 0, status.stderr
    assert f"RUNNING   pid {pids['sleeper']}," in status.stdout
    assert project.run("stop", "ticker").returncode == 0  # through supervisorctl
    assert project.run("shutdown").returncode == 0
    assert not alive(pids.values())


def test_shell_runs_interactive_supervisorctl(project: Project) -> None:
    project.write("supervisord.conf", TWO_PROGRAMS)
    assert project.run("-d").returncode == 0
    project.wait_running("sleeper")
    shell = subprocess.run(
        project.command("shell"),
        input="status sleeper\nquit\n",
        capture_output=True,
        text=True,
        env=project.env,
        cwd=project.path,
        timeout=WAIT,
    )
    assert shell.returncode == 0
    assert "sleeper" in shell.stdout and "RUNNING" in shell.stdout


def test_getconfig_shows_selection_options(project: Project) -> None:
    project.write("supervisord.conf", TWO_PROGRAMS + "[program:web]\ncommand=run\nexclude=true\n")
    result = project.run("-x", "sleeper", "-i", "web", "-n", "ticker", "getconfig")
    assert result.returncode == 0, result.stderr
    assert "[program:sleeper]" not in result.stdout
    assert "[program:web]" in result.stdout and "exclude" not in result.stdout
    assert "autostart=false" in result.stdout
    assert "date +%%s" in result.stdout  # escaped for supervisord's % expansion


def test_already_running_is_refused(project: Project) -> None:
    project.write("supervisord.conf", TWO_PROGRAMS)
    assert project.run("-d").returncode == 0
    again = project.run("-d")
    assert again.returncode == 1
    assert "already running for this project" in again.stderr


def test_pidfile_and_logfile_options(project: Project, tmp_path: Path) -> None:
    project.write("supervisord.conf", TWO_PROGRAMS)
    pidfile, logfile = tmp_path / "run" / "app.pid", tmp_path / "log" / "app.log"
    pidfile.parent.mkdir()
    logfile.parent.mkdir()
    where = ("--pidfile", str(pidfile), "--logfile", str(logfile))
    started = project.run(*where, "--daemonize")
    assert started.returncode == 0, started.stderr
    supervisord = int(pidfile.read_text())
    project.seen.add(ProcessId.of(supervisord))  # not at the default pidfile: teardown must know it
    assert f"(pid {supervisord})" in started.stdout
    assert f"supervisord started with pid {supervisord}" in logfile.read_text()
    # shutdown finds the pid where the start put it, and waits for it to exit.
    assert project.run(*where, "shutdown").returncode == 0
    assert not alive([supervisord])
