"""The django_tasks preset's app: its program is in management/supervisord.conf."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.checks import CheckMessage

from djsupervisor.presets import PresetConfig, RequiredApp, Sections


class DjangoTasksPresetConfig(PresetConfig):
    name = "djsupervisor.contrib.django_tasks"
    # Not 'django_tasks', the label of the django-tasks package's own app.
    label = "djsupervisor_django_tasks"
    verbose_name = "Supervisor preset: django-tasks"
    programs = ("db_worker",)
    required_app = RequiredApp(
        "django_tasks_db", "django-tasks-db's db_worker", "django-tasks-db", "djsupervisor.E101"
    )

    def check_config(self, sections: Sections) -> Iterable[CheckMessage]:
        from .checks import check_config  # imported when the checks run, not at startup

        return check_config(self, sections)
