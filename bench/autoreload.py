"""djsupervisor's autoreload against Django's runserver reloader, measured in one run.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python bench/autoreload.py

Both sides run the same generated project: djsupervisor as ``manage.py
supervisor`` with a ``runserver --noreload`` program, Django as plain
``manage.py runserver`` (its StatReloader; watchman is not used) with settings
that leave djsupervisor out, as a project without it would be. Measured:

(a) the time from saving a view to the new HTTP response, median of ``--edits``;
    and the same under djsupervisor for the chain ``db`` (a TCP server with
    ``ready=tcp``, ``autoreload=false``) -> ``migrate`` (``manage.py migrate``,
    ``oneshot``, rerun only on migrations) -> ``web`` (``runserver --noreload``,
    ``ready=http``) -> ``worker`` (a Python loop), where a code change stops
    ``worker``, then restarts ``web``, then starts ``worker`` again. Each of
    its restarts is checked (the order in supervisord's log, every program
    back up): a broken chain ends the bench with an error, not a figure;
(b) CPU and memory of the idle watcher over ``--idle`` seconds, on a project that
    holds a large package tree and imports a large tree of installed packages;
(c) the restarts caused by rewriting ``--burst`` .py files at once.

Pass small sizes for a quick smoke run, e.g.
``--edits 2 --idle 1 --burst 20 --tree 3 --settle 0.5``.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from benchlib import (
    CLOCK_TICKS,
    DB,
    PEER,
    TIMEOUT,
    children,
    cpu_seconds,
    free_port,
    getconfig,
    http_get,
    make_project,
    manage,
    median,
    print_table,
    read_log,
    rss_mb,
    start,
    stop_session,
    wait_until,
    write_view,
)

SEED = 20261123  # fixed, so that runs pause alike between edits
MODULES_PER_PACKAGE = 15
INSTALLED_PER_PACKAGE = 20
# What the chain must be, edit after edit: the ratios to the other two figures.
CHAIN_TARGETS = {"djsupervisor": 1.2, "runserver": 0.5}


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
    # Check the restart an edit saved at this time.time() caused; return when
    # each of its steps happened, in seconds after the save. Fails the bench
    # (SystemExit) if the restart went wrong.
    check_restart: Callable[[float], dict[str, float]] = lambda saved: {}
    steps: list[dict[str, float]] = field(default_factory=list)  # check_restart's, per edit


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
        saved = time.time()
        write_view(side.project, body)
        answered = lambda body=body: http_get(side.port) == body  # noqa: E731
        times.append(wait_until(answered, f"{side.name}'s answer"))
        steps = side.check_restart(saved)
        if steps:
            side.steps.append({**steps, "new body": times[-1]})
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


def time_edits(workdir: Path, edits: int) -> tuple[dict[str, float], list[dict[str, float]]]:
    """Return each side's median time from saving a view to the new answer.

    Also return the chain's restarts, step by step (see chain_side).
    """
    rng = random.Random(SEED)
    medians = {}
    for make_side in (djsupervisor_side, runserver_side):
        port = free_port()
        # A small project: the time measured is the reloader's, not imports'.
        project = make_project(workdir / f"small-{make_side.__name__}", WEB.format(port=port))
        with running(make_side(project, port)) as side:
            medians[side.name] = median(measure_edits(side, edits, rng))
    with running(chain_side(workdir / "chain")) as side:
        medians[side.name] = median(measure_edits(side, edits, rng))
    return medians, side.steps


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


def chain_side(path: Path) -> Side:
    """Serve the chain db -> migrate -> web -> worker under djsupervisor."""
    db, port = free_port(), free_port()
    project = make_project(path, CHAIN.format(db=db, port=port), settings=CHAIN_SETTINGS)
    (project / "db.py").write_text(DB)
    (project / "worker.py").write_text(WORKER)
    logfile = Path(getconfig(project)["supervisord"]["logfile"])
    offset = 0  # where the log stood when the edit was saved

    def start_it() -> None:
        nonlocal offset
        base.start()
        check_states(project, logfile, settled=True)
        offset = logfile.stat().st_size

    def check_restart(saved: float) -> dict[str, float]:
        nonlocal offset
        deadline = time.monotonic() + TIMEOUT
        while not check_states(project, logfile, settled=time.monotonic() > deadline):
            time.sleep(0.05)
        lines = read_log(logfile, offset)
        offset = logfile.stat().st_size
        return restart_steps(lines, saved, logfile)

    base = djsupervisor_side(project, port)
    return dataclasses.replace(
        base, name="chain", start=start_it, check_restart=check_restart, steps=[]
    )


def check_states(project: Path, logfile: Path, settled: bool = False) -> bool:
    """Tell whether the chain runs whole again: db, web and worker up, migrate done.

    Fail the bench at once if a program has failed or is blocked, and, with
    ``settled``, if the chain is not whole now.
    """
    status = manage(project, "supervisor", "status", check=False).stdout
    lines = {
        line.split()[0]: line.rstrip() for line in status.splitlines() if len(line.split()) > 1
    }
    broken = [
        lines.get(name, f"{name}: not in status")
        for name in WHOLE
        if name not in lines
        or lines[name].split()[1] in ("FATAL", "BACKOFF", "UNKNOWN")
        or (name != "migrate" and lines[name].split()[1] == "EXITED")
        or any(word in lines[name] for word in FAILURES)
    ]
    whole = all(
        name in lines and lines[name].split()[1] == state and lines[name].endswith(ending)
        for name, (state, ending) in WHOLE.items()
    )
    if broken or (settled and not whole):
        fail("a program of the chain is not running", status, logfile)
    return whole


def restart_steps(lines: list[tuple[float, str]], saved: float, logfile: Path) -> dict[str, float]:
    """Check one restart's order in supervisord's log; return each step's time from the save.

    The worker must stop before the web server stops, the web server start
    again and the worker after it; db and migrate must not move.
    """
    found: dict[str, tuple[int, float]] = {}  # step -> (line, seconds after the save)
    for number, (when, message) in enumerate(lines):
        for step, start_of_line in STEPS.items():
            if message.startswith(start_of_line):
                found.setdefault(step, (number, when - saved))
        for name in ("db", "migrate"):
            if message.startswith((f"spawned: '{name}'", f"stopped: {name} ", f"exited: {name} ")):
                fail(f"{name} moved on a view's change: {message!r}", "", logfile)
    shown = ", ".join(f"{step} {seconds:+.3f} s" for step, (_, seconds) in found.items())
    for before, after in ORDER:
        if before not in found or after not in found or found[before][0] > found[after][0]:
            fail(f"the chain did not restart {before} -> {after} (log: {shown})", "", logfile)
    return {step: seconds for step, (_, seconds) in found.items()}


def fail(what: str, status: str, logfile: Path) -> NoReturn:
    """End the bench with ``what``, the status and the end of supervisord's log."""
    tail = "\n".join(logfile.read_text().splitlines()[-30:])
    raise SystemExit(f"bench: {what}\n\n{status}\nsupervisord's log ends:\n{tail}")


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
        edit_times, chain_steps = time_edits(workdir, args.edits)
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
    print_chain(edit_times, chain_steps, args.edits)


def print_chain(edit_times: dict[str, float], steps: list[dict[str, float]], edits: int) -> None:
    """Print the chain's figure beside the other two, and its restarts step by step."""
    chain = edit_times["chain"]
    rows = [["djsupervisor, chain db -> migrate -> web -> worker", f"{chain:.3f} s", "-", "-", "-"]]
    for name, label in (
        ("djsupervisor", "djsupervisor, one runserver program"),
        ("runserver", "Django runserver's reloader (StatReloader)"),
    ):
        ratio, target = chain / edit_times[name], CHAIN_TARGETS[name]
        met = "MET" if ratio <= target else "NOT MET"
        rows.append([label, f"{edit_times[name]:.3f} s", f"{ratio:.2f}x", f"<= {target:g}x", met])
    print_table(
        f"Autoreload through a dependency chain: edit -> new HTTP answer (median of {edits})",
        ["served by", "time", "chain / this", "target", ""],
        rows,
    )
    order = "; ".join(f"{before} before {after}" for before, after in ORDER)
    print(
        f"\nEvery restart of the chain, checked in supervisord's log: {order};"
        "\ndb and migrate neither stopped nor run; then (status) db, web, worker RUNNING, "
        "migrate done.\nEach step from the save, median (min - max), from supervisord's log:"
    )
    steps_in_order = sorted(steps[0], key=lambda step: median([r[step] for r in steps]))
    for step in steps_in_order:
        times = [restart[step] for restart in steps]
        label = "new body served (the bench's GET)" if step == "new body" else step
        print(f"  {label:<34} {median(times):.3f} s  ({min(times):.3f} - {max(times):.3f} s)")


WEB = """
[program:web]
command={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{port}
"""

# The chain as a project's supervisord.conf would have it (example_project's
# migrate reruns on migrations only; a database runs no project code).
CHAIN = """
[program:db]
command={{{{ PYTHON }}}} db.py {db}
ready=tcp:{db}
autoreload=false

[program:migrate]
command={{{{ PYTHON }}}} manage.py migrate --noinput
oneshot=true
autoreload=true
autoreload_patterns=*/migrations/*.py
depends_on=db:ready

[program:web]
command={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{port}
ready=http://127.0.0.1:{port}/
depends_on=migrate:done

[program:worker]
command={{{{ PYTHON }}}} worker.py
depends_on=web
"""
CHAIN_SETTINGS = """
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
"""
WORKER = """
import signal, sys, time
signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
while True:
    time.sleep(1)
"""
# The chain whole: each program's state and the end of its status line.
WHOLE = {
    "db": ("RUNNING", "ready"),
    "migrate": ("EXITED", "done"),
    "web": ("RUNNING", "ready"),
    "worker": ("RUNNING", ""),
}
FAILURES = ("blocked", "could not", "not ready within", "not done within", "exited with", "crashed")
# One restart's steps, as supervisord logs them, and the order they must come in.
STEPS = {
    "worker stopped": "stopped: worker ",
    "web stopped": "stopped: web ",
    "web spawned": "spawned: 'web' ",
    "web ready": "djsupervisor: web is ready ",
    "worker spawned": "spawned: 'worker' ",
    "worker running": "success: worker entered RUNNING",
}
ORDER = [
    ("worker stopped", "web stopped"),
    ("web stopped", "web spawned"),
    ("web spawned", "web ready"),
    # depends_on=web: the worker starts once web is RUNNING or ready, whichever is first.
    ("web spawned", "worker spawned"),
    ("worker spawned", "worker running"),
]

if __name__ == "__main__":
    main()
