"""What would keep the rq preset's worker from running jobs."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.management.base import CommandError

from djsupervisor.presets import PresetConfig, Sections, management_options

QUEUE = "default"  # the queue rqworker works on when it names none


def check_config(preset: PresetConfig, sections: Sections) -> Iterator[CheckMessage]:
    try:
        options = management_options(sections, "rqworker", "rqworker")
    except CommandError:
        return  # rqworker says what at start; the queues are this check's concern
    if options is None:
        return  # the project runs something else there
    configured = getattr(settings, "RQ_QUEUES", None)
    configured = configured if isinstance(configured, dict) else {}
    missing = [queue for queue in options.args or [QUEUE] if queue not in configured]
    if missing:
        yield Error(
            f"settings.RQ_QUEUES has no {', '.join(map(repr, missing))} queue, which the "
            "rqworker program works on",
            hint=f'RQ_QUEUES = {{"{missing[0]}": {{"URL": "redis://127.0.0.1:6379/0"}}}}',
            id="djsupervisor.E132",
        )
