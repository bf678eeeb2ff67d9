"""``top`` with 200 programs: its redraw time and its own CPU; and ``status --json`` vs ``status``.

From a fresh clone (tmux installed)::

    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python bench/top.py

A project's supervisord runs ``--programs`` programs (200), ``--talkers`` of
them (50) printing 20 lines a second. Three figures:

* a redraw: what ``top`` does each refresh without curses (every process's
  state from supervisord, the journal read on, every process group's usage
  from /proc, the table laid out), timed ``--redraws`` times, a second apart
  as ``top`` refreshes, in this process;
* the view's own CPU: ``manage.py supervisor top`` runs in a tmux session
  for ``--seconds``; its CPU time (from /proc) over that time, as a share of
  one core;
* ``manage.py supervisor status --json`` against ``status``, taking turns.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (
    make_project,
    manage,
    median,
    print_table,
    project_env,
    time_in_turns,
    wait_until,
)

TALKER = (
    '[program:talker{n}]\ncommand={{{{ PYTHON }}}} -c "import itertools, time; '
    "[(print('line', n, flush=True), time.sleep(0.05)) for n in itertools.count()]\"\n"
)
IDLE = "[program:idle{n}]\ncommand=sleep 1000\n"
REDRAW_TARGET = 0.050  # seconds, p95
CPU_TARGET = 5.0  # percent of one core
JSON_TARGET = 1.1  # status --json's time at most this many times status's


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def redraw_times(project: Path, redraws: int) -> list[float]:
    """Time ``top``'s refresh without curses, in this process, against the project's supervisord."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings"  # the project's, whatever ran the bench
    sys.path.insert(0, str(project))
    os.chdir(project)
    import django

    django.setup()
    from djsupervisor.conf import conf
    from djsupervisor.control.connection import find_running
    from djsupervisor.runtime import RuntimeDir
    from djsupervisor.terminal.top import REFRESH, Watch, lay_out

    runtime = RuntimeDir.for_project(project, conf.SUPERVISOR_RUNTIME_DIR)
    watch = Watch(find_running(runtime).client, runtime.journal)
    watch.look()  # the first read takes the journal from its start
    times = []
    for _ in range(redraws):
        started = time.perf_counter()
        lay_out(watch.look(), time.time(), 200)
        times.append(time.perf_counter() - started)
        time.sleep(REFRESH)  # as top waits: the journal has a second of lines to read each time
    return times


def view_cpu(project: Path, seconds: float) -> float:
    """Run ``top`` in tmux for ``seconds``; return its CPU use, in percent of one core."""
    # A tmux server of its own (no configuration file): the user's shell and settings stay out.
    server = ["tmux", "-L", f"djs-bench-top-{os.getpid()}", "-f", "/dev/null"]
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in project_env().items() if k != "TERM")
    top = f"{shlex.quote(sys.executable)} manage.py supervisor top"
    # exec: the pane's process is top itself, whatever shell runs the line; env -i: the
    # project's environment only (tmux would add its server's), with the pane's terminal.
    command = f'cd {shlex.quote(str(project))} && exec env -i TERM="$TERM" {env} {top}'
    subprocess.run(
        [*server, "new-session", "-d", "-x", "200", "-y", "60", "sh", "-c", command], check=True
    )
    try:
        pane = subprocess.run(
            [*server, "list-panes", "-F", "#{pane_pid}"], capture_output=True, text=True, check=True
        )
        pid = int(pane.stdout.split()[0])
        command_line = Path(f"/proc/{pid}/cmdline")
        wait_until(lambda: command_line.read_bytes().endswith(b"\0top\0"), "top to start")
        time.sleep(3)  # past its start and its first read of the journal

        def ticks() -> int:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            return int(fields[11]) + int(fields[12])

        before, began = ticks(), time.monotonic()
        time.sleep(seconds)
        used = (ticks() - before) / os.sysconf("SC_CLK_TCK")
        return 100 * used / (time.monotonic() - began)
    finally:
        subprocess.run([*server, "kill-server"], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=200, help="programs (200)")
    parser.add_argument("--talkers", type=int, default=50, help="of them printing 20 lines/s (50)")
    parser.add_argument("--redraws", type=int, default=40, help="refreshes timed, 1 s apart (40)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds top runs in tmux (20)")
    parser.add_argument(
        "--runs", type=int, default=10, help="runs of status and status --json (10)"
    )
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("bench/top.py skipped: tmux is not installed (apt-get install tmux)")
        return
    programs = "".join(TALKER.format(n=n) for n in range(args.talkers))
    programs += "".join(IDLE.format(n=n) for n in range(args.programs - args.talkers))
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    project = make_project(workdir / "project", programs, settings="DEBUG = False\n")
    try:
        manage(project, "supervisor", "--daemonize")
        cpu = view_cpu(project, args.seconds)
        commands = {
            "status --json": [sys.executable, "manage.py", "supervisor", "status", "--json"],
            "status": [sys.executable, "manage.py", "supervisor", "status"],
        }
        times = time_in_turns(commands, project, args.runs)
        redraws = redraw_times(project, args.redraws)
    finally:
        manage(project, "supervisor", "shutdown", check=False)
        shutil.rmtree(workdir, ignore_errors=True)

    p95 = percentile(redraws, 95)
    as_json, plain = median(times["status --json"]), median(times["status"])
    json_ratio = as_json / plain

    def met(ok: bool) -> str:
        return "MET" if ok else "NOT MET"

    print_table(
        f"top with {args.programs} programs, {args.talkers} printing 20 lines/s",
        ["figure", "value", "target", ""],
        [
            [
                "redraw, p95",
                f"{1000 * p95:.1f} ms",
                f"<= {1000 * REDRAW_TARGET:.0f} ms",
                met(p95 <= REDRAW_TARGET),
            ],
            ["redraw, median", f"{1000 * median(redraws):.1f} ms", "-", ""],
            [
                "the view's CPU",
                f"{cpu:.1f} % of a core",
                f"<= {CPU_TARGET:.0f} %",
                met(cpu <= CPU_TARGET),
            ],
            [
                "status --json / status",
                f"{json_ratio:.2f}x ({as_json:.3f} s / {plain:.3f} s)",
                f"<= {JSON_TARGET}x",
                met(json_ratio <= JSON_TARGET),
            ],
        ],
    )


if __name__ == "__main__":
    main()
