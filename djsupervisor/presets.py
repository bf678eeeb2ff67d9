"""The public hook for presets: apps that ship programs, and check them in the merged config.

A preset is an app whose ``AppConfig`` subclasses :class:`PresetConfig`. Its
``management/supervisord.conf`` is a config layer like any installed app's;
its :meth:`PresetConfig.check_config` sees the merged config, as plain dicts,
and returns what would break its programs. djsupervisor's own presets
(``djsupervisor.contrib``) use nothing else of djsupervisor than this module,
and a third-party app can do the same: see docs/presets/index.rst.
"""

from __future__ import annotations

import shlex
from argparse import Namespace
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from django.apps import AppConfig, apps
from django.core.checks import CheckMessage, Error

# Light: every preset's apps.py imports this module, in every manage.py
# command; the config pipeline is imported when a check runs.
from .config.ini import Sections
from .errors import SettingError

__all__ = [
    "PresetConfig",
    "RequiredApp",
    "Sections",
    "SettingError",
    "installed_presets",
    "management_options",
    "one_scheduler",
    "program_command",
    "programs_running",
]


class RequiredApp(NamedTuple):
    """The app whose management command a preset's program runs."""

    app: str  # as in INSTALLED_APPS
    command: str  # what the program runs, for the message
    package: str  # what to pip install
    check_id: str


class PresetConfig(AppConfig):
    """A preset's app: its programs come from its ``management/supervisord.conf``.

    Override :meth:`check_config` to check the merged config, and set
    ``conf`` to an object whose ``SUPERVISOR_*`` properties read the preset's
    own settings (raising :class:`SettingError` on a wrong value). The
    messages are reported by ``manage.py check`` and when supervisord starts,
    where an error stops the start.
    """

    # Django takes the one AppConfig subclass of an app's apps.py as its
    # config, and this class is imported there too: not this one, the subclass.
    default = False
    programs: tuple[str, ...] = ()  # the programs its management/supervisord.conf defines
    required_app: RequiredApp | None = None
    conf: object | None = None  # its settings, read as djsupervisor's own are

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "default" not in cls.__dict__:
            cls.default = True

    def check_config(self, sections: Sections) -> Iterable[CheckMessage]:
        """Return what is wrong with this preset in the merged config ``sections``.

        Called only while one of ``programs`` is in the config and
        ``required_app`` (if any) is installed. ``sections`` maps
        ``"program:NAME"`` (and every other section) to its options, strings
        all; do not change it.
        """
        return []

    def preset_messages(self, sections: Sections) -> Iterable[CheckMessage]:
        """Return this preset's messages about ``sections``: djsupervisor's checks call this."""
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
        return self.check_config(sections)

    def setting_errors(self) -> Iterator[SettingError]:
        """Yield what is wrong with the preset's own settings, those ``conf`` reads."""
        yield from read_settings(self.conf)


def installed_presets() -> list[PresetConfig]:
    """Return the installed presets' app configs, in ``INSTALLED_APPS`` order."""
    return [app for app in apps.get_app_configs() if isinstance(app, PresetConfig)]


def read_settings(conf: object) -> Iterator[SettingError]:
    """Read every ``SUPERVISOR_*`` property of ``conf``; yield the errors they raise."""
    if conf is None:
        return
    for name in (name for name in dir(type(conf)) if name.startswith("SUPERVISOR_")):
        try:
            getattr(conf, name)
        except SettingError as exc:
            yield exc


def program_command(sections: Sections, program: str) -> list[str] | None:
    """Return the words of ``program``'s command; None if it has none, or it does not split.

    A command that does not split is djsupervisor.E010's to report.
    """
    try:
        return shlex.split(sections.get(f"program:{program}", {}).get("command", ""))
    except ValueError:
        return None


def management_options(sections: Sections, program: str, command: str) -> Namespace | None:
    """Return the options ``program`` gives ``manage.py COMMAND``, parsed by that command.

    None if the program does not run that command (the project changed it);
    Django's CommandError, saying what, if the command refuses its options.
    """
    from django.core.management import get_commands, load_command_class

    words = program_command(sections, program)
    app = get_commands().get(command)
    if words is None or command not in words or app is None:
        return None
    parser = load_command_class(app, command).create_parser("manage.py", command)
    return parser.parse_args(words[words.index(command) + 1 :])


def programs_running(sections: Sections, runs: Callable[[list[str]], bool]) -> dict[str, int]:
    """Return the programs whose command ``runs`` says yes to, with their number of processes."""
    from .config.merge import process_sections

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
