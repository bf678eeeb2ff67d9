"""The django_tasks preset's app: its program is in management/supervisord.conf."""

from __future__ import annotations

from ..preset import PresetConfig, RequiredApp


class DjangoTasksPresetConfig(PresetConfig):
    default = True  # not PresetConfig, which this module imports
    name = "djsupervisor.contrib.django_tasks"
    # Not 'django_tasks', the label of the django-tasks package's own app.
    label = "djsupervisor_django_tasks"
    verbose_name = "Supervisor preset: django-tasks"
    programs = ("db_worker",)
    required_app = RequiredApp(
        "django_tasks_db", "django-tasks-db's db_worker", "django-tasks-db", "djsupervisor.E101"
    )
