"""App config of the demo jobs app."""

from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Configure the jobs app."""

    name = "jobs"
