"""One-shot latency: ``manage.py supervisor status``, ``manage.py help``, raw supervisorctl.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python bench/control.py

A project's supervisord runs in the background with a few programs. Then, taking
turns, ``--runs`` times each: ``manage.py help`` (what any Django command costs:
Python, Django, the settings and apps), ``manage.py supervisor status``, and
``supervisorctl status`` run directly against the same supervisord.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from benchlib import make_project, manage, median, print_table, raw_supervisorctl, time_in_turns

PROGRAMS = """
[program:web]
command=sleep 1000

[program:worker]
command=sleep 1000

[program:beat]
command=sleep 1000
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per command (20)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    project = make_project(workdir / "project", PROGRAMS)
    try:
        manage(project, "supervisor", "--daemonize")
        commands = {
            "manage.py supervisor status": [sys.executable, "manage.py", "supervisor", "status"],
            "manage.py help": [sys.executable, "manage.py", "help"],
            "supervisorctl status (raw)": [*raw_supervisorctl(project), "status"],
        }
        times = time_in_turns(commands, project, args.runs)
    finally:
        manage(project, "supervisor", "shutdown", check=False)
        shutil.rmtree(workdir, ignore_errors=True)

    ours = median(times["manage.py supervisor status"])
    targets = {"manage.py help": "<= 1.15x"}
    print_table(
        f"One-shot command latency (median of {args.runs})",
        ["command", "time", "status / this", "target"],
        [
            [name, f"{median(t):.3f} s", f"{ours / median(t):.2f}x", targets.get(name, "-")]
            for name, t in times.items()
        ],
    )


if __name__ == "__main__":
    main()
