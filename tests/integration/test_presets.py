"""The task-queue presets against the real packages: a task enqueued by the web, done by the worker.

For each preset a project enqueues tasks from its web program (runserver,
under the same supervisord); the preset's worker runs them. A task writes a
file when it starts and another, with its pid, when it is done: the second
one must appear even when the worker is stopped while the task runs (a
graceful stop within the grace period). Redis, where a queue needs it, is a
supervised program of the project (Debian's redis-server).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import django
import pytest

from ..needs import require
from ..support import REDIS_PROGRAM, WAIT, free_port, http_get, wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

SLOW_TASK = 12  # seconds: longer than supervisord's default grace period (stopwaitsecs=10)
# The top of a task module (jobs/recorder.py) that notes which processes run a task.
LINEAGE = """
import os, time
from pathlib import Path


def lineage():
    # This process and its ancestors: a worker may run tasks in a child of its own.
    pids, pid = [], os.getpid()
    while pid > 1:
        pids.append(str(pid))
        pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    return " ".join(pids)
"""
RECORDER = (
    LINEAGE
    + """
RESULTS = Path(__file__).resolve().parent.parent / "results"


def record(name, seconds):
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.started").write_text(lineage())
    time.sleep(seconds)
    (RESULTS / f"{name}.done").write_text(lineage())
"""
)

URLS = """
from django.http import HttpResponse
from django.urls import path

from jobs.tasks import enqueue


def enqueue_view(request, name, seconds):
    enqueue(name, seconds)
    return HttpResponse("queued")


urlpatterns = [
    path("", lambda request: HttpResponse("up")),
    path("enqueue/<str:name>/<int:seconds>/", enqueue_view),
]
"""

SETTINGS = """
INSTALLED_APPS = ["djsupervisor", "jobs"]
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": BASE_DIR / "db.sqlite3",
    "OPTIONS": {{"timeout": 20}},  # the web and the worker write to one file
}}}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
REDIS_URL = "redis://127.0.0.1:{redis}/0"
"""


@dataclass
class Preset:
    """One preset, and what a project using it adds."""

    app: str  # the preset's app
    package: str  # the queue's package, which the test needs
    programs: list[str]  # the preset's programs; the first runs the tasks
    settings: str
    tasks: str  # jobs/tasks.py: record (a task) and enqueue(name, seconds)
    redis: bool = False
    extra_apps: list[str] = field(default_factory=list)


PRESETS = {
    "django_tasks": Preset(
        "djsupervisor.contrib.django_tasks",
        "django_tasks_db",
        ["db_worker"],
        """
import importlib.util
if importlib.util.find_spec("django_tasks"):  # the backport, before Django 6
    INSTALLED_APPS.append("django_tasks")
INSTALLED_APPS.append("django_tasks_db")
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
""",
        """
try:
    from django.tasks import task
except ImportError:
    from django_tasks import task

from jobs import recorder


@task()
def record(name: str, seconds: int) -> None:
    recorder.record(name, seconds)


def enqueue(name, seconds):
    record.enqueue(name, seconds)
""",
    ),
    "celery": Preset(
        "djsupervisor.contrib.celery",
        "celery",
        ["celery_worker", "celery_beat"],
        """
SUPERVISOR_CELERY_APP = "jobs.tasks"
CELERY_BROKER_URL = REDIS_URL
""",
        """
from celery import Celery

from jobs import recorder

app = Celery("jobs")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task
def record(name, seconds):
    recorder.record(name, seconds)


def enqueue(name, seconds):
    record.delay(name, seconds)
""",
        redis=True,
    ),
    "django_q2": Preset(
        "djsupervisor.contrib.django_q2",
        "django_q",
        ["qcluster"],
        """
INSTALLED_APPS.append("django_q")
Q_CLUSTER = {"name": "tests", "orm": "default", "workers": 2, "timeout": 60, "retry": 120}
""",
        """
from django_q.tasks import async_task


def enqueue(name, seconds):
    async_task("jobs.recorder.record", name, seconds)
""",
    ),
    "rq": Preset(
        "djsupervisor.contrib.rq",
        "django_rq",
        ["rqworker"],
        """
INSTALLED_APPS.append("django_rq")
RQ_QUEUES = {"default": {"URL": REDIS_URL}}
""",
        """
import django_rq

from jobs.recorder import record


def enqueue(name, seconds):
    django_rq.enqueue(record, name, seconds)
""",
        redis=True,
    ),
    "huey": Preset(
        "djsupervisor.contrib.huey",
        "huey",
        ["huey"],
        """
INSTALLED_APPS.append("huey.contrib.djhuey")
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


def preset_project(project: Project, preset: Preset) -> int:
    """Make ``project`` use ``preset``; return the port of its web program."""
    if preset.package == "django_tasks_db" and django.VERSION < (5, 2):
        pytest.skip("django-tasks-db needs Django 5.2 or later")
    require(importlib.util.find_spec(preset.package), preset.package)
    redis, web = free_port(), free_port()
    project.add_settings(SETTINGS.format(redis=redis))
    project.add_settings(f"INSTALLED_APPS.append({preset.app!r})\n")
    project.add_settings(preset.settings)
    project.write("jobs/__init__.py", "")
    project.write("jobs/recorder.py", RECORDER)
    project.write("jobs/tasks.py", preset.tasks)
    project.write("urls.py", URLS)
    config = (
        f"[program:web]\ncommand={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{web}\n"
        f"ready=http://127.0.0.1:{web}/\n"
    )
    if preset.redis:
        require(shutil.which("redis-server"), "redis-server (apt-get install redis-server)")
        config += REDIS_PROGRAM.format(redis=redis)
        config += "".join(f"[program:{name}]\ndepends_on=redis:ready\n" for name in preset.programs)
        config = config.replace("[program:web]\n", "[program:web]\ndepends_on=redis:ready\n")
    project.write("supervisord.conf", config)
    migrated = project.run_manage("migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    return web


@pytest.mark.parametrize("name", PRESETS)
def test_the_worker_runs_tasks_and_finishes_one_when_stopped(project: Project, name: str) -> None:
    preset = PRESETS[name]
    web = preset_project(project, preset)
    started = project.run("--daemonize")
    assert started.returncode == 0, started.stderr + started.stdout
    worker = preset.programs[0]
    pid = project.wait_running(worker, *preset.programs[1:])[worker]
    results = project.path / "results"

    # Enqueued by the web program, done by the worker (or a process of its own).
    assert http_get(web, "/enqueue/quick/0/") == "queued"
    done = wait_for(lambda: read(results / "quick.done"), "the quick task to be done")
    assert str(pid) in done.split()

    # Stopped while a task runs: the task finishes within the preset's grace
    # period, longer than supervisord's default of 10 s, and the worker exits
    # by itself (at the end of the grace period supervisord would kill it).
    grace = int(project.config()[f"program:{worker}"]["stopwaitsecs"])
    assert http_get(web, f"/enqueue/slow/{SLOW_TASK}/") == "queued"
    wait_for(lambda: read(results / "slow.started"), "the slow task to start")
    stopped = project.run("stop", worker, timeout=grace + WAIT)
    assert stopped.returncode == 0, stopped.stderr + stopped.stdout
    assert read(results / "slow.done"), f"{worker} lost the task it was running when stopped"
    assert project.processes()[worker]["statename"] == "STOPPED"
    assert f"stopped: {worker} (exit status 0)" in project.logfile().read_text()


def read(path: Path) -> str | None:
    try:
        return path.read_text() or None
    except FileNotFoundError:
        return None


def test_check_names_what_is_missing(project: Project) -> None:
    # Every preset installed, none of the queues' apps or settings: an error each.
    for preset in PRESETS.values():
        project.add_settings(f"INSTALLED_APPS.append({preset.app!r})\n")
    project.write("supervisord.conf", "")
    checked = project.run_manage("check")
    assert checked.returncode == 1
    celery = "E112" if importlib.util.find_spec("celery") else "E111"  # no app / no Celery
    for check_id in ("E101", celery, "E121", "E131", "E141"):
        assert f"djsupervisor.{check_id}" in checked.stderr, checked.stderr
    assert "Traceback" not in checked.stderr


def test_two_schedulers_are_refused_before_anything_starts(project: Project) -> None:
    require(importlib.util.find_spec("celery"), "celery")
    preset = PRESETS["celery"]
    project.add_settings(SETTINGS.format(redis=free_port()))
    project.add_settings(f"INSTALLED_APPS.append({preset.app!r})\n{preset.settings}")
    project.write("jobs/__init__.py", "")
    project.write("jobs/recorder.py", RECORDER)
    project.write("jobs/tasks.py", preset.tasks)
    project.write(
        "supervisord.conf",
        "[program:celery_beat]\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)s\n",
    )
    checked = project.run_manage("check")
    assert checked.returncode == 1
    assert "2 processes run Celery beat ('celery_beat' (2 processes))" in checked.stderr
    assert "djsupervisor.E114" in checked.stderr
    started = project.run("--daemonize")
    assert started.returncode == 1
    assert started.stderr.strip().splitlines() == [started.stderr.strip()]
    assert "djsupervisor.E114" in started.stderr and "Traceback" not in started.stderr
    assert project.client().state() is None  # nothing started


BROKEN = """
INSTALLED_APPS += ["django_q", "django_rq", "huey.contrib.djhuey"]
SUPERVISOR_CELERY_APP = "jobs.tasks"  # a Celery app without a broker
RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
HUEY = {"huey_class": "huey.MemoryHuey", "immediate": True}
"""
DUMMY_TASKS = """
TASKS = {"default": {"BACKEND": (
    "django_tasks" if importlib.util.find_spec("django_tasks") else "django.tasks"
) + ".backends.dummy.DummyBackend"}}
"""
BROKEN_CONFIG = """
[program:rqworker]
command={{ PYTHON }} manage.py rqworker high
[program:huey]
numprocs=2
process_name=%(program_name)s_%(process_num)s
"""


def test_check_names_what_would_break_each_preset(project: Project) -> None:
    for package in ("celery", "django_q", "django_rq", "huey"):
        require(importlib.util.find_spec(package), package)
    project.add_settings(SETTINGS.format(redis=free_port()))
    for preset in PRESETS.values():
        project.add_settings(f"INSTALLED_APPS.append({preset.app!r})\n")
    project.add_settings(BROKEN)
    expected = ["E113", "E122", "E132", "E142", "E143"]
    config = BROKEN_CONFIG
    if importlib.util.find_spec("django_tasks_db"):  # Django 5.2 and later
        project.add_settings(PRESETS["django_tasks"].settings)
        project.add_settings(DUMMY_TASKS)
        expected.append("E102")
    else:  # E101 otherwise; excluded, its checks are not run
        config += "[program:db_worker]\nexclude=true\n"
    project.write("supervisord.conf", config)
    project.write("jobs/__init__.py", "")
    project.write("jobs/tasks.py", "from celery import Celery\n\napp = Celery('jobs')\n")
    checked = project.run_manage("check")
    assert checked.returncode == 1
    found = sorted(set(re.findall(r"djsupervisor\.(E1\d\d)", checked.stderr)))
    assert found == sorted(expected), checked.stderr
    assert "'high' queue" in checked.stderr and "Traceback" not in checked.stderr


@pytest.mark.parametrize(
    ("command", "refused"),
    [
        ("djsupervisor_db_worker --no-reload", True),  # the preset's
        ("db_worker --no-reload", True),  # the project's own, db_worker itself
        ("runworker", False),  # something else: not the preset's to check
    ],
)
def test_the_worker_check_reads_either_worker_command(
    project: Project, command: str, refused: bool
) -> None:
    if django.VERSION < (5, 2):
        pytest.skip("django-tasks-db needs Django 5.2 or later")
    require(importlib.util.find_spec("django_tasks_db"), "django_tasks_db")
    project.add_settings(f"INSTALLED_APPS.append({PRESETS['django_tasks'].app!r})\n")
    project.add_settings(PRESETS["django_tasks"].settings)
    project.add_settings(DUMMY_TASKS)  # a backend db_worker never gets a task from
    project.write("supervisord.conf", f"[program:db_worker]\ncommand=python manage.py {command}\n")
    checked = project.run_manage("check")
    assert ("djsupervisor.E102" in checked.stderr) is refused, checked.stderr
    assert checked.returncode == (1 if refused else 0), checked.stderr


def test_a_preset_whose_programs_are_excluded_is_not_checked(project: Project) -> None:
    # The django_tasks preset without django-tasks-db would be djsupervisor.E101.
    project.add_settings(f"INSTALLED_APPS.append({PRESETS['django_tasks'].app!r})\n")
    project.write("supervisord.conf", "[program:db_worker]\nexclude=true\n")
    checked = project.run_manage("check")
    assert checked.returncode == 0, checked.stderr
