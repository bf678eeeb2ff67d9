"""The django_tasks preset's worker: a stop never leaves a task it has claimed unrun.

django-tasks-db's own ``db_worker`` exits at once on a stop that comes
between its claim of a task (committed) and the task's start, and the task
stays ``RUNNING`` (django-tasks-db issue 61). Each case runs the real
command on a real SQLite database, in a Python of its own (django-tasks-db's
models need Django set up with them), with the stop sent at the moment that
matters.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("django_tasks_db") is None, reason="django-tasks-db not installed"
)

TIMEOUT = 60  # seconds a case may take

TASKS = """
try:
    from django.tasks import task
except ImportError:  # the backport, before Django 6
    from django_tasks import task


@task
def mark(path):
    with open(path, "a") as marks:
        marks.write("ran\\n")
"""

# argv: the command, the project's directory, when to stop ('after-claim',
# 'before-claim', 'idle'), then the command's own options. Its own lines start with '= '.
RUN = """
import importlib.util, os, signal, sys, threading, time
from pathlib import Path

import django
from django.conf import settings

command, home, stop, *options = sys.argv[1:]
sys.path.insert(0, home)
backport = ["django_tasks"] if importlib.util.find_spec("django_tasks") else []
settings.configure(
    INSTALLED_APPS=[*backport, "django_tasks_db", "djsupervisor",
                    "djsupervisor.contrib.django_tasks", "jobs"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                           "NAME": os.path.join(home, "db.sqlite3")}},
    TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
    USE_TZ=True,
)
django.setup()
from django.core.management import call_command
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django_tasks_db.models import DBTaskResult
from jobs.tasks import mark

call_command("migrate", verbosity=0)
marks = os.path.join(home, "marks")


def stop_once_committed(sender, instance, **kwargs):
    if instance.status == "RUNNING":  # the claim: stopped right after its COMMIT
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGTERM))


def stop_before_saved(sender, instance, **kwargs):
    if instance.status == "RUNNING":  # the claim, before its UPDATE: stopped at once
        os.kill(os.getpid(), signal.SIGTERM)


if stop == "after-claim":
    result = mark.enqueue(marks)
    post_save.connect(stop_once_committed, sender=DBTaskResult)
elif stop == "before-claim":
    result = mark.enqueue(marks)
    pre_save.connect(stop_before_saved, sender=DBTaskResult)
else:  # idle: nothing to do, stopped while it waits for work
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
began = time.monotonic()
try:
    call_command(command, "--no-startup-delay", "--no-reload", "--queue-name=*", *options)
    print("= returned")
except SystemExit as exit:
    print("= exit", exit.code)
print(f"= took {time.monotonic() - began:.1f}")
if stop != "idle":
    print("=", DBTaskResult.objects.get(id=result.id).status)
    print("=", open(marks).read().count("ran") if os.path.exists(marks) else 0)
"""


def run(tmp_path: Path, command: str, stop: str, *options: str) -> list[str]:
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "__init__.py").write_text("")
    (jobs / "tasks.py").write_text(textwrap.dedent(TASKS))
    done = subprocess.run(
        [sys.executable, "-c", RUN, command, str(tmp_path), stop, *options],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The script's own lines; the worker's log goes to the same output.
    return [line[2:] for line in done.stdout.splitlines() if line.startswith("= ")]


def test_a_stop_right_after_a_claim_runs_the_task_then_ends(tmp_path: Path) -> None:
    said = run(tmp_path, "djsupervisor_db_worker", "after-claim", "--batch")
    assert said[0] == "returned"
    assert said[2:] == ["SUCCESSFUL", "1"]  # run once, then the worker ended


def test_a_stop_before_the_claim_ends_it_at_once_the_claim_rolled_back(tmp_path: Path) -> None:
    said = run(tmp_path, "djsupervisor_db_worker", "before-claim", "--batch")
    assert said[0] == "exit 0"
    assert said[2:] == ["READY", "0"]  # still there for the next worker, not run


def test_db_worker_itself_leaves_the_claimed_task_running_unrun(tmp_path: Path) -> None:
    # What the preset's command is for. When this fails, django-tasks-db has
    # fixed its issue 61, and the preset can run db_worker itself again.
    said = run(tmp_path, "db_worker", "after-claim", "--batch")
    assert said[0] == "exit 0"
    assert said[2:] == ["RUNNING", "0"], "django-tasks-db#61 fixed? the task ran"


def test_a_stop_while_idle_ends_it_at_once_not_after_its_interval(tmp_path: Path) -> None:
    said = run(tmp_path, "djsupervisor_db_worker", "idle", "--interval", "30")
    assert said[0] == "exit 0"
    took = float(said[1].split()[1])
    assert took < 20, f"it waited out its 30 s interval: {said}"
