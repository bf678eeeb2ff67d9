"""djsupervisor's autoreload against Django's runserver reloader, measured in one run.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python bench/autoreload.py

Both sides run the same generated project: djsupervisor as ``manage.py
supervisor`` with a ``runserver --noreload`` program, Django as plain
``manage.py runserver`` (its StatReloader; watchman is not used) with settings
that leave djsupervisor out, as a project without it would be. Measured:

(a) the time from saving a view to the new HTTP response, median of ``--edits``;
(b) CPU and memory of the idle watcher over ``--idle`` seconds, on a project that
    holds a large package tree and imports a large tree of installed packages;
(c) the restarts caused by rewriting ``--burst`` .py files at once.

Pass small sizes for a quick smoke run, e.g.
``--edits 2 --idle 1 --burst 20 --tree 3 --settle 0.5``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    CLOCK_TICKS,
    PEER,
    children,
    cpu_seconds,
    free_port,
    getconfig,
    http_get,
    make_project,
    manage,
    median,
    print_table,
    rss_mb,
    start,
    stop_session,
    wait_until,
    write_view,
)

SEED = 20261123  # fixed, so that runs pause alike between edits
MODULES_PER_PACKAGE = 15
INSTALLED_PER_PACKAGE = 20


@dataclass
class Side:
    """One way of serving the project: how to start it and what to measure."""

    name: str
    project: Path
    port: int
    start: Callable[[], None]
    stop: Callable[[], object]
    watcher_pids: Callable[[], list[int]]  # the processes that do the watching
    restarts: Callable[[], int]  # restarts of the web server so far


def djsupervisor_side(project: Path, port: int) -> Side:
    def supervisor(*args: str) -> str:
        return manage(project, "supervisor", *args).stdout

    def start_it() -> None:
        supervisor("--daemonize")
        wait_until(lambda: "watching " in supervisor("tail", "autoreload"), "autoreload to watch")

    def restarts() -> int:
        logfile = Path(getconfig(project)["supervisord"]["logfile"])
        return logfile.read_text().count("spawned: 'web'") - 1

    return Side(
        name="djsupervisor",
        project=project,
        port=port,
        start=start_it,
        stop=lambda: manage(project, "supervisor", "shutdown"),
        watcher_pids=lambda: [int(supervisor("pid", "autoreload"))],
        restarts=restarts,
    )


def runserver_side(project: Path, port: int) -> Side:
    process = None
    seen: set[int] = set()  # every server process the reloader has started

    def start_it() -> None:
        nonlocal process
        command = [sys.executable, "manage.py", "runserver", PEER, f"127.0.0.1:{port}"]
        process = start(project, command)
        threading.Thread(target=watch_children, daemon=True).start()

    def watch_children() -> None:
        while process and process.poll() is None:
            seen.update(children(process.pid))
            time.sleep(0.02)

    def stop_it() -> None:
        if process:
            stop_session(process)

    def watcher_pids() -> list[int]:
        assert process
        return [process.pid, *children(process.pid)]

    return Side(
        name="runserver",
        project=project,
        port=port,
        start=start_it,
        stop=stop_it,
        watcher_pids=watcher_pids,
        restarts=lambda: len(seen) - 1,
    )


@contextmanager
def running(side: Side) -> Iterator[Side]:
    """Serve ``side`` until the block ends."""
    side.start()
    try:
        wait_until(lambda: http_get(side.port), f"{side.name} to answer")
        yield side
    finally:
        side.stop()


def measure_edits(side: Side, edits: int, rng: random.Random) -> list[float]:
    """Save a new view ``edits`` times; return the seconds until each new answer."""
    times = []
    for n in range(edits):
        # Pause a random while, so edits land at random points of a poll cycle.
        time.sleep(rng.uniform(0.2, 1.2))
        # A new length each time: Python trusts a cached .pyc whose source has
        # the same size and modification second.
        body = f"{side.name} edit {n}" + "!" * n
        write_view(side.project, body)
        answered = lambda body=body: http_get(side.port) == body  # noqa: E731
        times.append(wait_until(answered, f"{side.name}'s answer"))
    return times


def measure_idle(sides: list[Side], seconds: float) -> dict[str, tuple[float, float]]:
    """Return each side's (CPU % of one core, RSS MB) while nothing changes."""
    pids = {side.name: side.watcher_pids() for side in sides}
    before = {name: cpu_seconds(p) for name, p in pids.items()}
    time.sleep(seconds)
    return {
        name: (100 * (cpu_seconds(p) - before[name]) / seconds, rss_mb(p))
        for name, p in pids.items()
    }


def measure_burst(side: Side, files: list[Path], settle: float) -> int:
    """Rewrite ``files`` at once; return the restarts that caused.

    The burst is over once ``settle`` seconds pass without a restart.
    """
    before = side.restarts()
    for path in files:
        path.write_text(path.read_text() + "# rewritten\n")
    last_count, last_change = before, time.monotonic()
    while time.monotonic() - last_change < settle or http_get(side.port) is None:
        if (count := side.restarts()) != last_count:
            last_count, last_change = count, time.monotonic()
        time.sleep(0.05)
    return last_count - before


def write_tree(root: Path, packages: int, modules: int) -> list[str]:
    """Write ``packages`` packages of ``modules`` modules; return their module names."""
    names = []
    for p in range(packages):
        package = root / f"{root.name}_{p}"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        for m in range(modules):
            (package / f"module{m}.py").write_text(f"VALUE = {m}\n")
            names.append(f"{package.name}.module{m}")
    return names


def big_project(path: Path, port: int, args: argparse.Namespace, installed: Path) -> list[Path]:
    """Write a project that holds and imports large trees; return its burst files."""
    make_project(path, WEB.format(port=port))
    imported = [
        *write_tree(path / "tree", args.tree, MODULES_PER_PACKAGE),
        *write_tree(path / "burst", 1, args.burst),
        *(f"{p.parent.name}.{p.stem}" for p in sorted(installed.glob("*/module*.py"))),
    ]
    search_path = [str(path / "tree"), str(path / "burst"), str(installed)]
    # urls.py imports everything, so runserver's reloader watches every file.
    (path / "loadall.py").write_text(
        "import importlib, sys\n"
        f"sys.path[:0] = {search_path!r}\n"
        f"for name in {imported!r}:\n    importlib.import_module(name)\n"
    )
    with (path / "urls.py").open("a") as urls:
        urls.write("import loadall  # noqa\n")
    return sorted((path / "burst").glob("*/module*.py"))


def time_edits(workdir: Path, edits: int) -> dict[str, float]:
    """Return each side's median time from saving a view to the new answer."""
    rng = random.Random(SEED)
    medians = {}
    for make_side in (djsupervisor_side, runserver_side):
        port = free_port()
        # A small project: the time measured is the reloader's, not imports'.
        project = make_project(workdir / f"small-{make_side.__name__}", WEB.format(port=port))
        with running(make_side(project, port)) as side:
            medians[side.name] = median(measure_edits(side, edits, rng))
    return medians


def measure_big(
    workdir: Path, args: argparse.Namespace
) -> tuple[dict[str, tuple[float, float]], dict[str, int]]:
    """Return idle (CPU %, RSS MB) and burst restarts per side, both sides running."""
    installed = workdir / "site-packages" / "lib"
    write_tree(installed, args.tree, INSTALLED_PER_PACKAGE)
    burst_files = {}
    with ExitStack() as stack:
        sides = []
        for make_side in (djsupervisor_side, runserver_side):
            port = free_port()
            project = workdir / f"big-{make_side.__name__}"
            burst_files[project] = big_project(project, port, args, installed)
            sides.append(stack.enter_context(running(make_side(project, port))))
        idle = measure_idle(sides, args.idle)
        restarts = {
            side.name: measure_burst(side, burst_files[side.project], args.settle) for side in sides
        }
    return idle, restarts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=11, help="edits to time (default 11)")
    parser.add_argument("--idle", type=float, default=30, help="seconds of idle measure (30)")
    parser.add_argument("--burst", type=int, default=500, help="files rewritten at once (500)")
    parser.add_argument(
        "--tree", type=int, default=200, help="packages in the project and installed (200)"
    )
    parser.add_argument(
        "--settle", type=float, default=3, help="seconds without restart that end a burst (3)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    try:
        edit_times = time_edits(workdir, args.edits)
        idle, restarts = measure_big(workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    ours, theirs = "djsupervisor", "runserver"
    files = args.tree * (MODULES_PER_PACKAGE + INSTALLED_PER_PACKAGE) + args.burst
    print_table(
        "Autoreload: djsupervisor vs Django's runserver reloader (same run, same project)",
        ["measure", ours, theirs, "ratio", "target"],
        [
            [
                f"edit -> new HTTP answer, median of {args.edits}",
                f"{edit_times[ours]:.3f} s",
                f"{edit_times[theirs]:.3f} s",
                f"{edit_times[ours] / edit_times[theirs]:.2f}x",
                "<= 0.5x",
            ],
            [
                f"idle watcher CPU over {args.idle:g} s ({files} files)",
                f"{idle[ours][0]:.3f} %",
                f"{idle[theirs][0]:.3f} %",
                f"{idle[ours][0] / idle[theirs][0]:.3f}x" if idle[theirs][0] else "-",
                "< 0.5 % and <= 0.2x",
            ],
            [
                "idle watcher RSS",
                f"{idle[ours][1]:.0f} MB",
                f"{idle[theirs][1]:.0f} MB",
                f"{idle[ours][1] / idle[theirs][1]:.2f}x",
                "-",
            ],
            [
                f"restarts after rewriting {args.burst} files",
                str(restarts[ours]),
                str(restarts[theirs]),
                "-",
                "exactly 1",
            ],
        ],
    )
    tick = 100 / CLOCK_TICKS / args.idle
    print(
        f"\nWatcher: {ours}'s autoreload program; {theirs}'s reloader and server processes "
        f"(its server thread idles at 0 CPU).\nCPU time is counted in ticks of "
        f"1/{CLOCK_TICKS} s: over {args.idle:g} s the resolution is {tick:.3f} %."
    )


WEB = """
[program:web]
command={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{port}
"""

if __name__ == "__main__":
    main()
