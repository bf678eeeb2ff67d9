"""The rq preset's app: its program is in management/supervisord.conf."""

from __future__ import annotations

from ..preset import PresetConfig, RequiredApp


class RQPresetConfig(PresetConfig):
    default = True  # not PresetConfig, which this module imports
    name = "djsupervisor.contrib.rq"
    label = "djsupervisor_rq"  # not 'rq'
    verbose_name = "Supervisor preset: RQ"
    programs = ("rqworker",)
    required_app = RequiredApp(
        "django_rq", "django-rq's rqworker", "django-rq", "djsupervisor.E131"
    )
