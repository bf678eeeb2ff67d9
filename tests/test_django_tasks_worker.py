"""The django_tasks preset's worker: a stop never leaves a task it has claimed unrun.

django-tasks-db's own ``db_worker`` exits at once on a stop that comes
between claiming a task and running it, and the task stays ``RUNNING``
(django-tasks-db issue 61). Its worker class needs Django set up with
django-tasks-db's models, so each case runs in a Python of its own.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("django_tasks_db") is None, reason="django-tasks-db not installed"
)

# A worker of the class named in argv[1], between claiming a task and running
# it (running, not yet running_task), told to stop once, then once more.
STOPPED_TWICE = """
import importlib.util, signal, sys
import django
from django.conf import settings

apps = ["django_tasks"] if importlib.util.find_spec("django_tasks") else []
settings.configure(INSTALLED_APPS=[*apps, "django_tasks_db"], DATABASES={})
django.setup()
module, _, name = sys.argv[1].rpartition(".")
Worker = getattr(importlib.import_module(module), name)
worker = Worker(queue_names=["*"], interval=1, batch=False, backend_name="default",
                startup_delay=False, max_tasks=None, worker_id="w", excluded_queue_names=[])
for stop in ("first", "second"):
    try:
        worker.shutdown(signal.SIGTERM, None)
    except SystemExit as exc:
        print(f"{stop} stop: exits {exc.code}")
        break
    print(f"{stop} stop: runs on, running={worker.running}")
"""
OURS = "djsupervisor.contrib.django_tasks.management.commands.djsupervisor_db_worker.Worker"
THEIRS = "django_tasks_db.management.commands.db_worker.Worker"


def stopped_twice(worker_class: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", STOPPED_TWICE, worker_class],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.splitlines()


def test_a_stop_after_a_claim_lets_the_worker_run_it_and_a_second_forces() -> None:
    assert stopped_twice(OURS) == ["first stop: runs on, running=False", "second stop: exits 1"]


def test_db_worker_itself_exits_with_the_claimed_task_unrun() -> None:
    # What the preset's command is for: when this fails, django-tasks-db
    # has fixed its issue 61, and the preset can run db_worker again.
    assert stopped_twice(THEIRS) == ["first stop: exits 0"]
