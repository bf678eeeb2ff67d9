"""What would keep the django_q2 preset's cluster from running tasks, or schedule them twice."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.core.checks import CheckMessage, Error

from djsupervisor.presets import PresetConfig, Sections, one_scheduler


def check_config(preset: PresetConfig, sections: Sections) -> Iterator[CheckMessage]:
    cluster = getattr(settings, "Q_CLUSTER", None)
    if not isinstance(cluster, dict) or not cluster:
        yield Error(
            "settings.Q_CLUSTER is not set: qcluster would look for Redis on localhost",
            hint='Q_CLUSTER = {"name": "myproject", "orm": "default"} (or a "redis" broker)',
            id="djsupervisor.E122",
        )
        return
    if cluster.get("scheduler", True):
        yield from one_scheduler(
            sections, runs_qcluster, "django-q2's scheduler (qcluster)", "djsupervisor.E123"
        )


def runs_qcluster(words: list[str]) -> bool:
    return "qcluster" in words
