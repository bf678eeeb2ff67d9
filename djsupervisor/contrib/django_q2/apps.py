"""The django_q2 preset's app: its program is in management/supervisord.conf."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.checks import CheckMessage

from djsupervisor.presets import PresetConfig, RequiredApp, Sections


class DjangoQ2PresetConfig(PresetConfig):
    name = "djsupervisor.contrib.django_q2"
    label = "djsupervisor_django_q2"
    verbose_name = "Supervisor preset: django-q2"
    programs = ("qcluster",)
    required_app = RequiredApp("django_q", "django-q2's qcluster", "django-q2", "djsupervisor.E121")

    def check_config(self, sections: Sections) -> Iterable[CheckMessage]:
        from .checks import check_config  # imported when the checks run, not at startup

        return check_config(self, sections)
