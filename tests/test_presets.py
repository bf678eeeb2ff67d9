"""The presets in the config pipeline, their checks of the merged config, and the public hook."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from django.test import override_settings

from djsupervisor.checks import check_supervisor_config
from djsupervisor.config.build import build
from djsupervisor.contrib.celery.checks import runs_beat
from djsupervisor.contrib.django_q2.checks import runs_qcluster
from djsupervisor.contrib.huey.checks import runs_consumer
from djsupervisor.options import Options
from djsupervisor.presets import one_scheduler, programs_running


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


def preset_ids(tmp_path: Path, short_dir: Path, config: str, **settings: object) -> list[str]:
    """Return the ids ``manage.py check`` reports for a project of ``config`` and ``settings``."""
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "supervisord.conf").write_text(config)
    settings = {
        "INSTALLED_APPS": ["djsupervisor", "tests.apps.alpha", "tests.apps.mytasks"],
        "SUPERVISOR_CONFIG_FILE": str(tmp_path / "supervisord.conf"),
        "SUPERVISOR_RUNTIME_DIR": str(short_dir),
        **settings,
    }
    with override_settings(**settings):
        return [str(message.id) for message in check_supervisor_config()]


def test_a_third_party_preset_checks_the_merged_config(tmp_path: Path, short_dir: Path) -> None:
    assert preset_ids(tmp_path, short_dir, "", MYTASKS_BROKER="redis://") == []
    assert preset_ids(tmp_path, short_dir, "") == ["mytasks.E002"]
    two = "[program:mytasks_scheduler]\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)s\n"
    assert preset_ids(tmp_path, short_dir, two, MYTASKS_BROKER="x") == ["mytasks.E003"]


def test_a_preset_is_checked_while_one_of_its_programs_runs(
    tmp_path: Path, short_dir: Path
) -> None:
    excluded = "[program:mytasks_worker]\nexclude=true\n[program:mytasks_scheduler]\nexclude=true\n"
    assert preset_ids(tmp_path, short_dir, excluded) == []
    assert preset_ids(tmp_path, short_dir, excluded.partition("[program:mytasks_s")[0]) == [
        "mytasks.E002"
    ]


def test_a_preset_without_its_required_app_says_what_to_install(
    tmp_path: Path, short_dir: Path
) -> None:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "supervisord.conf").write_text("")
    with override_settings(
        INSTALLED_APPS=["djsupervisor", "tests.apps.mytasks"],
        SUPERVISOR_CONFIG_FILE=str(tmp_path / "supervisord.conf"),
        SUPERVISOR_RUNTIME_DIR=str(short_dir),
    ):
        (error,) = check_supervisor_config()
    assert error.id == "mytasks.E001"
    assert error.msg == (
        "tests.apps.mytasks runs alpha's runworker, but 'tests.apps.alpha' is not in INSTALLED_APPS"
    )
    assert error.hint == "pip install alpha and add 'tests.apps.alpha' to INSTALLED_APPS"


@pytest.mark.parametrize("value", ["", 3])
def test_a_wrong_celery_app_setting_is_an_error_while_the_preset_is_installed(
    tmp_path: Path, short_dir: Path, value: object
) -> None:
    installed = ["djsupervisor", "djsupervisor.contrib.celery"]
    messages = preset_ids(
        tmp_path, short_dir, "", INSTALLED_APPS=installed, SUPERVISOR_CELERY_APP=value
    )
    assert messages == ["djsupervisor.E005"]
    with override_settings(INSTALLED_APPS=installed, SUPERVISOR_CELERY_APP=value):
        (error,) = check_supervisor_config()
    assert error.msg == (
        "settings.SUPERVISOR_CELERY_APP must name a Celery app ('proj' or 'proj.celery:app'), "
        f"not {value!r}"
    )


def test_the_celery_app_defaults_to_the_settings_package() -> None:
    from djsupervisor.contrib.celery.conf import conf

    with override_settings(SETTINGS_MODULE="proj.settings"):
        assert conf.SUPERVISOR_CELERY_APP == "proj"
    with override_settings(SUPERVISOR_CELERY_APP="proj.celery:app"):
        assert conf.SUPERVISOR_CELERY_APP == "proj.celery:app"
