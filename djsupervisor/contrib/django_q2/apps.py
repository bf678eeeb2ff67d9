"""The django_q2 preset's app: its program is in management/supervisord.conf."""

from __future__ import annotations

from ..preset import PresetConfig, RequiredApp


class DjangoQ2PresetConfig(PresetConfig):
    default = True  # not PresetConfig, which this module imports
    name = "djsupervisor.contrib.django_q2"
    label = "djsupervisor_django_q2"
    verbose_name = "Supervisor preset: django-q2"
    programs = ("qcluster",)
    required_app = RequiredApp("django_q", "django-q2's qcluster", "django-q2", "djsupervisor.E121")
