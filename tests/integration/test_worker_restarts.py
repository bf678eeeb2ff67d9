"""The task-queue presets stop warm under load: no task lost, none run twice, across restarts.

A project with a preset's worker and ``DEBUG`` on (so the autoreload program
runs) enqueues TASKS short tasks; while the worker runs them it is restarted
RESTARTS times with ``manage.py supervisor restart WORKER`` and once more by a
code change (a touched ``.py`` file). Each task appends a line to its own
file when it starts and another when it ends, so a task run twice shows two
starts and a task lost shows no end. Every restart must replace the worker's
process, and at least one must stop it while it runs a task. Once the
restarts are done, the tasks left run without their sleep: the test then
waits for every task to end, not for the queue to drain at the workers' pace.

The presets here need no other service: huey with SQLite storage, django-q2
with the ORM broker, django-tasks' database worker (Django 5.2 and later;
the preset's djsupervisor_db_worker, which runs a task it has claimed when
the stop comes, where db_worker itself would leave it: django-tasks-db#61).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import time
from dataclasses import dataclass
from functools import partial

import django
import pytest

from ..needs import require
from ..support import WAIT, free_port, wait_for
from .conftest import Project
from .test_presets import LINEAGE, PRESETS, SETTINGS

pytestmark = pytest.mark.integration

TASKS = 200
# Seconds the worker needs for all the tasks: longer than the restarts take
# (on a slow machine, under coverage, two restarts of django_q2 took 10 s).
# What is left when they are done runs at once (UNDER_LOAD).
WORK = 30.0
RESTARTS = 5  # by `restart`; one more by a code change
OWN_TASK, DRAINED = "own task", "drained"  # what a restart waits for, and its way out
MIN_RESTARTS = 3  # under load, on a machine so slow that the tasks end before the others
RECORDER = (
    LINEAGE
    + """
RUNS = Path(__file__).resolve().parent.parent / "runs"
UNDER_LOAD = RUNS.parent / "under-load"  # while it exists, each task takes its time


def note(name, what):
    # One append per line (O_APPEND): a second run of the task adds lines, never replaces them.
    line = f"{what} {time.time():.6f} {lineage()}\\n".encode()
    fd = os.open(RUNS / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def record(name, seconds):
    note(name, "start")
    if UNDER_LOAD.exists():
        time.sleep(seconds)
    note(name, "end")
"""
)
# The presets that run without a service of their own (Redis), and how many tasks each
# runs at once (the settings in test_presets); django_q2 with the ORM broker.
CONCURRENCY = {"huey": 2, "django_q2": 2, "django_tasks": 1}


@dataclass
class Run:
    """One line a task wrote: 'start' or 'end', when, and the pids of its process and ancestors."""

    what: str
    at: float
    pids: list[int]


def runs(project: Project) -> dict[str, list[Run]]:
    """Return what every task wrote so far, by task name."""
    found: dict[str, list[Run]] = {}
    for path in (project.path / "runs").iterdir():
        lines = path.read_text().split("\n")[:-1]  # the last is empty, or still being written
        found[path.name] = [
            Run(what, float(at), [int(pid) for pid in pids])
            for what, at, *pids in (line.split() for line in lines if line)
        ]
    return found


def ran_by(pid: int, tasks: dict[str, list[Run]]) -> list[Run]:
    return [run for lines in tasks.values() for run in lines if pid in run.pids]


def worker_project(project: Project, name: str) -> str:
    """Make ``project`` run preset ``name``'s worker with DEBUG on; return the worker's name."""
    preset = PRESETS[name]
    if preset.package == "django_tasks_db" and django.VERSION < (5, 2):
        pytest.skip("django-tasks-db needs Django 5.2 or later")
    require(importlib.util.find_spec(preset.package), preset.package)
    project.add_settings(SETTINGS.format(redis=free_port()))
    project.add_settings(f"DEBUG = True\nINSTALLED_APPS.append({preset.app!r})\n")
    project.add_settings(preset.settings)
    project.write("jobs/__init__.py", "")
    project.write("jobs/recorder.py", RECORDER)
    project.write("jobs/tasks.py", preset.tasks)
    (project.path / "runs").mkdir()
    (project.path / "under-load").touch()
    # Only the worker (and the autoreload program): the other programs of a preset are excluded.
    project.write(
        "supervisord.conf", "".join(f"[program:{p}]\nexclude=true\n" for p in preset.programs[1:])
    )
    migrated = project.run_manage("migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    return preset.programs[0]


def stopping_seen(
    project: Project, worker: str, pid: int, restart: subprocess.Popen[str] | None
) -> float:
    """Watch ``worker`` while ``restart`` runs; return when it was first seen STOPPING.

    With ``restart`` None (a code change) watch until a new process runs.
    """
    seen = 0.0
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        info = project.processes().get(worker, {})
        if not seen and info.get("statename") == "STOPPING" and info.get("pid") == pid:
            seen = time.time()
        restarted = info.get("statename") == "RUNNING" and info.get("pid") not in (0, pid)
        if restarted and (restart is None or restart.poll() is not None):
            return seen
        time.sleep(0.005)
    raise AssertionError(f"{worker} did not restart; supervisord reports {project.processes()}")


def ended(tasks: dict[str, list[Run]]) -> int:
    """Return how many of ``tasks`` have ended."""
    return sum(any(r.what == "end" for r in lines) for lines in tasks.values())


def own_task_or_drained(project: Project, pid: int) -> str | None:
    """Return OWN_TASK once process ``pid`` has run a task, DRAINED once every task has ended."""
    tasks = runs(project)  # read once: 200 files
    if ran_by(pid, tasks):
        return OWN_TASK
    return DRAINED if ended(tasks) == TASKS else None


def wait_done(project: Project, idle: float = 5.0) -> None:
    """Wait until every task has ended, or nothing has run for ``idle`` seconds (a task is lost)."""
    last, changed = "", time.monotonic()
    deadline = changed + WAIT
    while time.monotonic() < min(deadline, changed + idle):
        tasks = runs(project)
        if len(tasks) == TASKS and all(any(r.what == "end" for r in run) for run in tasks.values()):
            return
        now = repr(tasks)
        if now != last:
            last, changed = now, time.monotonic()
        time.sleep(0.05)


@pytest.mark.parametrize("name", CONCURRENCY)
def test_restarts_under_load_lose_no_task_and_run_none_twice(project: Project, name: str) -> None:
    worker = worker_project(project, name)
    began = time.monotonic()
    started = project.run("--daemonize")
    assert started.returncode == 0, started.stderr + started.stdout
    pid = project.wait_running(worker, "autoreload")[worker]
    seconds = WORK * CONCURRENCY[name] / TASKS  # each task's sleep: a restart finds some running
    enqueue = f"from jobs.tasks import enqueue\nfor i in range({TASKS}): enqueue(str(i), {seconds})"
    enqueued = project.run_manage("shell", "-c", enqueue)
    assert enqueued.returncode == 0, enqueued.stderr

    pids, in_flight = [pid], 0
    for restart in range(RESTARTS + 1):
        # Restart once the current process has started a task of its own; on
        # a machine slow enough that the tasks are all done first, the
        # restarts left would find nothing to lose.
        try:
            seen = wait_for(
                partial(own_task_or_drained, project, pids[-1]),
                f"{worker} ({pids[-1]}) to run a task",
            )
        except TimeoutError as exc:
            log = project.run("tail", worker, "stderr").stdout
            raise AssertionError(
                f"{exc} ({ended(runs(project))} tasks ended); its log:\n{log}"
            ) from None
        if seen == DRAINED:
            assert restart >= MIN_RESTARTS, f"all {TASKS} tasks ended after {restart} restarts"
            break
        if restart < RESTARTS:
            process = subprocess.Popen(
                project.command("restart", worker),
                cwd=project.path,
                env=project.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            project.foreground.append(process)
            stopping = stopping_seen(project, worker, pids[-1], process)
            out, err = process.communicate(timeout=WAIT)
            assert process.returncode == 0, out + err
        else:  # a code change: the autoreload program restarts the worker
            os.utime(project.path / "jobs" / "tasks.py")
            stopping = stopping_seen(project, worker, pids[-1], None)
        # The old process was still running a task when supervisord was stopping it.
        if stopping and any(
            r.what == "end" and r.at > stopping for r in ran_by(pids[-1], runs(project))
        ):
            in_flight += 1
        pids.append(project.processes()[worker]["pid"])

    (project.path / "under-load").unlink()
    wait_done(project)
    tasks = runs(project)
    lost = sorted(
        (n for n in map(str, range(TASKS)) if not any(r.what == "end" for r in tasks.get(n, []))),
        key=int,
    )
    twice = sorted(
        (n for n, lines in tasks.items() if [r.what for r in lines] != ["start", "end"]), key=int
    )
    print(
        f"{name}: {TASKS} tasks, {len(pids) - 1} restarts ({in_flight} with a task in flight), "
        f"{len(lost)} lost, {len(twice)} run twice or cut, {time.monotonic() - began:.1f} s"
    )
    assert not lost, f"{len(lost)} of {TASKS} tasks lost across the restarts: {lost[:20]}"
    assert not twice, f"{len(twice)} tasks ran more than once or were cut: " + "; ".join(
        f"{n}: {[r.what for r in tasks[n]]}" for n in twice[:10]
    )
    assert len(set(pids)) == len(pids), f"{worker}'s pids across the restarts: {pids}"
    assert in_flight >= 1, "no restart stopped the worker while it ran a task"
    log = project.logfile().read_text()
    assert log.count(f"stopped: {worker} (exit status 0)") >= len(pids) - 1, log
    assert "SIGKILL" not in log, log
