"""The command-line options of ``manage.py supervisor`` as one value object."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields

AUTORELOAD = "autoreload"  # the program that watches the code, and the command it runs


@dataclass(frozen=True)
class Options:
    """Hold what the user chose on the command line.

    The pipeline takes an ``Options`` rather than argparse's namespace so that it
    can be built and tested without a management command.
    """

    project_dir: str | None = None
    config_file: str | None = None
    pidfile: str | None = None
    logfile: str | None = None
    daemonize: bool = False
    launch: tuple[str, ...] = ()
    nolaunch: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    autoreload: tuple[str, ...] = ()
    noreload: bool = False

    def as_command_line(self) -> str:
        """Render the options so a program can call ``manage.py supervisor`` alike."""
        return shlex.join(self.as_arguments())

    def as_arguments(self) -> list[str]:
        """Return the options as command-line words.

        ``--daemonize`` is left out: a program re-invoking the command wants to
        talk to the running supervisord, not to start another one.
        """
        words: list[str] = []
        for field in fields(self):
            value = getattr(self, field.name)
            flag = "--" + field.name.replace("_", "-")
            if field.name == "daemonize" or not value:
                continue
            if value is True:
                words.append(flag)
            elif isinstance(value, tuple):
                for item in value:
                    words += [flag, item]
            else:
                words += [flag, value]
        return words
