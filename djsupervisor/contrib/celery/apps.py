"""The celery preset's app: its programs are in management/supervisord.conf."""

from __future__ import annotations

from ..preset import PresetConfig


class CeleryPresetConfig(PresetConfig):
    default = True  # not PresetConfig, which this module imports
    name = "djsupervisor.contrib.celery"
    label = "djsupervisor_celery"  # not 'celery', which a project may use itself
    verbose_name = "Supervisor preset: Celery"
    programs = ("celery_worker", "celery_beat")
