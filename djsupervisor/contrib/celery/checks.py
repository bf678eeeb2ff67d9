"""What would keep the celery preset's programs from running tasks, or run them twice."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.util import find_spec

from django.core.checks import CheckMessage, Error

from djsupervisor.presets import PresetConfig, Sections, one_scheduler

from .conf import conf


def check_config(preset: PresetConfig, sections: Sections) -> Iterator[CheckMessage]:
    if find_spec("celery") is None:
        yield Error(
            f"{preset.name} runs Celery, which is not installed",
            hint="pip install celery",
            id="djsupervisor.E111",
        )
        return
    from celery.app.utils import find_app

    name = conf.SUPERVISOR_CELERY_APP
    try:
        app = find_app(name)
    except Exception as exc:  # whatever importing the user's module raises
        yield Error(
            f"the Celery app {name!r} cannot be loaded: {type(exc).__name__}: {exc}",
            hint="set SUPERVISOR_CELERY_APP to the module of your Celery() instance, "
            "e.g. 'proj.celery'",
            id="djsupervisor.E112",
        )
        return
    if not app.conf.broker_url:
        yield Error(
            f"the Celery app {name!r} has no broker: the worker would wait for "
            "amqp://localhost, which is not what you meant",
            hint='set CELERY_BROKER_URL (e.g. "redis://127.0.0.1:6379/0") and '
            'app.config_from_object("django.conf:settings", namespace="CELERY")',
            id="djsupervisor.E113",
        )
    yield from one_scheduler(sections, runs_beat, "Celery beat", "djsupervisor.E114")


def runs_beat(words: list[str]) -> bool:
    """Tell whether a command runs Celery beat: ``celery beat``, or a worker with ``-B``."""
    celery = any(word == "celery" or word.endswith("/celery") for word in words)
    return celery and ("beat" in words or bool({"-B", "--beat"} & set(words)))
