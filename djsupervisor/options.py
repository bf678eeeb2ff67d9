"""The command-line options of ``manage.py supervisor`` as one value object, and its commands'."""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError

AUTORELOAD = "autoreload"  # the program that watches the code
# The options that name programs, with their short flags and help.
PROGRAM_FLAGS = (
    ("-l", "launch", "Start PROG automatically (autostart=true)."),
    ("-n", "nolaunch", "Do not start PROG automatically (autostart=false)."),
    ("-x", "exclude", "Leave PROG out of the config."),
    ("-i", "include", "Keep PROG even if the config excludes it."),
    ("-o", "only", "Run only PROG and the programs it depends on (repeatable)."),
    ("-r", "autoreload", "Autoreload only PROG (repeatable)."),
)


@dataclass(frozen=True)
class Options:
    """Hold what the user chose on the command line.

    The config build takes an ``Options`` rather than argparse's namespace so
    that it can be built and tested without a management command.
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
    only: tuple[str, ...] = ()
    autoreload: tuple[str, ...] = ()
    noreload: bool = False

    @classmethod
    def from_parsed(cls, parsed: dict[str, Any]) -> Options:
        """Return the options in ``parsed``, the values of a parser given :func:`add_arguments`."""
        values: dict[str, Any] = {
            field.name: tuple(value) if isinstance(value := parsed[field.name], list) else value
            for field in fields(cls)
        }
        return cls(**values)

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that :class:`Options` holds to ``parser``."""
    parser.add_argument(
        "-d",
        "--daemonize",
        action="store_true",
        help="Run supervisord in the background; return once it has spawned the programs.",
    )
    parser.add_argument("--pidfile", help="Where supervisord writes its pid.")
    parser.add_argument("--logfile", help="Where supervisord writes its own log.")
    parser.add_argument(
        "--project-dir", help="The project directory (default: where manage.py is)."
    )
    parser.add_argument(
        "--config-file",
        help="The project's config file (default: supervisord.conf in the project directory).",
    )
    for short, name, help_text in PROGRAM_FLAGS:
        parser.add_argument(
            short, f"--{name}", action="append", default=[], metavar="PROG", help=help_text
        )
    parser.add_argument(
        "--noreload", action="store_true", help="Do not restart programs when code changes."
    )


def parse_words(
    parser: argparse.ArgumentParser, args: list[str], bad_value: str, usage: str
) -> argparse.Namespace:
    """Return a command's words ``args`` as ``parser`` reads them, or raise a one-line error.

    ``bad_value`` is the error for a value argparse refuses (a number that is
    not); other errors are argparse's, followed by ``usage``, as an unknown option is.
    """
    command = parser.prog.split()[-1]
    said = io.StringIO()
    try:
        # argparse's own message and usage would come before the error: it says it once.
        with contextlib.redirect_stderr(said):
            # Names and options in any order: 'logs web -f worker'.
            parsed, unknown = parser.parse_known_intermixed_args(args)
    except SystemExit:
        message = said.getvalue().strip().splitlines()[-1].partition("error: ")[2]
        if "invalid" in message:
            raise ConfigError(f"{command}: {bad_value}") from None
        raise ConfigError(f"{command}: {message}; {usage}") from None
    if unknown:
        raise ConfigError(f"{command}: unknown option {unknown[0]!r}; {usage}")
    return parsed
