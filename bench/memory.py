"""Memory (PSS) of the launcher's own processes: djsupervisor vs honcho, web + worker.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e . honcho && .venv/bin/python bench/memory.py

One project runs two programs, ``web`` (``runserver --noreload``) and
``worker`` (a Python loop that sleeps), under four contestants, taking turns
(each going first in turn), ``--runs`` times each:

- ``manage.py supervisor`` in the foreground, DEBUG on: the command, the
  supervisord it forks and the autoreload watcher program;
- ``manage.py supervisor --daemonize``, DEBUG off: supervisord alone;
- ``manage.py supervisor --daemonize``, DEBUG on: supervisord and the watcher;
- ``honcho start`` with an equivalent Procfile: honcho's main process and the
  one it forks per program.

Once ``web`` answers HTTP 200, ``--settle`` seconds later, each process's
proportional set size is read (the ``Pss:`` line of /proc/PID/smaps_rollup:
its private pages, plus its share of the pages it shares, each page divided
among the processes that map it, so PSS adds up across processes). The
launcher's own processes are everything it runs but the programs: the
autoreload watcher is a program to supervisord, but djsupervisor's own. The
programs are listed too, not counted. Medians over the runs.

Pass small sizes for a quick smoke run, e.g. ``--runs 1 --settle 0.2``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
    manage,
    median,
    print_table,
    rotated,
    start,
    stop_session,
    wait_until,
)

FOREGROUND = "djsupervisor, foreground"
DAEMON = "djsupervisor --daemonize"
DAEMON_DEBUG = "djsupervisor --daemonize, DEBUG on"
HONCHO = "honcho"
CONTESTANTS = (FOREGROUND, DAEMON, DAEMON_DEBUG, HONCHO)
DEBUG_LABEL = {FOREGROUND: "DEBUG on", DAEMON: "DEBUG off", DAEMON_DEBUG: "DEBUG on", HONCHO: "-"}
TARGETS = {FOREGROUND: 2.5, DAEMON: 1.2}  # the most own PSS allowed, in times honcho's
WATCHER = "-m djsupervisor.autoreload"  # in the watcher's command line
SUPERVISORD = re.compile(r"supervisord|-m djsupervisor\.inside\b")  # in supervisord's
KIB_PER_MIB = 1024

WORKER = """
import time
while True:
    time.sleep(1)
"""
PROGRAMS = """
[program:web]
command={{{{ PYTHON }}}} manage.py runserver --noreload {address}

[program:worker]
command={{{{ PYTHON }}}} {worker}
"""


@dataclass
class Project:
    """A throwaway project with the web and worker programs, and a Procfile for honcho."""

    path: Path
    address: str  # 127.0.0.1:PORT, in web's command line
    worker: Path  # the worker's script, in its command line

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])


def write_project(home: Path, debug: bool) -> Project:
    address = f"127.0.0.1:{free_port()}"
    worker = home / "project" / "worker.py"  # absolute: its path names this bench's worker
    path = make_project(
        home / "project",
        PROGRAMS.format(address=address, worker=worker),
        settings=f"DEBUG = {debug}\n",
    )
    worker.write_text(WORKER)
    # honcho runs the same two commands; runserver with settings that leave
    # djsupervisor out, as a project using honcho instead would.
    web = f"{sys.executable} manage.py runserver --noreload {address} {PEER}"
    (path / "Procfile").write_text(f"web: {web}\nworker: {sys.executable} {worker}\n")
    return Project(path, address, worker)


@dataclass
class Measured:
    """One process of a contestant: what it is, whether it is the launcher's own, its memory."""

    role: str
    own: bool
    pss: float  # MiB
    private: float  # MiB: its pages no other process maps


@dataclass
class Launch:
    """A running contestant: its root process, and how to stop it."""

    root: int
    stop: Callable[[], None]
    root_role: str  # what the root process is
    seen: set[ProcessId] = field(default_factory=set)


def smaps_mib(pid: int) -> tuple[float, float]:
    """Return the PSS and the private memory of ``pid`` in MiB, from /proc/PID/smaps_rollup."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = int(rest.split()[0])  # kB
    private = fields["Private_Clean"] + fields["Private_Dirty"]
    return fields["Pss"] / KIB_PER_MIB, private / KIB_PER_MIB


def role_of(pid: int, launch: Launch, project: Project, argv: dict[int, list[str]]) -> str:
    """Name what process ``pid`` (of ``launch``) is; the programs' names start with 'program'."""
    words = argv.get(pid, [])
    line = " ".join(words)
    program = "web" if project.address in line else "worker" if str(project.worker) in line else ""
    if program and words[:2] == ["/bin/sh", "-c"]:
        return f"sh -c, for {program}"  # honcho runs each command through a shell
    if program:
        return f"program: {program}"
    if WATCHER in line:
        return "autoreload watcher"
    if pid == launch.root:
        return launch.root_role  # the foreground command may have exec'd another Python
    if "honcho" in line:
        below = " ".join(" ".join(argv.get(child, [])) for child in descendants(pid))
        for program, marker in (("web", project.address), ("worker", str(project.worker))):
            if marker in below:
                return f"honcho, for {program}"
        return "honcho, for ?"
    if SUPERVISORD.search(line) or argv.get(pid) == argv.get(launch.root):
        return "supervisord"  # run by --daemonize or the foreground command, or forked by it
    return line or "?"


def launch(contestant: str, project: Project) -> Launch:
    """Start ``contestant`` in ``project``; return once web answers and the worker runs."""
    if contestant in (DAEMON, DAEMON_DEBUG):
        done = manage(project.path, "supervisor", "--daemonize", check=False)
        found = re.search(r"running \(pid (\d+)\)", done.stdout)
        if done.returncode or not found:
            manage(project.path, "supervisor", "shutdown", check=False)
            raise SystemExit(f"bench: --daemonize failed:\n{done.stdout}{done.stderr}")

        def shutdown() -> None:
            manage(project.path, "supervisor", "shutdown", check=False)

        running = Launch(int(found.group(1)), shutdown, "supervisord")
    else:
        if contestant == HONCHO:
            command = [sys.executable, "-m", "honcho", "start", "-f", "Procfile"]
        else:
            command = [sys.executable, "manage.py", "supervisor"]
        process = start(project.path, command)
        role = "honcho" if contestant == HONCHO else "manage.py supervisor"
        running = Launch(process.pid, lambda: stop_session(process), role)

    root = ProcessId.of(running.root)

    def up() -> bool:
        if not root.is_alive():
            raise SystemExit(f"bench: {contestant} exited before its web answered")
        if http_get(project.port) is None:  # first: the process table is slower to read
            return False
        lines = command_lines()
        return any(str(project.worker) in " ".join(lines.get(p, [])) for p in processes(running))

    try:
        wait_until(up, f"{contestant}'s web and worker to run")
    except BaseException:
        stop(running)
        raise
    return running


def processes(running: Launch) -> list[int]:
    """Return the pids of ``running``'s tree, noting each so that it can be killed later."""
    pids = [running.root, *descendants(running.root)]
    running.seen.update(ProcessId.of(pid) for pid in pids)
    return pids


def stop(running: Launch) -> None:
    """Stop ``running`` its own way, then kill whatever of it is left."""
    try:
        processes(running)
        running.stop()
    finally:
        kill_all(running.seen)


def measure(contestant: str, project: Project, settle: float) -> list[Measured]:
    """Run ``contestant`` once; return the memory of each of its processes."""
    running = launch(contestant, project)
    try:
        time.sleep(settle)
        argv = command_lines()
        found: list[Measured] = []
        for pid in processes(running):
            role = role_of(pid, running, project, argv)
            named = [process.role for process in found]
            if role in named:  # two of a kind: keep them apart
                role = f"{role} ({named.count(role) + 1})"
            pss, private = smaps_mib(pid)
            found.append(Measured(role, not role.startswith("program"), pss, private))
        return found
    finally:
        stop(running)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="launches per contestant (3)")
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="seconds between the first HTTP 200 and reading (2)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    # By contestant, then role: one list of (PSS, private) per run.
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {c: {} for c in CONTESTANTS}
    totals: dict[str, list[float]] = {c: [] for c in CONTESTANTS}
    try:
        debug = write_project(workdir / "debug", debug=True)
        nodebug = write_project(workdir / "nodebug", debug=False)
        projects = {FOREGROUND: debug, DAEMON: nodebug, DAEMON_DEBUG: debug, HONCHO: debug}
        for turn in range(args.runs):
            for contestant in rotated(CONTESTANTS, turn):
                found = measure(contestant, projects[contestant], args.settle)
                for process in found:
                    by_role = samples[contestant].setdefault(process.role, [])
                    by_role.append((process.pss, process.private))
                totals[contestant].append(sum(p.pss for p in found if p.own))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print_table(
        f"PSS per process, web + worker (median of {args.runs})",
        ["contestant", "process", "counted", "PSS", "private"],
        [
            [
                contestant,
                role,
                "program" if role.startswith("program") else "own",
                f"{median([pss for pss, _ in values]):.1f} MiB",
                f"{median([private for _, private in values]):.1f} MiB",
            ]
            for contestant in CONTESTANTS
            for role, values in sorted(samples[contestant].items(), key=listing_order)
        ],
    )
    honcho = median(totals[HONCHO])
    print_table(
        f"Own processes in total (median of {args.runs})",
        ["contestant", "DEBUG", "own PSS", "/ honcho", "target", "result"],
        [total_row(contestant, median(totals[contestant]), honcho) for contestant in CONTESTANTS],
    )
    print("\nOwn PSS in each run, in MiB:")
    for contestant in CONTESTANTS:
        print(f"  {contestant}: {', '.join(f'{total:.1f}' for total in totals[contestant])}")
    print(
        "\nPSS divides each shared page among the processes that map it, machine-wide: a "
        "process forked from another (honcho's, or a supervisord forked by the command) "
        "shares its pages, every Python process the interpreter's. Private: pages no other "
        "process maps."
    )


def listing_order(item: tuple[str, object]) -> tuple[bool, str]:
    """Sort the own processes first, as found, then the programs by name."""
    program = item[0].startswith("program")
    return program, item[0] if program else ""


def total_row(contestant: str, total: float, honcho: float) -> list[str]:
    ratio = total / honcho
    limit = TARGETS.get(contestant)
    target = f"<= {limit}x honcho" if limit else "-"
    result = "-" if limit is None else "met" if ratio <= limit else "not met"
    return [
        contestant,
        DEBUG_LABEL[contestant],
        f"{total:.1f} MiB",
        f"{ratio:.2f}x",
        target,
        result,
    ]


if __name__ == "__main__":
    main()
