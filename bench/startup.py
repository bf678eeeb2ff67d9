"""Launch to first HTTP 200 of a runserver program: djsupervisor vs raw supervisord vs honcho.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . honcho && .venv/bin/python bench/startup.py

The runserver scenario of ``startstop.py``: the same project and the same
``runserver --noreload`` command under ``manage.py supervisor`` (foreground),
under ``supervisord -n`` with an equivalent hand-written config, and under
``honcho start`` with an equivalent Procfile; for the last two, the project's
settings leave djsupervisor out, as a project using them would. A fourth
contestant is no launcher at all: ``manage.py help`` (Django starting, as any
command does), then the program itself. A launcher that is a management
command can beat it only by what ``help`` spends printing and exiting. Each
launch is timed from starting the command to the first HTTP 200, then
stopped; the launchers take turns (each going first in turn), ``--runs``
times each.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from benchlib import PEER, median, print_table, rotated
from startstop import LAUNCHERS, run_once, runserver_scenario

FLOOR = "Django twice, nothing between"
TARGETS = {"honcho": 1.6, FLOOR: 1.05}  # djsupervisor's time at most this many times theirs
LABELS = {"raw supervisord": "supervisord -n (raw)", "honcho": "honcho start"}


def met(ratio: float, target: float | None) -> str:
    """Return the target and whether ``ratio`` meets it, or "-" when there is none."""
    if target is None:
        return "-"
    return f"<= {target}x {'MET' if ratio <= target else 'NOT MET'}"


def floor_command(address: str) -> list[str]:
    """Return ``manage.py help`` followed by the runserver program, with no launcher."""
    python = shlex.quote(sys.executable)
    runserver = f"{python} manage.py runserver {address} --noreload {PEER}"
    return ["sh", "-c", f"{python} manage.py help {PEER} > /dev/null && exec {runserver}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="launches per launcher (10)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    try:
        scenario = runserver_scenario(workdir)
        scenario.commands[FLOOR] = floor_command(scenario.marker)
        contestants = (*LAUNCHERS, FLOOR)
        times: dict[str, list[float]] = {launcher: [] for launcher in contestants}
        for turn in range(args.runs):
            for launcher in rotated(contestants, turn):
                launch, _ = run_once(scenario, launcher, settle=0)
                times[launcher].append(launch)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ours = median(times["djsupervisor"])
    print_table(
        f"Launch -> first HTTP 200 of a runserver program (median of {args.runs})",
        ["launcher", "time", "djsupervisor / this", "target"],
        [
            [
                LABELS.get(launcher, launcher),
                f"{median(t):.3f} s",
                f"{ours / median(t):.2f}x",
                met(ours / median(t), TARGETS.get(launcher)),
            ]
            for launcher, t in times.items()
        ],
    )
    floor = median(times[FLOOR]) / median(times["honcho"])
    print(
        "\ndjsupervisor starts Django twice (the command, then the program); raw supervisord "
        "spawns after its first 1 s loop turn when nothing talks to it. Django started twice "
        f"with nothing between takes {floor:.2f}x honcho's time: a launcher that is a "
        "management command can beat that only by what help spends printing and exiting."
    )


if __name__ == "__main__":
    main()
