"""Scale: 500 programs from 20 app files: build the config, start them, ``status``.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python bench/scale.py

The generated project installs ``--apps`` apps, each shipping a
``management/supervisord.conf`` with ``--programs`` programs. Measured:
rendering and merging them into the final config (in-process, the median of
``--runs`` builds); starting supervisord with all of them; and
``manage.py supervisor status`` against raw ``supervisorctl status`` on the
same supervisord, taking turns.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    TIMEOUT,
    getconfig,
    make_project,
    manage,
    median,
    print_table,
    project_env,
    raw_supervisorctl,
    stop_everything,
    time_in_turns,
    wait_until,
)

PROGRAM = """
[program:{app}_{n}]
command=sleep 1000{n}
startsecs=0
"""
# Enough descriptors for supervisord's ~5 per program.
SUPERVISORD = "[supervisord]\nminfds={minfds}\n"
FDS_PER_PROGRAM = 8

BUILD_TIMER = """
import statistics, sys, time
import django
django.setup()
from djsupervisor.options import Options
from djsupervisor.config.build import build
for check in (False, True):
    times = []
    for _ in range({runs}):
        started = time.perf_counter()
        config = build(Options(noreload=True), check=check)
        times.append(time.perf_counter() - started)
    assert len(config.merged.programs) == {programs}, config.merged.programs
    print(statistics.median(times))
"""


def write_apps(project: Path, apps: int, programs: int) -> list[str]:
    """Write the apps, each with a config file of ``programs`` programs; return their names."""
    names = []
    for a in range(apps):
        app = project / f"app{a}"
        (app / "management").mkdir(parents=True)
        (app / "__init__.py").write_text("")
        conf = "".join(PROGRAM.format(app=app.name, n=n) for n in range(programs))
        (app / "management" / "supervisord.conf").write_text(conf)
        names.append(app.name)
    return names


def running(project: Path) -> int:
    status = manage(project, "supervisor", "--noreload", "status", check=False).stdout
    return status.count(" RUNNING ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=20, help="apps with a config file (20)")
    parser.add_argument("--programs", type=int, default=25, help="programs per app (25)")
    parser.add_argument("--runs", type=int, default=10, help="runs of each measure (10)")
    args = parser.parse_args()
    total = args.apps * args.programs
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    project = make_project(
        workdir / "project", SUPERVISORD.format(minfds=1024 + FDS_PER_PROGRAM * total)
    )
    apps = write_apps(project, args.apps, args.programs)
    with (project / "settings.py").open("a") as settings:
        settings.write(f"INSTALLED_APPS += {apps!r}\n")
    supervisord = None
    try:
        script = BUILD_TIMER.format(runs=args.runs, programs=total)
        merge_time, checked_time = map(float, manage_python(project, script).split())

        started = time.perf_counter()
        manage(project, "supervisor", "--noreload", "--daemonize")
        supervisord = int(Path(getconfig(project)["supervisord"]["pidfile"]).read_text())
        wait_until(lambda: running(project) == total, f"{total} programs to run", timeout=600)
        start_time = time.perf_counter() - started

        commands = {
            "ours": [sys.executable, "manage.py", "supervisor", "--noreload", "status"],
            "raw": [*raw_supervisorctl(project), "status"],
        }
        times = time_in_turns(commands, project, args.runs)
    finally:
        stop_everything(project, supervisord)
        shutil.rmtree(workdir, ignore_errors=True)

    ours, raw = median(times["ours"]), median(times["raw"])
    print_table(
        f"Scale: {total} programs in {args.apps} app files (medians of {args.runs})",
        ["measure", "djsupervisor", "raw supervisor", "ratio", "target"],
        [
            ["render and merge the config", f"{merge_time * 1000:.0f} ms", "-", "-", "< 100 ms"],
            ["... then check it (supervisor)", f"{checked_time * 1000:.0f} ms", "-", "-", "-"],
            [f"start until all {total} RUNNING", f"{start_time:.2f} s", "-", "-", "-"],
            ["status", f"{ours:.3f} s", f"{raw:.3f} s", f"{ours / raw:.2f}x", "<= 1.2x"],
        ],
    )


def manage_python(project: Path, script: str) -> str:
    """Run ``script`` with the project's settings; return its output."""
    env = project_env() | {"DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": str(project)}
    env["PYTHONPATH"] += os.pathsep + project_env()["PYTHONPATH"]
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return done.stdout


if __name__ == "__main__":
    main()
