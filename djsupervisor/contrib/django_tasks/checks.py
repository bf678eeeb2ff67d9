"""What would keep the django_tasks preset's worker from running tasks."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.management.base import CommandError

from djsupervisor.presets import PresetConfig, Sections, management_options

BACKEND = "django_tasks_db.DatabaseBackend"
# The preset's command, else db_worker itself where the project runs it.
COMMANDS = ("djsupervisor_db_worker", "db_worker")


def check_config(preset: PresetConfig, sections: Sections) -> Iterator[CheckMessage]:
    try:
        for command in COMMANDS:
            if (options := management_options(sections, "db_worker", command)) is not None:
                break
    except CommandError as exc:  # db_worker's own check of its backend, among others
        yield Error(
            f"db_worker refuses the db_worker program's options: {exc}",
            hint=f'TASKS = {{"default": {{"BACKEND": "{BACKEND}"}}}}, or --backend NAME',
            id="djsupervisor.E102",
        )
        return
    if options is None:
        return  # the project runs something else there
    backend = getattr(settings, "TASKS", {}).get(options.backend_name, {}).get("BACKEND")
    if backend != BACKEND:
        yield Error(
            f"the db_worker program works on the tasks backend {options.backend_name!r}, "
            f"which is {backend!r}, not {BACKEND!r}: it would never get a task",
            hint=f'TASKS = {{"{options.backend_name}": {{"BACKEND": "{BACKEND}"}}}}',
            id="djsupervisor.E102",
        )
