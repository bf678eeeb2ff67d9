"""What would keep the huey preset's consumer from running tasks, or schedule them twice."""

from __future__ import annotations

from collections.abc import Iterator

from django.core.checks import CheckMessage, Error

from djsupervisor.presets import PresetConfig, Sections, one_scheduler


def check_config(preset: PresetConfig, sections: Sections) -> Iterator[CheckMessage]:
    from huey.contrib.djhuey import HUEY

    if HUEY.immediate:
        yield Error(
            "huey runs tasks at once in the process that calls them (immediate mode, "
            "on by default with DEBUG): the consumer would never get one",
            hint='set HUEY["immediate"] = False',
            id="djsupervisor.E142",
        )
    yield from one_scheduler(
        sections, runs_consumer, "huey's consumer and its periodic tasks", "djsupervisor.E143"
    )


def runs_consumer(words: list[str]) -> bool:
    """Tell whether a command runs a huey consumer that also runs the periodic tasks."""
    consumer = "run_huey" in words or any(word.endswith("huey_consumer") for word in words)
    return consumer and not {"-n", "--no-periodic"} & set(words)
