"""Stopping everything: concurrently, yet in priority order and with each program's own signal."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import pytest

from djsupervisor.control.stale import SERVER_URL_VARIABLE
from djsupervisor.proctable import with_environment

from ..support import WAIT, alive, wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

STOP_SIGNALS = ["TERM", "INT", "QUIT", "HUP", "USR1", "USR2"]


def sleepers(count: int) -> str:
    """Return ``count`` programs, each stopped by a different signal in turn."""
    return "".join(
        f"[program:p{n}]\ncommand=sleep 100{n}\nstopsignal={STOP_SIGNALS[n % len(STOP_SIGNALS)]}\n"
        for n in range(count)
    )


def start(project: Project, how: str) -> subprocess.Popen[str] | None:
    """Start supervisord: in the foreground, or daemonized for 'shutdown'."""
    if how == "shutdown":
        assert project.run("-d").returncode == 0
        return None
    return project.start_foreground(stderr=subprocess.PIPE)


def request_stop(project: Project, command: subprocess.Popen[str] | None, how: str) -> None:
    """Ask for a stop as a user would, and wait for the command to return."""
    if command is None:
        shutdown = project.run("shutdown")
        assert shutdown.returncode == 0, shutdown.stderr
        assert shutdown.stdout.strip() == "Shut down"
    else:
        command.send_signal(getattr(signal, how))
        _, stderr = command.communicate(timeout=WAIT)
        assert command.returncode == 0, stderr


@pytest.mark.parametrize(("count", "how"), [(1, "SIGINT"), (10, "shutdown"), (50, "SIGTERM")])
def test_stop_leaves_nothing_and_uses_each_stop_signal(
    project: Project, count: int, how: str
) -> None:
    project.write("supervisord.conf", sleepers(count))
    command = start(project, how)
    names = [f"p{n}" for n in range(count)]
    pids = list(project.wait_running(*names).values())
    supervisord = int(project.pidfile().read_text())
    url = project.config()["supervisorctl"]["serverurl"]
    everything = [supervisord, *pids, *(p.pid for p in with_environment(SERVER_URL_VARIABLE, url))]
    log = project.logfile()
    request_stop(project, command, how)
    assert not alive(everything)
    assert not with_environment(SERVER_URL_VARIABLE, url)
    stopped = dict(re.findall(r"stopped: (p\d+) \(terminated by SIG(\w+)", log.read_text()))
    assert stopped == {name: STOP_SIGNALS[n % len(STOP_SIGNALS)] for n, name in enumerate(names)}


def test_a_slow_program_holds_up_no_other(project: Project) -> None:
    # 'patient' may take 10 minutes but exits at once; 'stubborn' ignores its
    # signal, so it is killed after its stopwaitsecs.
    project.write(
        "supervisord.conf",
        """
        [program:patient]
        command=sleep 1000
        stopwaitsecs=600

        [program:stubborn]
        command=sh -c 'trap "" TERM; while true; do sleep 0.1; done'
        stopwaitsecs=3
        """
        + sleepers(5),
    )
    command = project.start_foreground(stderr=subprocess.PIPE)
    pids = project.wait_running("patient", "stubborn", "p0", "p1", "p2", "p3", "p4")
    stubborn = pids.pop("stubborn")
    command.send_signal(signal.SIGTERM)
    wait_for(lambda: not alive(pids.values()), "every other program to stop")
    assert alive([stubborn]), "stubborn was killed before its stopwaitsecs"
    _, stderr = command.communicate(timeout=WAIT)
    assert command.returncode == 0, stderr
    assert not alive([stubborn])
    assert "stopped: stubborn (terminated by SIGKILL)" in project.logfile().read_text()


def test_priority_order_is_kept(project: Project, tmp_path: Path) -> None:
    record = tmp_path / "stops.txt"

    def program(name: str, priority: int | None) -> str:
        # On SIGTERM: note the start of the stop, take a while, note its end.
        on_stop = f"echo start {name} >> {record}; sleep 0.5; echo end {name} >> {record}; exit 0"
        command = f"sh -c 'trap \"{on_stop}\" TERM; while true; do sleep 0.05; done'"
        order = f"priority={priority}\n" if priority is not None else ""
        return f"[program:{name}]\ncommand={command}\n{order}"

    project.write(
        "supervisord.conf",
        program("db", 100) + program("cache", 200) + program("web", None) + program("worker", None),
    )
    start(project, "shutdown")
    project.wait_running("db", "cache", "web", "worker")
    request_stop(project, None, "shutdown")
    events = record.read_text().split("\n")
    assert set(events[:2]) == {"start web", "start worker"}  # equal priority: at once
    assert set(events[2:4]) == {"end web", "end worker"}
    # Then each lower priority, once the higher one is down.
    assert events[4:] == ["start cache", "end cache", "start db", "end db", ""]
