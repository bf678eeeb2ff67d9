"""The help of ``manage.py supervisor``: every command in one line each, and each one's ``--help``.

The command list is laid out when the command's parser is made, which every
invocation does: it is plain strings here, and the parsers of ``logs`` and
``export`` are imported only for their own ``--help``.
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from django.core.management.base import DjangoHelpFormatter

PROG = "manage.py supervisor"
HELP_FLAGS = frozenset({"-h", "--help"})
HELP_COLUMN = 24  # where the one-line summaries start, as argparse's options' help does
NAMES = "NAME: a process, GROUP:NAME, GROUP:*, a program (all its processes) or all"

AddArguments = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Subcommand:
    """One command word of ``manage.py supervisor``, as its help describes it."""

    name: str
    arguments: str  # as its usage line shows them
    summary: str  # one sentence: the command list's line and the top of its --help
    add_arguments: AddArguments | None = None  # its arguments, described for --help
    ctl: str | None = None  # the supervisorctl command whose own help follows
    parses_words: bool = False  # djsupervisor reads all its words: --help may come anywhere

    def help(self) -> str:
        """Return what ``COMMAND --help`` prints: usage, what it does, its options."""
        parser = argparse.ArgumentParser(
            prog=f"{PROG} {self.name}",
            usage=f"{PROG} {self.name} {self.arguments}".rstrip(),
            description=self.summary,
            epilog=_supervisorctl_help(self.ctl) if self.ctl else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if self.add_arguments:
            self.add_arguments(parser)
        return parser.format_help()


def _getconfig_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="Show the environment files' values instead of ********.",
    )


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("PROG", help="The program whose directory and environment to use.")
    parser.add_argument("COMMAND", help="The command to run, with its arguments (ARGS).")


def _logs_arguments(parser: argparse.ArgumentParser) -> None:
    from .terminal.logs import add_arguments

    add_arguments(parser)


def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="Print a JSON array of the processes (name, program, state, pid, uptime, ready...).",
    )
    parser.add_argument("NAME", nargs="*", help="The processes to show (default: all).")


def _wait_arguments(parser: argparse.ArgumentParser) -> None:
    from .control.waiting import add_arguments

    add_arguments(parser)


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    from .export.arguments import add_arguments

    add_arguments(parser)


def _attach_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("PROG", help="The process to attach to; Ctrl-C detaches.")


def _shell_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "COMMAND", nargs="?", help="One supervisorctl command to run instead of the shell."
    )


def _supervisorctl_help(command: str) -> str:
    """Return supervisorctl's own help of ``command`` (it needs no running supervisord)."""
    from supervisor.supervisorctl import Controller, DefaultControllerPlugin

    lines: list[str] = []
    collector = SimpleNamespace(output=lines.append)
    if command == "help":
        Controller.help_help(collector)
    else:
        getattr(DefaultControllerPlugin(collector), f"help_{command}")()
    text = "\n".join(line.rstrip("\n") for line in lines).expandtabs()
    return f"supervisorctl's help of {command}:\n{textwrap.indent(text, '  ')}"


SUBCOMMANDS = (
    Subcommand(
        "getconfig",
        "[--show-secrets]",
        "Print the merged config as supervisord gets it; supervisord need not run.",
        _getconfig_arguments,
        parses_words=True,
    ),
    Subcommand(
        "run",
        "PROG COMMAND [ARGS ...]",
        "Run COMMAND in PROG's directory and environment, attached to the terminal.",
        _run_arguments,
    ),
    Subcommand(
        "logs",
        "[-f] [-n N] [--json] [PROG ...]",
        "Print the programs' output in time order, prefixed; -f follows it.",
        _logs_arguments,
        parses_words=True,
    ),
    Subcommand(
        "export",
        "FORMAT --output DIR [--name N] [--image I] [--base-image B] [--workdir W] "
        "[--python P] [--settings S] [--env-file F]",
        "Write the programs for systemd, Docker Compose, Kubernetes or a Procfile.",
        _export_arguments,
        parses_words=True,
    ),
    Subcommand(
        "attach",
        "PROG",
        "Show PROG's output and send it what you type, e.g. to a debugger (fg).",
        _attach_arguments,
        ctl="fg",
    ),
    Subcommand(
        "shell",
        "[COMMAND [ARGS ...]]",
        "Open supervisorctl's interactive shell, or run one of its commands.",
        _shell_arguments,
    ),
    Subcommand(
        "status",
        "[--json] [NAME ...]",
        "Print each process's state, readiness and what it waits for; --json for scripts.",
        _status_arguments,
        ctl="status",
    ),
    Subcommand(
        "top",
        "",
        "Show every process live on one screen; keys start, stop, restart, follow one.",
    ),
    Subcommand(
        "wait",
        "[--timeout S] [NAME ...]",
        "Wait until processes are ready, done or running; exit 1 saying what is not.",
        _wait_arguments,
        parses_words=True,
    ),
    Subcommand(
        "start",
        "NAME ...",
        "Start processes after what they depend on; wait until they run.",
        ctl="start",
    ),
    Subcommand("stop", "NAME ...", "Stop processes and wait until they are down.", ctl="stop"),
    Subcommand(
        "restart",
        "NAME ...",
        "Restart processes and what runs depending on them, in dependency order.",
        ctl="restart",
    ),
    Subcommand(
        "signal", "SIGNAL NAME ...", "Send a signal (HUP, USR1, ...) to processes.", ctl="signal"
    ),
    Subcommand(
        "tail",
        "[-f] [-BYTES] NAME [stdout|stderr]",
        "Print the end of a process's log file; -f follows it.",
        ctl="tail",
    ),
    Subcommand(
        "maintail",
        "[-f] [-BYTES]",
        "Print the end of supervisord's own log; -f follows it.",
        ctl="maintail",
    ),
    Subcommand("pid", "[NAME | all]", "Print supervisord's pid, or processes'.", ctl="pid"),
    Subcommand("clear", "NAME ...", "Empty processes' log files.", ctl="clear"),
    Subcommand(
        "reread",
        "",
        "Render the config from the files again; say what changed, change nothing.",
        ctl="reread",
    ),
    Subcommand(
        "update",
        "[GROUP ...]",
        "Render the config again; add, remove and restart the programs that changed.",
        ctl="update",
    ),
    Subcommand(
        "reload",
        "",
        "Render the config again; stop every program, then start them with it.",
        ctl="reload",
    ),
    Subcommand("add", "GROUP ...", "Start running groups added to the config.", ctl="add"),
    Subcommand("remove", "GROUP ...", "Stop running groups removed from it.", ctl="remove"),
    Subcommand("avail", "", "List the configured processes.", ctl="avail"),
    Subcommand(
        "shutdown",
        "",
        "Stop every program, dependents first, then supervisord; wait until it exits.",
        ctl="shutdown",
    ),
    Subcommand("version", "", "Print supervisord's version.", ctl="version"),
    Subcommand(
        "help",
        "[COMMAND]",
        "List supervisorctl's commands, or print one's help; supervisord must run.",
        ctl="help",
    ),
)
BY_NAME = {subcommand.name: subcommand for subcommand in SUBCOMMANDS}


def wants_help(command: str, args: list[str]) -> bool:
    """Tell whether ``COMMAND ARGS`` asks for the command's help.

    Only the first word counts where the words go on to a command
    (``run web manage.py --help``) or to supervisorctl.
    """
    subcommand = BY_NAME.get(command)
    if subcommand is None or not args:
        return False
    return args[0] in HELP_FLAGS or (subcommand.parses_words and bool(HELP_FLAGS & set(args)))


def help_of(command: str) -> str:
    """Return the ``--help`` text of ``command``, one of :data:`SUBCOMMANDS`."""
    return BY_NAME[command].help()


class HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's help layout; the description and the command list come laid out already."""


def description(summary: str) -> str:
    """Return the command's description: ``summary``, then every command in one line each."""
    width = max(shutil.get_terminal_size().columns - 2, HELP_COLUMN + 20)  # as argparse's
    lines = [textwrap.fill(summary, width), "", "commands:"]
    lines += _item(
        "(none)", "Start supervisord: in the foreground, or in the background (-d).", width
    )
    for subcommand in SUBCOMMANDS:
        invocation = f"{subcommand.name} {subcommand.arguments}".rstrip()
        lines += _item(invocation, subcommand.summary, width)
    lines += ["", textwrap.fill(f"{NAMES}. '{PROG} COMMAND --help' describes one.", width)]
    return "\n".join(lines)


def _item(invocation: str, summary: str, width: int) -> list[str]:
    """Lay out one command as argparse lays out an option: its summary in a column."""
    indent = " " * HELP_COLUMN
    head = f"  {invocation}"
    if len(head) <= HELP_COLUMN - 2:
        first = head.ljust(HELP_COLUMN)
        return textwrap.wrap(summary, width, initial_indent=first, subsequent_indent=indent)
    return [head, *textwrap.wrap(summary, width, initial_indent=indent, subsequent_indent=indent)]
