"""What the presets share: their app config class and the checks of the config they add to."""

from __future__ import annotations

import shlex
from argparse import Namespace
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import NamedTuple

from django.apps import AppConfig, apps
from django.core.checks import CheckMessage, Error
from django.core.management import get_commands, load_command_class

from ..config.ini import Sections
from ..config.merge import process_sections


class RequiredApp(NamedTuple):
    """The app whose management command a preset's program runs."""

    app: str  # as in INSTALLED_APPS
    command: str  # what the program runs, for the message
    package: str  # what to pip install
    check_id: str


class PresetConfig(AppConfig):
    """A preset's app. Its ``checks`` module's ``check_config`` sees the merged config.

    The messages are reported by ``manage.py check`` and when supervisord
    starts, where an error stops the start.
    """

    programs: tuple[str, ...] = ()  # the programs its management/supervisord.conf defines
    required_app: RequiredApp | None = None

    def check_config(self, sections: Sections) -> Iterable[CheckMessage]:
        """Return what is wrong with this preset in the merged config ``sections``."""
        if not any(f"program:{name}" in sections for name in self.programs):
            return []  # the project excluded them all: nothing of the preset runs
        required = self.required_app
        if required is not None and not apps.is_installed(required.app):
            return [
                Error(
                    f"{self.name} runs {required.command}, but {required.app!r} is not in "
                    "INSTALLED_APPS",
                    hint=f"pip install {required.package} and add {required.app!r} to "
                    "INSTALLED_APPS",
                    id=required.check_id,
                )
            ]
        checks = import_module(f"{self.name}.checks")
        messages: Iterable[CheckMessage] = checks.check_config(self, sections)
        return messages


def management_options(sections: Sections, program: str, command: str) -> Namespace | None:
    """Return the options ``program`` gives ``manage.py COMMAND``, parsed by that command.

    None if the program does not run that command (the project changed it);
    Django's CommandError, saying what, if the command refuses its options.
    """
    try:
        words = shlex.split(sections.get(f"program:{program}", {}).get("command", ""))
    except ValueError:
        return None  # djsupervisor.E010 says so
    app = get_commands().get(command)
    if command not in words or app is None:
        return None
    parser = load_command_class(app, command).create_parser("manage.py", command)
    return parser.parse_args(words[words.index(command) + 1 :])


def programs_running(sections: Sections, runs: Callable[[list[str]], bool]) -> dict[str, int]:
    """Return the programs whose command ``runs`` says yes to, with their number of processes."""
    found = {}
    for section, name in process_sections(sections):
        options = sections[section]
        try:
            words = shlex.split(options.get("command", ""))
        except ValueError:
            continue  # djsupervisor.E010 says so
        if runs(words):
            found[name] = int(options.get("numprocs", "1") or 1)
    return found


def one_scheduler(
    sections: Sections, runs: Callable[[list[str]], bool], what: str, check_id: str
) -> list[CheckMessage]:
    """Return an error if more than one process of the config runs ``what``'s scheduler."""
    schedulers = programs_running(sections, runs)
    if sum(schedulers.values()) <= 1:
        return []
    programs = ", ".join(
        f"{name!r}" + (f" ({count} processes)" if count > 1 else "")
        for name, count in schedulers.items()
    )
    return [
        Error(
            f"{sum(schedulers.values())} processes run {what} ({programs}): each would run "
            "every scheduled task",
            hint="keep one process: numprocs=1, and no other program running it",
            id=check_id,
        )
    ]
