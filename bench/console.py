"""The foreground console under load: 200 programs printing 200 lines a second each.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . honcho && .venv/bin/python bench/console.py

``--programs`` programs each print ``--lines`` numbered lines, one every
``--interval`` seconds, all starting together, under ``manage.py supervisor
--noreload`` (foreground) and under ``honcho start``, their output piped to
this script, which reads it as fast as it comes. Measured for each launcher:
how many lines reached the output (and how many were lost), the lines per
second delivered while the programs printed, and the CPU time the launcher
used for it (djsupervisor: the command and its supervisord; honcho: its one
process). The defaults offer 40,000 lines a second for 5 seconds; the
target is at least 20,000 lines a second shown, none lost.

Pass small sizes for a quick smoke run, e.g. ``--programs 5 --lines 20``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import (
    ProcessId,
    children,
    cpu_seconds,
    kill_all,
    make_project,
    print_table,
    project_env,
    wait_until,
)

# Each program waits for the go file, then prints its lines on a fixed
# schedule (so that a slow turn does not lower the rate), then sleeps.
PROGRAM = (
    "import os, sys, time\n"
    "name, lines, interval, go = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]\n"
    "while not os.path.exists(go): time.sleep(0.01)\n"
    "start = time.monotonic()\n"
    "for n in range(lines):\n"
    "    time.sleep(max(0, start + n * interval - time.monotonic()))\n"
    "    print(f'{name} line {n}', flush=True)\n"
    "time.sleep(3600)\n"
)
LINE = re.compile(rb"(p\d+) line (\d+)$")
DRAIN = 10.0  # seconds allowed after the programs are done for the last lines to arrive
TARGET_RATE = 20000  # lines a second shown, none lost (djsupervisor)


@dataclass
class Reader:
    """Count the program lines arriving on a launcher's output, from a thread."""

    stream: object
    received: dict[bytes, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    total: int = 0

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in iter(self.stream.readline, b""):  # type: ignore[attr-defined]
            match = LINE.search(raw.rstrip())
            if match:
                self.total += 1
                self.received[match[1]] = self.received.get(match[1], 0) + 1
            elif b"skipped" in raw or b"overflow" in raw:
                self.notices.append(raw.decode(errors="replace").strip())


def run(launcher: str, command: list[str], project: Path, args: argparse.Namespace) -> list[str]:
    """Run the programs under ``command``; return the table row."""
    go = project / "go"
    go.unlink(missing_ok=True)
    process = subprocess.Popen(
        command,
        cwd=project,
        env=project_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    reader = Reader(process.stdout)
    reader.start()
    expected = args.programs * args.lines
    everything: set[ProcessId] = set()
    try:
        # Every program has started (is waiting for the go file).
        wait_until(lambda: len(waiting(project)) == args.programs, f"{launcher}'s programs")
        everything = {ProcessId.of(pid) for pid in waiting(project)}
        launcher_pids = [process.pid, *children_not_programs(process.pid, project)]
        cpu_before = cpu_seconds(launcher_pids)
        started = time.perf_counter()
        go.touch()
        emitting = args.lines * args.interval
        deadline = started + emitting + DRAIN
        while reader.total < expected and time.perf_counter() < deadline:
            time.sleep(0.05)
        elapsed = max(time.perf_counter() - started, emitting)
        cpu = cpu_seconds(launcher_pids) - cpu_before
    finally:
        os.killpg(process.pid, signal.SIGINT if launcher == "djsupervisor" else signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        kill_all(everything)
    lost = expected - reader.total
    rate = reader.total / elapsed
    notice = reader.notices[0][:60] if reader.notices else "-"
    met = "MET" if not lost and rate >= TARGET_RATE else "NOT MET"
    return [
        launcher,
        f"{reader.total}/{expected}",
        f"{lost} ({100 * lost / expected:.1f} %)",
        f"{rate:,.0f}",
        f"{cpu:.2f} s",
        notice,
        met if launcher == "djsupervisor" else "-",
    ]


def waiting(project: Path) -> list[int]:
    """Return the pids of the programs (python -c PROGRAM ... go-file)."""
    marker = str(project / "go")
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in argv:
                found.append(int(pid))
    return found


def children_not_programs(pid: int, project: Path) -> list[int]:
    """Return the launcher's own helper processes below ``pid`` (supervisord)."""
    programs = set(waiting(project))
    return [child for child in children(pid) if child not in programs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=200, help="programs (200)")
    parser.add_argument("--lines", type=int, default=1000, help="lines per program (1000)")
    parser.add_argument(
        "--interval", type=float, default=0.005, help="seconds between a program's lines (0.005)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    try:
        program = workdir / "talker.py"
        program.write_text(PROGRAM)
        go = workdir / "project" / "go"
        commands = {
            f"p{n}": f"{sys.executable} {program} p{n} {args.lines} {args.interval} {go}"
            for n in range(args.programs)
        }
        project = make_project(
            workdir / "project",
            "".join(f"[program:{name}]\ncommand={c}\n" for name, c in commands.items()),
        )
        (project / "Procfile").write_text("".join(f"{n}: {c}\n" for n, c in commands.items()))
        rows = [
            run(
                "djsupervisor",
                [sys.executable, "manage.py", "supervisor", "--noreload"],
                project,
                args,
            ),
            run(
                "honcho", [sys.executable, "-m", "honcho", "start", "-f", "Procfile"], project, args
            ),
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rate = args.programs / args.interval
    print_table(
        f"Console under load: {args.programs} programs x {args.lines} lines, "
        f"{rate:,.0f} lines/s offered",
        [
            "launcher",
            "lines shown",
            "lost",
            "lines/s shown",
            "launcher CPU",
            "notice",
            f"target >= {TARGET_RATE:,}/s, none lost",
        ],
        rows,
    )
    (djs_rate, djs_cpu), (honcho_rate, honcho_cpu) = (
        (float(row[3].replace(",", "")), float(row[4].split()[0])) for row in rows
    )
    print(
        f"\ndjsupervisor / honcho: lines/s shown {djs_rate / max(honcho_rate, 1):.2f}x, "
        f"launcher CPU {djs_cpu / max(honcho_cpu, 0.01):.2f}x"
    )


if __name__ == "__main__":
    main()
