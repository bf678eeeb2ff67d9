"""Start and stop 1 to 50 programs: djsupervisor vs raw supervisord vs honcho.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . honcho && .venv/bin/python bench/startstop.py

The same programs run under ``manage.py supervisor --noreload`` (foreground),
under ``supervisord -n`` with an equivalent hand-written config, and under
``honcho start`` with an equivalent Procfile: ``--programs`` trivial programs
(``sleep``, one process group each, supervisord's defaults otherwise), and one
``runserver --noreload`` program (for the peers, with settings that leave
djsupervisor out, as a project using them would). Measured, the launchers taking
turns (each going first in turn), ``--runs`` times each: the time from launching
to every program spawned (to the first HTTP 200 for runserver); then,
``--settle`` seconds later, the time from a stop request (SIGTERM to the
launcher's pid alone, as ``kill`` or systemd send it) until the launcher and
every process below it are gone. djsupervisor is also stopped with Ctrl-C
(SIGINT to its process group, as a terminal sends it).

Pass small sizes for a quick smoke run, e.g. ``--runs 1 --programs 1,2 --settle 0.2``.
"""  # noqa: E501 (the command above is one line, to copy)

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    PEER,
    ProcessId,
    command_lines,
    descendants,
    free_port,
    http_get,
    kill_all,
    make_project,
    median,
    print_table,
    rotated,
    start,
    stop_session,
    wait_until,
)

STOP_TIMEOUT = 180.0  # seconds; raw supervisord stops one program per 1 s loop turn
LAUNCHERS = ("djsupervisor", "raw supervisord", "honcho")
CTRL_C = "djsupervisor, Ctrl-C"  # the extra stop, measured for djsupervisor alone
SPAWNED = "launch -> all spawned"
SERVING = "launch -> first HTTP 200"
STOP = "stop (SIGTERM) -> all gone"
STOP_CTRL_C = "stop (Ctrl-C) -> all gone"

RAW_SUPERVISORD = """
[supervisord]
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid
childlogdir={dir}

[unix_http_server]
file={dir}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
"""
# djsupervisor's defaults for every program, written out by hand.
RAW_PROGRAM = """
[program:{name}]
command={command}
directory={project}
stopasgroup=true
killasgroup=true
"""
OURS_PROGRAM = """
[program:{name}]
command={command}
"""


@dataclass
class Scenario:
    """One set of programs, ready to run under each launcher."""

    name: str
    project: Path
    commands: dict[str, list[str]]  # by launcher
    ready: Callable[[], bool]  # whether the programs are up
    ready_measure: str
    marker: str  # in the command line of every program process


def write_scenario(
    workdir: Path,
    name: str,
    programs: dict[str, str],
    ready: Callable[[], bool],
    ready_measure: str,
    marker: str,
) -> Scenario:
    """Write the project, the raw config and the Procfile for ``programs``.

    ``programs`` maps a name to a command in which ``{python}`` stands for
    the Python interpreter, and ``{peer}`` for the option that leaves
    djsupervisor out of a Django command run by a peer (nothing for ours).
    """
    home = workdir / name.replace(" ", "-")
    project = make_project(
        home / "project",
        "".join(
            OURS_PROGRAM.format(name=n, command=c.format(python="{{ PYTHON }}", peer="").rstrip())
            for n, c in programs.items()
        ),
    )
    raw = home / "raw"
    raw.mkdir()
    raw_conf = raw / "supervisord.conf"
    raw_conf.write_text(
        RAW_SUPERVISORD.format(dir=raw)
        + "".join(
            RAW_PROGRAM.format(name=n, command=peer_command(c), project=project)
            for n, c in programs.items()
        )
    )
    (project / "Procfile").write_text(
        "".join(f"{n}: {peer_command(c)}\n" for n, c in programs.items())
    )
    ours = [sys.executable, "manage.py", "supervisor", "--noreload"]
    raw_supervisord = [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(raw_conf)]
    commands = {
        "djsupervisor": ours,
        "raw supervisord": raw_supervisord,
        "honcho": [sys.executable, "-m", "honcho", "start", "-f", "Procfile"],
        CTRL_C: ours,
    }
    return Scenario(name, project, commands, ready, ready_measure, marker)


def peer_command(command: str) -> str:
    return command.format(python=sys.executable, peer=PEER)


def trivial_scenario(workdir: Path, count: int, token: str) -> Scenario:
    """Return ``count`` programs that sleep, each with ``token`` in its command line."""
    programs = {f"p{n}": f"sleep {100000 + n}.{token}" for n in range(count)}

    def spawned() -> bool:
        return len(sleepers(token)) == count

    name = f"{count} program{'s' if count > 1 else ''}"
    return write_scenario(workdir, name, programs, spawned, SPAWNED, f".{token}")


def sleepers(token: str) -> list[int]:
    """Return the pids of the programs' ``sleep`` processes (not of shells around them)."""
    return [
        pid
        for pid, argv in command_lines().items()
        if argv and Path(argv[0]).name == "sleep" and argv[-1].endswith(f".{token}")
    ]


def runserver_scenario(workdir: Path) -> Scenario:
    port = free_port()
    address = f"127.0.0.1:{port}"
    programs = {"web": f"{{python}} manage.py runserver {address} --noreload {{peer}}"}

    def serving() -> bool:
        return http_get(port) is not None

    return write_scenario(workdir, "runserver", programs, serving, SERVING, address)


def processes_below(process: subprocess.Popen[str], marker: str) -> set[ProcessId]:
    """Return everything ``process`` started, and the programs by ``marker``."""
    marked = {pid for pid, argv in command_lines().items() if marker in " ".join(argv)}
    return {ProcessId.of(pid) for pid in {*descendants(process.pid), *marked}}


def run_once(scenario: Scenario, launcher: str, settle: float) -> tuple[float, float]:
    """Launch, wait until ready, stop; return the seconds each took."""
    started = time.perf_counter()
    process = start(scenario.project, scenario.commands[launcher])
    below: set[ProcessId] = set()

    def ready() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"bench: {launcher} exited early (status {process.returncode})")
        return scenario.ready()

    try:
        wait_until(ready, f"{launcher}'s {scenario.name} to start")
        launch = time.perf_counter() - started
        time.sleep(settle)
        below = processes_below(process, scenario.marker)
        left = set(below)

        def gone() -> bool:
            left.difference_update([p for p in left if not p.is_alive()])
            return process.poll() is not None and not left

        stopped = time.perf_counter()
        if launcher == CTRL_C:
            os.killpg(process.pid, signal.SIGINT)
        else:
            os.kill(process.pid, signal.SIGTERM)
        try:
            wait_until(gone, f"{launcher}'s {scenario.name} to stop", timeout=STOP_TIMEOUT)
        except SystemExit as exc:
            lines = command_lines()
            still = [" ".join(lines.get(p.pid, [str(p.pid)])) for p in left]
            raise SystemExit(f"{exc}; still running: {still or [process.args]}") from None
        return launch, time.perf_counter() - stopped
    finally:
        stop_session(process)
        # A peer may exit without stopping its children (honcho does, when
        # stopped before it has noted their pids): they must not outlive the bench.
        kill_all(below | processes_below(process, scenario.marker))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="launches per launcher (5)")
    parser.add_argument(
        "--programs", default="1,10,50", help="comma-separated program counts (1,10,50)"
    )
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds between ready and stop (2)"
    )
    parser.add_argument("--no-runserver", action="store_true", help="skip the runserver program")
    args = parser.parse_args()
    counts = [int(count) for count in args.programs.split(",")]
    token = f"{os.getpid()}{secrets.randbelow(10**6):06d}"  # digits: part of sleep's argument

    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    try:
        scenarios = [trivial_scenario(workdir, count, token) for count in counts]
        if not args.no_runserver:
            scenarios.append(runserver_scenario(workdir))
        times: dict[tuple[str, str], dict[str, list[float]]] = {}
        for turn in range(args.runs):
            for scenario in scenarios:
                for launcher in rotated(list(scenario.commands), turn):
                    launch, stop = run_once(scenario, launcher, args.settle)
                    if launcher == CTRL_C:
                        measures = [(STOP_CTRL_C, "djsupervisor", stop)]
                    else:
                        measures = [(scenario.ready_measure, launcher, launch)]
                        measures.append((STOP, launcher, stop))
                    for measure, column, seconds in measures:
                        samples = times.setdefault((scenario.name, measure), {})
                        samples.setdefault(column, []).append(seconds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print_table(
        f"Start and stop programs (medians of {args.runs})",
        ["scenario", "measure", *LAUNCHERS, "ours/raw", "ours/honcho", "target"],
        [table_row(scenario, measure, t) for (scenario, measure), t in times.items()],
    )
    print(
        "\nstop: SIGTERM to the launcher's pid alone; Ctrl-C: SIGINT to its process group. "
        "Timed until the launcher and every process below it have exited."
    )


TARGETS = {
    ("10 programs", STOP): "<= 2x honcho, >= 5x faster than raw",
    ("50 programs", STOP): "< 1 s",
    ("runserver", SERVING): "<= 1.6x honcho",
}


def table_row(scenario: str, measure: str, times: dict[str, list[float]]) -> list[str]:
    medians = {launcher: median(t) for launcher, t in times.items()}
    ours = medians["djsupervisor"]
    ratios = [
        f"{ours / medians[other]:.2f}x" if other in medians else "-"
        for other in ("raw supervisord", "honcho")
    ]
    cells = [f"{medians[name]:.3f} s" if name in medians else "-" for name in LAUNCHERS]
    return [scenario, measure, *cells, *ratios, TARGETS.get((scenario, measure), "-")]


if __name__ == "__main__":
    main()
