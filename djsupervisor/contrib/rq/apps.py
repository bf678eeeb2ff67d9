"""The rq preset's app: its program is in management/supervisord.conf."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.checks import CheckMessage

from djsupervisor.presets import PresetConfig, RequiredApp, Sections


class RQPresetConfig(PresetConfig):
    name = "djsupervisor.contrib.rq"
    label = "djsupervisor_rq"  # not 'rq'
    verbose_name = "Supervisor preset: RQ"
    programs = ("rqworker",)
    required_app = RequiredApp(
        "django_rq", "django-rq's rqworker", "django-rq", "djsupervisor.E131"
    )

    def check_config(self, sections: Sections) -> Iterable[CheckMessage]:
        from .checks import check_config  # imported when the checks run, not at startup

        return check_config(self, sections)
