"""What would keep the django_tasks preset's worker from running tasks."""

from __future__ import annotations

from collections.abc import Iterator

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error

from ...config.ini import Sections
from ..preset import missing_app

WORKER_APP = "django_tasks_db"  # the app whose db_worker command the program runs
BACKEND = "django_tasks_db.DatabaseBackend"


def check_config(preset: AppConfig, sections: Sections) -> Iterator[CheckMessage]:
    missing = missing_app(
        preset, WORKER_APP, "django-tasks-db's db_worker", "django-tasks-db", "djsupervisor.E101"
    )
    if missing:
        yield from missing
        return
    backends = getattr(settings, "TASKS", {})
    if not any(options.get("BACKEND") == BACKEND for options in backends.values()):
        yield Error(
            f"no backend in settings.TASKS is {BACKEND!r}: db_worker would never get a task",
            hint=f'TASKS = {{"default": {{"BACKEND": "{BACKEND}"}}}}',
            id="djsupervisor.E102",
        )
