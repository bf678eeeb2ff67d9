"""Django app configuration for djsupervisor."""

from __future__ import annotations

from django.apps import AppConfig


class DjSupervisorConfig(AppConfig):
    name = "djsupervisor"
    verbose_name = "Supervisor"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .serverlog import quiet_page_polls

        quiet_page_polls()
