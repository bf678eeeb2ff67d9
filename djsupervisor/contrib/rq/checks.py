"""What would keep the rq preset's worker from running jobs."""

from __future__ import annotations

from collections.abc import Iterator

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error

from ...config.ini import Sections
from ..preset import missing_app

QUEUE_APP = "django_rq"  # the app whose rqworker command the program runs
QUEUE = "default"  # the queue rqworker works on when given none


def check_config(preset: AppConfig, sections: Sections) -> Iterator[CheckMessage]:
    missing = missing_app(
        preset, QUEUE_APP, "django-rq's rqworker", "django-rq", "djsupervisor.E131"
    )
    if missing:
        yield from missing
        return
    queues = getattr(settings, "RQ_QUEUES", None)
    if not isinstance(queues, dict) or QUEUE not in queues:
        yield Error(
            f"settings.RQ_QUEUES has no {QUEUE!r} queue, which rqworker works on",
            hint='RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:6379/0"}}',
            id="djsupervisor.E132",
        )
