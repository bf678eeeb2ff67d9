"""Launch to first HTTP 200 of a runserver program: djsupervisor vs raw supervisord vs honcho.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . honcho && .venv/bin/python bench/startup.py

The same project and the same ``runserver --noreload`` command run under
``manage.py supervisor`` (foreground), under ``supervisord -n`` with an
equivalent hand-written config, and under ``honcho start`` with an equivalent
Procfile; for the last two, the project's settings leave djsupervisor out, as
a project using them would. Each launch is timed from starting the command to
the first HTTP 200, then stopped; the launchers take turns, ``--runs`` times
each.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    PEER,
    descendants,
    free_port,
    http_get,
    kill_leftovers,
    make_project,
    median,
    print_table,
    start,
    stop_session,
    wait_until,
)

WEB = """
[program:web]
command={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{port}
"""

RAW_CONF = """
[supervisord]
nodaemon=true
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid

[unix_http_server]
file={dir}/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[program:web]
command={python} manage.py runserver --noreload {peer} 127.0.0.1:{port}
directory={project}
"""


def launchers(project: Path, port: int, workdir: Path) -> dict[str, list[str]]:
    """Return the command line of each launcher, all serving the project on ``port``."""
    raw_dir = workdir / "raw"
    raw_dir.mkdir()
    raw_conf = raw_dir / "supervisord.conf"
    raw_conf.write_text(
        RAW_CONF.format(dir=raw_dir, python=sys.executable, port=port, project=project, peer=PEER)
    )
    (project / "Procfile").write_text(
        f"web: {sys.executable} manage.py runserver --noreload {PEER} 127.0.0.1:{port}\n"
    )
    return {
        "djsupervisor": [sys.executable, "manage.py", "supervisor", "--noreload"],
        "supervisord": [sys.executable, "-m", "supervisor.supervisord", "-n", "-c", str(raw_conf)],
        "honcho": [sys.executable, "-m", "honcho", "start"],
    }


def time_launch(command: list[str], project: Path, port: int) -> float:
    """Return the seconds from launching ``command`` to the first HTTP 200; stop it again."""
    started = time.perf_counter()
    process = start(project, command)
    try:
        wait_until(lambda: http_get(port) is not None, f"{command[2]} to serve")
        return time.perf_counter() - started
    finally:
        below = descendants(process.pid)
        stop_session(process)
        kill_leftovers(below)
        wait_until(lambda: http_get(port) is None, "the port to be free")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="launches per launcher (10)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    try:
        port = free_port()
        project = make_project(workdir / "project", WEB.format(port=port))
        commands = launchers(project, port, workdir)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(time_launch(command, project, port))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ours = median(times["djsupervisor"])
    rows = [
        [name, f"{median(t):.3f} s", f"{ours / median(t):.2f}x", target]
        for name, t, target in (
            ("djsupervisor", times["djsupervisor"], "-"),
            ("supervisord -n (raw)", times["supervisord"], "-"),
            ("honcho start", times["honcho"], "<= 1.6x"),
        )
    ]
    print_table(
        f"Launch -> first HTTP 200 of a runserver program (median of {args.runs})",
        ["launcher", "time", "djsupervisor / this", "target"],
        rows,
    )
    print(
        "\ndjsupervisor starts Django twice (the command, then the program); raw supervisord "
        "spawns after its first 1 s loop turn when nothing talks to it."
    )


if __name__ == "__main__":
    main()
