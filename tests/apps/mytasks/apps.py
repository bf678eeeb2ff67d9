"""The app of a third-party preset: the public hook, and nothing else of djsupervisor."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.core.checks import CheckMessage, Error

from djsupervisor.presets import PresetConfig, RequiredApp, Sections, one_scheduler


class MyTasksConfig(PresetConfig):
    name = "tests.apps.mytasks"
    label = "mytasks"
    programs = ("mytasks_worker", "mytasks_scheduler")  # its management/supervisord.conf's
    required_app = RequiredApp("tests.apps.alpha", "alpha's runworker", "alpha", "mytasks.E001")

    def check_config(self, sections: Sections) -> Iterator[CheckMessage]:
        if not getattr(settings, "MYTASKS_BROKER", None):
            yield Error(
                "settings.MYTASKS_BROKER is not set: the worker would get no task",
                hint='MYTASKS_BROKER = "redis://127.0.0.1:6379/0"',
                id="mytasks.E002",
            )
        yield from one_scheduler(
            sections, lambda words: "runscheduler" in words, "mytasks' scheduler", "mytasks.E003"
        )
