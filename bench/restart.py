"""Restart a gunicorn web program under load: djsupervisor's listen= vs raw supervisord vs gunicorn.

From a fresh clone::

    python3 -m venv .venv && .venv/bin/pip install -e '.[example]' && .venv/bin/python bench/restart.py

The same project (a trivial Django view served by gunicorn, 2 sync workers)
is restarted ``--restarts`` times, ``--gap`` seconds apart, while a client on
127.0.0.1 (bench/loadclient.py, a program of its own in a session of its
own) sends ``--rate`` requests a second, each on a new connection, each due
at a fixed time, from one thread with non-blocking sockets: a slow answer
delays no other request; a request's latency runs from its sending (the
client sends on time: the printout says how late it was, at p99). Every other
restart, from the second on, follows a code change: the view's module is
rewritten with a new response body, which must be served after the restart.
The load lasts ``--seconds`` at least, and ``--gap`` seconds after the last
restart. The three contestants, one after another in the same run:

* djsupervisor: ``listen=127.0.0.1:PORT`` and ``ready=http://127.0.0.1:PORT/``
  on the program (supervisord holds the socket; gunicorn takes it as fd 3),
  ``manage.py supervisor --daemonize --noreload``, restarted with
  ``manage.py supervisor restart web``, stopped with ``manage.py supervisor
  shutdown``;
* raw supervisord (``python -m supervisor.supervisord -c FILE``, a
  hand-written config, gunicorn binding its own port with ``--bind``),
  restarted with ``python -m supervisor.supervisorctl -c FILE restart web``;
* gunicorn alone (``--bind``), reloaded with its own ``kill -HUP MASTER_PID``;
  that restart is over once the master's workers are all new and one answers.

The table counts the requests sent and those that failed (refused, reset,
timed out, not a 200 with a body the view has had), and the latency of the
others, p50 and p99, during the restarts (requests due from a restart
command's start until 1 s after it returned) and outside them.

Pass small sizes for a quick smoke run, e.g.
``--rate 50 --restarts 2 --gap 0.5 --seconds 3``.

``--tasks N`` runs the second part instead: N tasks through a task-queue
preset's worker (``--preset``: django_tasks's db_worker, which ``.[example]``
installs, or huey with SQLite storage), restarted ``--restarts`` times (20 by
default) with ``manage.py supervisor restart WORKER`` while it runs them, each
restart once the worker has started a task of its own. Each task appends a
line to its own file when it starts and when it ends; the table counts the
tasks done once, lost (never ended) and run more than once. Smoke run:
``--tasks 40 --restarts 2``.
"""  # noqa: E501 (the command above is one line, to copy)

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib.util
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import (
    TIMEOUT,
    ProcessId,
    children,
    descendants,
    free_port,
    getconfig,
    http_get,
    kill_all,
    make_project,
    manage,
    median,
    print_table,
    python,
    start,
    stop_session,
    wait_until,
    write_view,
)
from loadclient import REQUEST_TIMEOUT
from startstop import RAW_PROGRAM, RAW_SUPERVISORD

WORKERS = 2
WSGI = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", {settings!r})
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
"""
GUNICORN = "{python} -m gunicorn {wsgi} --workers " + str(WORKERS)
OURS = """
[program:web]
command={command}
listen=127.0.0.1:{port}
ready=http://127.0.0.1:{port}/
"""
RAW_SUPERVISORCTL = """
[supervisorctl]
serverurl=unix://{dir}/supervisor.sock
"""
AFTER = 1.0  # seconds after a restart command returned that still count as during it
OURS_NAME = "djsupervisor, listen="
RAW_NAME = "raw supervisord, --bind"
ALONE_NAME = "gunicorn alone, kill -HUP"
TARGET = "0 failed, p99 during <= 2x p99 outside"
TASK_TARGET = "0 lost, 0 run twice"
TASK_SECONDS = 0.05  # each task's sleep: a restart finds one running
TASK_IDLE = 10.0  # seconds without a task starting or ending: the rest are lost
RECORDER = """
import os, time
from pathlib import Path

RUNS = Path(__file__).resolve().parent.parent / "runs"


def note(name, what):
    fd = os.open(RUNS / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, f"{what}\\n".encode())  # one append a line: a second run adds lines
    finally:
        os.close(fd)


def record(name, seconds):
    note(name, "start")
    time.sleep(seconds)
    note(name, "end")
"""
TASK_DATABASE = """
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent
DATABASES = {"default": {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": BASE_DIR / "db.sqlite3",
    "OPTIONS": {"timeout": 20},
}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["djsupervisor", "jobs"]
"""


@dataclass
class TaskPreset:
    package: str  # the queue's package, which the part needs
    program: str  # the preset's worker
    settings: str
    tasks: str  # jobs/tasks.py: enqueue(name, seconds)


TASK_PRESETS = {
    "django_tasks": TaskPreset(
        "django_tasks_db",
        "db_worker",
        """
import importlib.util
if importlib.util.find_spec("django_tasks"):  # the backport, before Django 6
    INSTALLED_APPS.append("django_tasks")
INSTALLED_APPS += ["django_tasks_db", "djsupervisor.contrib.django_tasks"]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
""",
        """
try:
    from django.tasks import task
except ImportError:
    from django_tasks import task

from jobs import recorder


@task()
def record(name: str, seconds: float) -> None:
    recorder.record(name, seconds)


def enqueue(name, seconds):
    record.enqueue(name, seconds)
""",
    ),
    "huey": TaskPreset(
        "huey",
        "huey",
        """
INSTALLED_APPS += ["huey.contrib.djhuey", "djsupervisor.contrib.huey"]
HUEY = {
    "huey_class": "huey.SqliteHuey",
    "filename": str(BASE_DIR / "huey.sqlite3"),
    "immediate": False,
    "consumer": {"workers": 2, "worker_type": "thread"},
}
""",
        """
from huey.contrib.djhuey import task

from jobs import recorder


@task()
def record(name, seconds):
    recorder.record(name, seconds)


def enqueue(name, seconds):
    record(name, seconds)
""",
    ),
}


@dataclass
class Contestant:
    """One way of serving and restarting the project."""

    name: str
    project: Path
    port: int
    how: str  # the restart, in words
    start: Callable[[], None]  # returns once the project answers
    restart: Callable[[], None]  # returns once the restart command has
    stop: Callable[[], None]  # stops everything it started, by pid


def supervised_pids(pidfile: Path) -> set[ProcessId]:
    """Return supervisord (by its pidfile) and every process below it."""
    pid = int(pidfile.read_text())
    return {ProcessId.of(p) for p in [pid, *descendants(pid)]}


def djsupervisor(workdir: Path) -> Contestant:
    port = free_port()
    project = make_project(
        workdir / "djsupervisor",
        OURS.format(command=GUNICORN.format(python="{{ PYTHON }}", wsgi="wsgi"), port=port),
        settings="DEBUG = False\n",
    )
    (project / "wsgi.py").write_text(WSGI.format(settings="settings"))
    pidfile = Path(getconfig(project)["supervisord"]["pidfile"])

    def start_it() -> None:
        checked(manage(project, "supervisor", "--daemonize", "--noreload", check=False))

    def restart() -> None:
        checked(manage(project, "supervisor", "restart", "web", check=False))

    def stop() -> None:
        if pidfile.exists():
            below = supervised_pids(pidfile)
            manage(project, "supervisor", "shutdown", check=False)
            kill_all(below)

    how = "manage.py supervisor restart web"
    return Contestant(OURS_NAME, project, port, how, start_it, restart, stop)


def peer_project(path: Path) -> tuple[Path, int]:
    """Write a project that serves the view without djsupervisor; return it and a free port."""
    project = make_project(path, "", settings="DEBUG = False\n")
    (project / "peer_wsgi.py").write_text(WSGI.format(settings="peer_settings"))
    return project, free_port()


def raw_supervisord(workdir: Path) -> Contestant:
    project, port = peer_project(workdir / "raw-project")
    raw = workdir / "raw"
    raw.mkdir()
    conf = raw / "supervisord.conf"
    command = GUNICORN.format(python=sys.executable, wsgi="peer_wsgi")
    conf.write_text(
        RAW_SUPERVISORD.format(dir=raw)
        + RAW_SUPERVISORCTL.format(dir=raw)
        + RAW_PROGRAM.format(
            name="web", command=f"{command} --bind 127.0.0.1:{port}", project=project
        )
    )
    pidfile = raw / "supervisord.pid"

    def start_it() -> None:
        # supervisord forks into the background and the command returns.
        launcher = start(raw, [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)])
        if launcher.wait(TIMEOUT) != 0:
            raise SystemExit(f"bench: raw supervisord exited with status {launcher.returncode}")

    def restart() -> None:
        ctl = ["-m", "supervisor.supervisorctl", "-c", str(conf)]
        done = checked(python(raw, *ctl, "restart", "web", check=False))
        if "web: started" not in done.stdout:
            raise SystemExit(f"bench: supervisorctl restart web: {done.stdout}{done.stderr}")

    def stop() -> None:
        if pidfile.exists():
            below = supervised_pids(pidfile)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
            with contextlib.suppress(SystemExit):
                wait_until(lambda: not any(p.is_alive() for p in below), "raw supervisord to stop")
            kill_all(below)

    how = "supervisorctl restart web"
    return Contestant(RAW_NAME, project, port, how, start_it, restart, stop)


def gunicorn_alone(workdir: Path) -> Contestant:
    project, port = peer_project(workdir / "gunicorn")
    command = GUNICORN.format(python=sys.executable, wsgi="peer_wsgi").split()
    process: subprocess.Popen[str] | None = None

    def start_it() -> None:
        nonlocal process
        process = start(project, [*command, "--bind", f"127.0.0.1:{port}"])

    def restart() -> None:
        assert process
        master = process.pid
        old = set(children(master))
        os.kill(master, signal.SIGHUP)  # kill -HUP MASTER_PID

        def reloaded() -> bool:
            workers = set(children(master))
            return len(workers) == WORKERS and not workers & old and http_get(port) is not None

        wait_until(reloaded, "gunicorn's new workers to answer")

    def stop() -> None:
        if process:
            below = {ProcessId.of(p) for p in [process.pid, *descendants(process.pid)]}
            stop_session(process)
            kill_all(below)

    how = "kill -HUP, until the new workers answer"
    return Contestant(ALONE_NAME, project, port, how, start_it, restart, stop)


def checked(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Return ``done``; end the bench with its output if it failed."""
    if done.returncode:
        command = " ".join(map(str, done.args))
        raise SystemExit(
            f"bench: {command} exited with {done.returncode}\n{done.stdout}{done.stderr}"
        )
    return done


@dataclass
class Request:
    due: float  # time.monotonic() when it was to be sent
    late: float  # seconds from then until it was sent
    seconds: float  # from its sending until its answer was read (or it failed)
    error: str  # why it failed; '' if it did not


@dataclass
class Load:
    """``rate`` requests a second to ``port``, each due at a fixed time, from loadclient.py."""

    started: float  # time.monotonic() when the first request was due
    requests: list[Request] = field(default_factory=list)
    stopped: float = 0.0


@contextlib.contextmanager
def loaded(port: int, rate: float, bodies: set[str]) -> Iterator[Load]:
    """Send the load until the block ends; then wait for the answers still due.

    ``bodies`` are the answers that count as right, read when the load is over.
    """
    client = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("loadclient.py")), str(port), f"{rate:g}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # see loadclient.py: as a client elsewhere would be
    )
    try:
        assert client.stdout is not None
        load = Load(float(client.stdout.readline().split()[1]))
        yield load
        out, _ = client.communicate("stop\n", timeout=REQUEST_TIMEOUT + 5)
        if client.returncode:
            raise SystemExit(f"bench: loadclient.py exited with {client.returncode}")
        report = json.loads(out)
        load.stopped = report["stopped"]
        for due, sent, seconds, error, body in report["requests"]:
            if not error and body not in bodies:
                error = "unknown body"
            load.requests.append(Request(due, sent - due, seconds, error))
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()


@dataclass
class Result:
    requests: list[Request]
    windows: list[tuple[float, float]]  # (restart command started, returned + AFTER)
    restarts: list[float]  # seconds each restart command took
    seconds: float  # how long the load ran


def measure(contestant: Contestant, args: argparse.Namespace) -> Result:
    """Serve, restart under load, stop; return what the client saw."""
    bodies = {"start"}
    windows, restarts = [], []
    try:
        contestant.start()
        wait_until(lambda: http_get(contestant.port) == "start", f"{contestant.name} to answer")
        with loaded(contestant.port, args.rate, bodies) as load:
            time.sleep(args.gap)
            for n in range(args.restarts):
                body = ""
                if n % 2 == 1:  # a code change before every other restart
                    # A new length each time: Python trusts a cached .pyc whose
                    # source has the same size and modification second.
                    body = f"edit {n}" + "!" * n
                    bodies.add(body)
                    write_view(contestant.project, body)
                began = time.monotonic()
                contestant.restart()
                returned = time.monotonic()
                windows.append((began, returned + AFTER))
                restarts.append(returned - began)
                if body:
                    served = lambda body=body: http_get(contestant.port) == body  # noqa: E731
                    wait_until(served, f"{contestant.name} to serve the changed view")
                time.sleep(args.gap)
            time.sleep(max(0.0, load.started + args.seconds - time.monotonic()))
    finally:
        contestant.stop()
    return Result(load.requests, windows, restarts, load.stopped - load.started)


def percentile(values: list[float], percent: float) -> float:
    """Return the nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def latencies(result: Result) -> tuple[list[float], list[float]]:
    """Return the seconds of the answered requests due during the restarts, and outside."""
    during: list[float] = []
    outside: list[float] = []
    for request in result.requests:
        if not request.error:
            inside = any(a <= request.due <= b for a, b in result.windows)
            (during if inside else outside).append(request.seconds)
    return during, outside


def milliseconds(values: list[float], percent: float) -> str:
    return f"{1000 * percentile(values, percent):.1f} ms" if values else "-"


def table_row(name: str, result: Result) -> list[str]:
    during, outside = latencies(result)
    failed = sum(1 for request in result.requests if request.error)
    target, met = "-", ""
    if name == OURS_NAME:
        p99_during = percentile(during, 99) if during else math.inf
        p99_outside = percentile(outside, 99) if outside else 0.0
        target = TARGET
        met = "MET" if failed == 0 and p99_during <= 2 * p99_outside else "NOT MET"
    return [
        name,
        str(len(result.requests)),
        str(failed),
        milliseconds(during, 50),
        milliseconds(during, 99),
        milliseconds(outside, 50),
        milliseconds(outside, 99),
        target,
        met,
    ]


@dataclass
class TaskResult:
    preset: str
    tasks: int
    runs: dict[str, list[str]]  # by task name: 'start' and 'end', one a line written
    restarts: list[float]  # seconds each restart command took
    seconds: float  # from the first task enqueued until the last ended (or the wait gave up)


def task_runs(runs: Path) -> dict[str, list[str]]:
    """Return the lines every task wrote so far, by task name (a line still being written not)."""
    return {path.name: path.read_text().split("\n")[:-1] for path in runs.iterdir()}


def starts(runs: Path) -> int:
    return sum(lines.count("start") for lines in task_runs(runs).values())


def all_ended(runs: Path, tasks: int) -> bool:
    now = task_runs(runs)
    return len(now) == tasks and all("end" in lines for lines in now.values())


def measure_tasks(workdir: Path, name: str, tasks: int, restarts: int) -> TaskResult:
    """Run ``tasks`` tasks through preset ``name``'s worker, restarting it ``restarts`` times."""
    preset = TASK_PRESETS[name]
    project = make_project(workdir / "tasks", "", settings=TASK_DATABASE + preset.settings)
    (project / "jobs").mkdir()
    (project / "jobs" / "__init__.py").write_text("")
    (project / "jobs" / "recorder.py").write_text(RECORDER)
    (project / "jobs" / "tasks.py").write_text(preset.tasks)
    runs = project / "runs"
    runs.mkdir()
    checked(manage(project, "migrate", "-v0", check=False))
    pidfile = Path(getconfig(project)["supervisord"]["pidfile"])
    took: list[float] = []
    try:
        checked(manage(project, "supervisor", "--daemonize", "--noreload", check=False))
        began = time.monotonic()
        enqueue = f"from jobs.tasks import enqueue\nfor i in range({tasks}): enqueue(str(i), {{}})"
        checked(manage(project, "shell", "-c", enqueue.format(TASK_SECONDS), check=False))
        for _ in range(restarts):
            # Once the worker has started a task since the last restart.
            seen = starts(runs)

            def started(seen: int = seen) -> bool:
                return starts(runs) > seen or all_ended(runs, tasks)

            wait_until(started, f"{preset.program} to run a task")
            if all_ended(runs, tasks):  # too few tasks for the restarts: the table says so
                break
            before = time.monotonic()
            checked(manage(project, "supervisor", "restart", preset.program, check=False))
            took.append(time.monotonic() - before)
        last: dict[str, list[str]] = {}
        changed = time.monotonic()
        while time.monotonic() - changed < TASK_IDLE:
            now = task_runs(runs)
            if all_ended(runs, tasks):
                break
            if now != last:
                last, changed = now, time.monotonic()
            time.sleep(0.05)
        seconds = time.monotonic() - began
    finally:
        if pidfile.exists():
            below = supervised_pids(pidfile)
            manage(project, "supervisor", "shutdown", check=False)
            kill_all(below)
    return TaskResult(name, tasks, task_runs(runs), took, seconds)


def task_table_row(result: TaskResult) -> list[str]:
    names = [str(n) for n in range(result.tasks)]
    lost = sum(1 for n in names if "end" not in result.runs.get(n, []))
    twice = sum(1 for lines in result.runs.values() if lines.count("start") > 1)
    once = sum(1 for n in names if result.runs.get(n) == ["start", "end"])
    met = "MET" if lost == 0 and twice == 0 else "NOT MET"
    return [
        result.preset,
        str(result.tasks),
        str(len(result.restarts)),
        str(once),
        str(lost),
        str(twice),
        f"{median(result.restarts):.3f} s" if result.restarts else "-",
        f"{result.seconds:.1f} s",
        TASK_TARGET,
        met,
    ]


def tasks_part(args: argparse.Namespace) -> None:
    """The --tasks part: tasks through a preset's worker during restarts; print its table."""
    preset = TASK_PRESETS[args.preset]
    if importlib.util.find_spec(preset.package) is None:
        print(
            f"bench/restart.py --tasks skipped: {preset.package} is not importable "
            "(pip install -e '.[example]' for django_tasks, pip install huey for huey)"
        )
        return
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    try:
        result = measure_tasks(workdir, args.preset, args.tasks, args.restarts)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(
        f"{args.tasks} tasks ({TASK_SECONDS * 1000:g} ms each) through {preset.program} "
        f"(djsupervisor.contrib.{args.preset}) during {args.restarts} restarts",
        [
            "preset",
            "tasks",
            "restarts",
            "done once",
            "lost",
            "run twice",
            "restart median",
            "all done in",
            "target",
            "",
        ],
        [task_table_row(result)],
    )
    print(
        f"\nRestarted with manage.py supervisor restart {preset.program}, each time once the "
        "worker had started a task of its own. Lost: never ended (waited until no task started "
        f"or ended for {TASK_IDLE:g} s); run twice: started more than once."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200, help="requests a second (200)")
    parser.add_argument(
        "--restarts", type=int, default=None, help="restarts of web (5), of the worker (20)"
    )
    parser.add_argument(
        "--gap", type=float, default=2, help="seconds before, between and after restarts (2)"
    )
    parser.add_argument(
        "--seconds", type=float, default=55, help="seconds of load at least, per contestant (55)"
    )
    parser.add_argument(
        "--tasks", type=int, default=0, help="run N tasks through a worker instead (1000 is apt)"
    )
    parser.add_argument(
        "--preset",
        choices=sorted(TASK_PRESETS),
        default="django_tasks",
        help="the worker of --tasks (django_tasks)",
    )
    args = parser.parse_args()
    if args.restarts is None:
        args.restarts = 20 if args.tasks else 5
    if args.tasks:
        if args.tasks < 1 or args.restarts < 1:
            parser.error("--tasks and --restarts must be positive")
        tasks_part(args)
        return
    if args.restarts < 1 or args.rate <= 0:
        parser.error("--restarts and --rate must be positive")
    if importlib.util.find_spec("gunicorn") is None:
        print(
            "bench/restart.py skipped: gunicorn is not importable "
            "(pip install gunicorn, or pip install -e '.[example]')"
        )
        return
    workdir = Path(tempfile.mkdtemp(prefix="djs-bench-"))
    try:
        contestants = [djsupervisor(workdir), raw_supervisord(workdir), gunicorn_alone(workdir)]
        results = {contestant.name: measure(contestant, args) for contestant in contestants}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    changes = args.restarts // 2
    print_table(
        f"Restart web (gunicorn, {WORKERS} sync workers) {args.restarts} times, {changes} after "
        f"a code change, under {args.rate:g} requests/s",
        [
            "contestant",
            "requests sent",
            "failed",
            "p50 during",
            "p99 during",
            "p50 outside",
            "p99 outside",
            "target",
            "",
        ],
        [table_row(name, result) for name, result in results.items()],
    )
    print(
        f"\nEach request on a new connection, due at a fixed rate, from bench/loadclient.py; its "
        "latency runs from its sending until its answer was read (answered requests only)."
        f"\nDuring: requests due from "
        f"a restart command's start until {AFTER:g} s after it returned; outside: the others. "
        f"Failed: refused, reset, no answer within {REQUEST_TIMEOUT:g} s, not 200, or a body "
        "the view never had."
    )
    for contestant in contestants:
        result = results[contestant.name]
        errors = collections.Counter(r.error for r in result.requests if r.error)
        during, _ = latencies(result)
        failures = ", ".join(f"{error} x {count}" for error, count in errors.most_common())
        print(
            f"\n{contestant.name}: restarted with {contestant.how}\n"
            f"  restart command took {median(result.restarts):.3f} s median "
            f"({min(result.restarts):.3f} - {max(result.restarts):.3f} s); "
            f"load {result.seconds:.1f} s, {len(during)} answered requests during restarts, "
            f"sent {milliseconds([r.late for r in result.requests], 99)} after their due time "
            f"(p99); failures: {failures or 'none'}"
        )


if __name__ == "__main__":
    main()
