"""Run an ``every 1s`` job 1,000 times: overlaps, missed runs, start delay; vs a shell loop.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python bench/schedule.py

A project's supervisord (``manage.py supervisor --daemonize --noreload``)
runs a program with ``schedule=every 1s`` whose job writes the time
(``date +%s.%N``) to one file when it starts, sleeps ``--job-seconds``
(0.3) and writes the time to another when it ends. Its due times are read
from ``manage.py supervisor status --json`` (``schedule.next``, before the
first run), and ``--runs`` (1,000) of them are measured, which takes as many
seconds. For each: the start delay (the job's first stamp minus its due
time), whether it ran, or else whether its skip was counted
(``schedule.skipped``). An overlap is a run that starts before the previous
one has ended; a missed due time has neither a run nor a counted skip.

In the same run, at the same time, the way it is done without djsupervisor:
the same job under raw supervisord (``python -m supervisor.supervisord -c
FILE``) as a program that loops, ``while true; do JOB; sleep 1; done``. It
has no due times: its Nth run is compared with an exact 1 s grid from its
first, and falls behind by the job's time at each run. (cron cannot run a
job more often than once a minute.)

Then a job longer than its period: ``--slow-seconds`` (2.5) every 1s, for
``--slow-dues`` (10) due times, under a supervisord of its own: the due
times that find the last run still going must be counted as skipped, never
run on top of it.

Pass small sizes for a quick smoke run, e.g. ``--runs 3 --slow-dues 4``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import (
    TIMEOUT,
    getconfig,
    kill_all,
    make_project,
    manage,
    median,
    print_table,
    start,
    wait_until,
)
from restart import supervised_pids
from startstop import RAW_PROGRAM, RAW_SUPERVISORD

PERIOD = 1.0  # seconds: the schedule measured, every 1s
SCHEDULE = "every 1s"
DELAY_TARGET = 0.250  # seconds: the start delay's p99 at most
# A start this long before a due time still answers it (the timer may fire
# a millisecond early); later starts answer the due time before them.
EARLY = 0.050  # seconds
SETTLE = 0.2  # seconds after the last due time before its run, or skip, is read
FLOOR_RUNS = 20  # starts of the job from this process, to time its own start
# supervisord expands %(name)s in a command: its config says %% for date's %.
STAMP = "date +%%s.%%N >> {path}"  # the time, to the nanosecond, as a line of ``path``
OURS = """
[program:{name}]
command={command}
schedule={schedule}
"""
OURS_NAME = f"djsupervisor, {SCHEDULE}"
PEER_NAME = "raw supervisord, loop + sleep 1"
TARGET = f"0 overlaps, 0 missed, p99 <= {DELAY_TARGET * 1000:g} ms"
SLOW_TARGET = "0 overlaps, 0 missed"


@dataclass
class Stamps:
    """When each run of a job started and ended (time.time(), in order)."""

    starts: list[float]
    ends: list[float]

    @classmethod
    def read(cls, directory: Path) -> Stamps:
        return cls(_stamps(directory / "starts"), _stamps(directory / "ends"))


def _stamps(path: Path) -> list[float]:
    """Return the whole lines of ``path`` as numbers (a line being written is left out)."""
    if not path.exists():
        return []
    return sorted(float(line) for line in path.read_text().split("\n")[:-1])


def job(directory: Path, seconds: float) -> str:
    """Return the job's command: a stamp in ``directory``/starts, its work, one in ends."""
    starts, ends = (STAMP.format(path=directory / name) for name in ("starts", "ends"))
    return f"sh -c '{starts}; sleep {seconds:g}; {ends}'"


def loop(directory: Path, seconds: float) -> str:
    """Return the job as people run it every second without a scheduler: in a shell loop."""
    starts, ends = (STAMP.format(path=directory / name) for name in ("starts", "ends"))
    return f"sh -c 'while true; do {starts}; sleep {seconds:g}; {ends}; sleep 1; done'"


@dataclass
class Schedule:
    """What ``status --json`` says of a scheduled process."""

    next: float  # its next due time, time.time()
    runs: int
    skipped: int


def schedule_of(project: Path, name: str) -> Schedule:
    # Not checked: status exits 3, as supervisorctl does, while a process is not running.
    done = manage(project, "supervisor", "status", "--json", check=False)
    try:
        processes: list[dict[str, Any]] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"bench: status --json: {done.stdout}{done.stderr}") from None
    found = next(p["schedule"] for p in processes if p["name"] == name)
    if found is None:
        raise SystemExit(f"bench: status --json shows no schedule for {name}:\n{done.stdout}")
    return Schedule(found["next"], found["runs"], found["skipped"])


@dataclass
class Measured:
    """A scheduled job measured over ``dues`` due times from ``first``."""

    first: float  # the first due time measured
    dues: int
    stamps: Stamps
    skipped: int  # skips counted from the first due time on


@contextlib.contextmanager
def supervised(project: Path) -> Iterator[None]:
    """Run the project's supervisord for the block; shut it down and kill what is left."""
    pidfile = Path(getconfig(project)["supervisord"]["pidfile"])
    try:
        manage(project, "supervisor", "--daemonize", "--noreload")
        yield
    finally:
        if pidfile.exists():
            below = supervised_pids(pidfile)
            manage(project, "supervisor", "shutdown", check=False)
            kill_all(below)


def measure_ours(project: Path, name: str, stamps: Path, dues: int) -> Measured:
    """Read the due times from status --json, wait for ``dues`` of them, read the skips."""
    before = schedule_of(project, name)
    first = before.next
    sleep_until(first + (dues - 1) * PERIOD + SETTLE)
    after = schedule_of(project, name)
    return Measured(first, dues, Stamps.read(stamps), after.skipped - before.skipped)


def sleep_until(when: float) -> None:
    time.sleep(max(0.0, when - time.time()))


@contextlib.contextmanager
def raw_supervisord(workdir: Path, seconds: float) -> Iterator[Path]:
    """Run the job as a shell loop under raw supervisord for the block; yield its stamps' folder."""
    raw = workdir / "raw"
    raw.mkdir()
    conf = raw / "supervisord.conf"
    program = RAW_PROGRAM.format(name="tick", command=loop(raw, seconds), project=raw)
    conf.write_text(RAW_SUPERVISORD.format(dir=raw) + program)
    pidfile = raw / "supervisord.pid"
    try:
        # supervisord forks into the background and the command returns.
        launcher = start(raw, [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)])
        if launcher.wait(TIMEOUT) != 0:
            raise SystemExit(f"bench: raw supervisord exited with status {launcher.returncode}")
        yield raw
    finally:
        if pidfile.exists():
            below = supervised_pids(pidfile)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
            with contextlib.suppress(SystemExit):
                wait_until(lambda: not any(p.is_alive() for p in below), "raw supervisord to stop")
            kill_all(below)


def overlaps(stamps: Stamps, until: float) -> int:
    """Count the runs that started before ``until`` while another had not ended."""
    events = sorted([(t, 1) for t in stamps.starts] + [(t, -1) for t in stamps.ends])
    going = counted = 0
    for when, step in events:
        if step == 1 and when < until and going > 0:
            counted += 1
        going = max(0, going + step)  # an end whose start came before the files: none
    return counted


@dataclass
class Row:
    """One line of the table."""

    name: str
    dues: int
    runs: int
    skipped: int | None  # None: the contestant does not skip
    overlaps: int
    missed: int
    delays: list[float]  # seconds, each run's start after its due time
    target: str

    def met(self) -> str:
        if not self.target:
            return ""
        ok = self.overlaps == 0 and self.missed == 0
        if self.target == TARGET:
            ok = ok and bool(self.delays) and percentile(self.delays, 99) <= DELAY_TARGET
        return "MET" if ok else "NOT MET"

    def cells(self) -> list[str]:
        return [
            self.name,
            str(self.dues),
            str(self.runs),
            "-" if self.skipped is None else str(self.skipped),
            str(self.overlaps),
            str(self.missed),
            seconds(self.delays, 50),
            seconds(self.delays, 99),
            seconds(self.delays, 100),
            self.target or "-",
            self.met(),
        ]


def ours_row(name: str, measured: Measured, target: str) -> tuple[Row, int]:
    """Return the table's row for a djsupervisor job, and the due times run more than once.

    Each start answers the due time at or before it (EARLY allowing).
    """
    first, dues = measured.first, measured.dues
    end = first + dues * PERIOD - EARLY
    answered: dict[int, list[float]] = {}
    for start_ in measured.stamps.starts:
        if first - EARLY <= start_ < end:
            k = math.floor((start_ - first + EARLY) / PERIOD)
            answered.setdefault(k, []).append(start_ - (first + k * PERIOD))
    not_run = dues - len(answered)
    row = Row(
        name,
        dues,
        sum(len(delays) for delays in answered.values()),
        measured.skipped,
        overlaps(measured.stamps, end),
        max(0, not_run - measured.skipped),
        [delays[0] for delays in answered.values()],
        target,
    )
    return row, sum(len(delays) - 1 for delays in answered.values())


def peer_row(stamps: Stamps, dues: int) -> Row:
    """Return the shell loop's row: its Nth run against the Nth second from its first."""
    first = stamps.starts[0]
    end = first + dues * PERIOD - EARLY
    runs = [start_ for start_ in stamps.starts if start_ < end]
    delays = [start_ - (first + n * PERIOD) for n, start_ in enumerate(runs)]
    missed = dues - len(runs)  # a loop has no due times to skip: each second not run is missed
    return Row(PEER_NAME, dues, len(runs), None, overlaps(stamps, end), missed, delays, "")


def percentile(values: list[float], percent: float) -> float:
    """Return the nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def seconds(values: list[float], percent: float) -> str:
    if not values:
        return "-"
    value = percentile(values, percent)
    return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.1f} s"


def job_start_floor(workdir: Path) -> list[float]:
    """Start the job's first stamp FLOOR_RUNS times from here; return the seconds until each."""
    floor = workdir / "floor"
    floor.mkdir()
    command = STAMP.replace("%%", "%").format(path=floor / "starts")  # no supervisord to expand
    took = []
    for _ in range(FLOOR_RUNS):
        began = time.time()
        subprocess.run(["sh", "-c", command], check=True, timeout=TIMEOUT)
        took.append(_stamps(floor / "starts")[-1] - began)
    return took


def slow_part(workdir: Path, seconds_: float, dues: int) -> tuple[Row, int]:
    """Measure a job longer than its period, under a supervisord of its own."""
    stamps = workdir / "slow-stamps"
    stamps.mkdir()
    project = make_project(
        workdir / "slow",
        OURS.format(name="slow", command=job(stamps, seconds_), schedule=SCHEDULE),
        settings="DEBUG = False\n",
    )
    with supervised(project):
        measured = measure_ours(project, "slow", stamps, dues)
    return ours_row(f"{OURS_NAME}, {seconds_:g} s job", measured, SLOW_TARGET)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=1000, help="due times measured, 1 s apart (1000)"
    )
    parser.add_argument(
        "--job-seconds", type=float, default=0.3, help="how long the job takes (0.3)"
    )
    parser.add_argument(
        "--slow-seconds", type=float, default=2.5, help="how long the slow job takes (2.5)"
    )
    parser.add_argument(
        "--slow-dues", type=int, default=10, help="due times of the slow job; 0: none (10)"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.slow_dues < 0:
        parser.error("--runs must be positive, --slow-dues not negative")
    if not 0 <= args.job_seconds < PERIOD - SETTLE:
        parser.error(f"--job-seconds must be under {PERIOD - SETTLE:g} (no run may be skipped)")
    if args.slow_seconds <= PERIOD:
        parser.error(f"--slow-seconds must be over the period, {PERIOD:g} s")

    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    try:
        floor = job_start_floor(workdir)
        stamps = workdir / "stamps"
        stamps.mkdir()
        project = make_project(
            workdir / "project",
            OURS.format(name="tick", command=job(stamps, args.job_seconds), schedule=SCHEDULE),
            settings="DEBUG = False\n",
        )
        with raw_supervisord(workdir, args.job_seconds) as raw:
            with supervised(project):
                measured = measure_ours(project, "tick", stamps, args.runs)
            wait_until(lambda: Stamps.read(raw).starts, "the loop under raw supervisord to run")
            sleep_until(Stamps.read(raw).starts[0] + args.runs * PERIOD)
            peer = Stamps.read(raw)
        ours, doubled = ours_row(OURS_NAME, measured, TARGET)
        rows = [ours, peer_row(peer, args.runs)]
        if args.slow_dues:
            slow, slow_doubled = slow_part(workdir, args.slow_seconds, args.slow_dues)
            rows.append(slow)
            doubled += slow_doubled
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print_table(
        f"{args.runs} due times of a {args.job_seconds:g} s job, {SCHEDULE}",
        [
            "contestant",
            "due times",
            "runs",
            "skipped",
            "overlaps",
            "missed",
            "delay p50",
            "delay p99",
            "delay max",
            "target",
            "",
        ],
        [row.cells() for row in rows],
    )
    shell = rows[1]
    pace = (shell.delays[-1] / (len(shell.delays) - 1)) if len(shell.delays) > 1 else 0.0
    print(
        "\nHow supervisord's once-a-second loop is avoided: each run is started by a timer "
        "thread (MainLoop.call_later) that writes to a pipe in supervisord's poll() set at the "
        "due time, so the loop turns then, not at its next once-a-second turn."
    )
    print(
        f"\n{OURS_NAME}: due times from status --json's schedule.next read before the first run, "
        f"{PERIOD:g} s apart; the delay is the job's first stamp (date +%s.%N) minus the due "
        "time it answers; missed: due times with neither a run nor a skip counted in "
        "schedule.skipped; an overlap is a run starting before the one before has ended. "
        f"Starting the job's first stamp from a fork (sh, then date) takes "
        f"{median(floor) * 1000:.1f} ms here (median of {FLOOR_RUNS}), part of every delay."
    )
    print(
        f"\n{PEER_NAME}: `while true; do JOB; sleep 1; done` as one program, at the same time; "
        f"its Nth run against the Nth second from its first. Each run starts {PERIOD + pace:.3f} s "
        f"after the one before (the job's {args.job_seconds:g} s and the loop's own time added "
        f"to the sleep), so its Nth run is N x {pace * 1000:.0f} ms late: "
        f"{shell.runs} runs where {shell.dues} were due, the last {shell.delays[-1]:.1f} s late "
        f"(djsupervisor: {ours.runs} runs, the last "
        f"{ours.delays[-1] * 1000 if ours.delays else math.nan:.1f} ms late). cron cannot "
        "run a job more often than once a minute."
    )
    if doubled:
        print(f"\nDue times run more than once: {doubled}.")


if __name__ == "__main__":
    main()
