"""The presets in the config pipeline, and their checks of the merged config."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from django.test import override_settings

from djsupervisor.config.build import build
from djsupervisor.contrib.celery.checks import runs_beat
from djsupervisor.contrib.django_q2.checks import runs_qcluster
from djsupervisor.contrib.huey.checks import runs_consumer
from djsupervisor.contrib.preset import one_scheduler, programs_running
from djsupervisor.options import Options


@pytest.mark.parametrize(
    ("command", "beat"),
    [
        ("python -m celery --app proj beat", True),
        ("/venv/bin/celery -A proj worker -B", True),
        ("celery -A proj worker --beat --loglevel INFO", True),
        ("python -m celery --app proj worker", False),
        ("python manage.py beat", False),  # not Celery's
    ],
)
def test_celery_beat_is_recognised(command: str, beat: bool) -> None:
    assert runs_beat(shlex.split(command)) is beat


@pytest.mark.parametrize(
    ("command", "periodic"),
    [
        ("python manage.py run_huey", True),
        ("python manage.py run_huey --no-periodic", False),
        ("huey_consumer app.huey -n", False),
        ("/venv/bin/huey_consumer app.huey", True),
    ],
)
def test_huey_consumers_with_periodic_tasks_are_recognised(command: str, periodic: bool) -> None:
    assert runs_consumer(shlex.split(command)) is periodic


def test_every_process_counts() -> None:
    sections = {
        "program:q": {"command": "python manage.py qcluster", "numprocs": "2"},
        "program:other": {"command": "python manage.py qcluster --settings=x"},
        "program:web": {"command": "python manage.py runserver"},
        "program:broken": {"command": "python 'unclosed"},
    }
    assert programs_running(sections, runs_qcluster) == {"q": 2, "other": 1}
    (error,) = one_scheduler(sections, runs_qcluster, "qcluster", "djsupervisor.E123")
    assert error.msg.startswith("3 processes run qcluster ('q' (2 processes), 'other')")
    assert error.id == "djsupervisor.E123"


def test_one_scheduler_is_fine() -> None:
    sections = {"program:q": {"command": "python manage.py qcluster", "numprocs": "1"}}
    assert one_scheduler(sections, runs_qcluster, "qcluster", "djsupervisor.E123") == []


def test_presets_are_overridden_and_excluded_like_any_app(tmp_path: Path, short_dir: Path) -> None:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "supervisord.conf").write_text(
        "[program:celery_worker]\nstopwaitsecs=1800\n[program:celery_beat]\nexclude=true\n"
    )
    installed = ["djsupervisor", "djsupervisor.contrib.celery", "djsupervisor.contrib.huey"]
    with override_settings(
        INSTALLED_APPS=installed,
        SUPERVISOR_RUNTIME_DIR=str(short_dir),
        SUPERVISOR_CELERY_APP="proj.celery:app",
    ):
        sections = build(Options(project_dir=str(tmp_path), noreload=True)).merged.sections
    worker = sections["program:celery_worker"]
    assert shlex.split(worker["command"])[1:5] == ["-m", "celery", "--app", "proj.celery:app"]
    assert worker["stopwaitsecs"] == "1800"  # the project's
    assert (worker["stopsignal"], worker["stopasgroup"]) == ("TERM", "false")  # the preset's
    assert "program:celery_beat" not in sections
    assert sections["program:huey"]["stopsignal"] == "INT"
