"""The celery preset's app: its programs are in management/supervisord.conf."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.checks import CheckMessage

from djsupervisor.presets import PresetConfig, Sections

from .conf import conf as celery_settings


class CeleryPresetConfig(PresetConfig):
    name = "djsupervisor.contrib.celery"
    label = "djsupervisor_celery"  # not 'celery', which a project may use itself
    verbose_name = "Supervisor preset: Celery"
    programs = ("celery_worker", "celery_beat")
    conf = celery_settings  # SUPERVISOR_CELERY_APP

    def check_config(self, sections: Sections) -> Iterable[CheckMessage]:
        from .checks import check_config  # imported when the checks run, not at startup

        return check_config(self, sections)
