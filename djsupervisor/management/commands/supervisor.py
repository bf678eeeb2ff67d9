"""``manage.py supervisor``: parse options and hand over to djsupervisor's packages."""

from __future__ import annotations

import argparse
import contextlib
import sys
from functools import partial
from typing import TYPE_CHECKING, Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from ... import __version__
from ...errors import INTERRUPTED, DjsupervisorError
from ...options import Options, add_arguments
from ...usage import HelpFormatter, description, help_of, wants_help

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from ...control.connection import Running
    from ...runtime import RuntimeDir

# Each command imports only what it uses: 'status' runs dozens of times a
# day, and the config build and supervisorctl cost it 30 ms or more
# (bench/control.py).

# Commands that make supervisord re-read its config file: render it anew first
# so that they see the current supervisord.conf files and settings, with the
# options supervisord was started with (config/kept.py).
REREAD_COMMANDS = ("reload", "reread", "update")


class ExitStatus(CommandError):
    """End the command with a status, everything having been said already (supervisorctl's)."""


class Command(BaseCommand):
    help = (
        "Run the project's programs under supervisord, and control them. "
        "djsupervisor's options go before the command; the command's own words follow it."
    )
    # Validation happens while building the config; Django's full system checks
    # would slow down every 'status' for nothing.
    requires_system_checks = ()

    def get_version(self) -> str:
        return __version__

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", HelpFormatter)
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.description = description(self.help)
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)
        parser.add_argument(
            "ctl_args",
            nargs=argparse.REMAINDER,
            metavar="command",
            help="One of the commands above, with its arguments; none starts supervisord.",
        )

    def execute(self, *args: Any, **options: Any) -> str | None:
        if not getattr(self, "_called_from_command_line", False):
            return super().execute(*args, **options)
        from ...terminal.stdout import WatchedOutput, end_if_failed

        # Every write to stdout, Django's, supervisorctl's or the console's,
        # goes through one watcher: a closed pipe or a full disk ends the
        # command here, whatever was writing, not in a traceback.
        output = WatchedOutput(sys.stdout)
        sys.stdout = cast("TextIO", output)
        self.stdout = OutputWrapper(sys.stdout)
        status = 0
        try:
            super().execute(*args, **options)
        except ExitStatus as exit:
            status = exit.returncode  # Django would print the empty message as 'ExitStatus: '
        except BaseException:
            end_if_failed(output, sys.stderr)  # the output's failure, if it failed, else:
            raise
        end_if_failed(output, sys.stderr)
        if status:
            sys.exit(status)
        return None

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            status = self.dispatch(Options.from_parsed(opts), opts["ctl_args"])
        except DjsupervisorError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            status = INTERRUPTED
        if status:
            raise ExitStatus(returncode=status)

    def dispatch(self, options: Options, ctl_args: list[str]) -> int:
        """Run what the user asked for; return the exit status."""
        if ctl_args and options.daemonize:
            raise CommandError(
                f"--daemonize only applies to starting supervisord, not to {ctl_args[0]!r}"
            )
        if not ctl_args:
            return self.start(options)
        command, *rest = ctl_args
        if wants_help(command, rest):
            self.stdout.write(help_of(command), ending="")
            return 0
        if command == "run":
            from ...config.build import build
            from ...config.program_env import run_as

            run_as(build(options, check=False), rest)  # returns only on errors
        if command == "getconfig" or command in REREAD_COMMANDS:
            return self.build_and_run(options, command, rest)
        if command == "logs":
            return self.logs(options, rest)
        if command == "export":
            return self.export(options, rest)
        if command == "wait":
            return self.wait(options, rest)
        running = self.find_running(options)
        if command == "status":
            from ...control.ctl import run_status

            return run_status(running, rest, self.stdout.write, self.stderr.write)

        if command == "top":
            return self.top(options, running, rest)
        if command == "shutdown" and not rest:
            from ...control.shutdown import shutdown

            shutdown(running, self.report)
            self.stdout.write("Shut down")
            return 0
        from ...control.ctl import Session, run_supervisorctl

        if command == "shell":
            return run_supervisorctl(Session(running, self.rebuilder(options)), rest)
        return run_supervisorctl(Session(running), ctl_args)

    def start(self, options: Options) -> int:
        """Start supervisord, in the foreground or as a daemon."""
        if not options.daemonize:
            # First: it imports supervisor while this builds the config.
            from ...control.starting import Starting

            starting = Starting.spawn()
        from ...conf import ProjectSettings
        from ...config.build import build
        from ...config.kept import resolve

        project = ProjectSettings.read()
        # Absolute paths: 'reload', run from elsewhere, keeps these options.
        config = build(resolve(options), console=not options.daemonize, project=project)
        from ...checks import config_messages

        messages = config_messages(config.merged.sections, config.notes)
        for error in (message for message in messages if message.is_serious()):
            raise CommandError(f"{error.msg}; {error.hint} ({error.id})")
        for warning in messages:
            self.report(f"warning: {warning.msg} ({warning.hint})")
        if not options.daemonize:
            from ...control.launch import start_foreground

            start_foreground(config, starting, self.report, project.console_timestamps)
        from ...control.daemon import start_daemon

        pid = start_daemon(config, self.report)
        self.stdout.write(
            f"supervisord is running (pid {pid}); see 'manage.py supervisor status', "
            "stop it with 'manage.py supervisor shutdown'"
        )
        return 0

    def top(self, options: Options, running: Running, args: list[str]) -> int:
        """Show every process live until 'q' (docs: top)."""
        if args:
            raise CommandError("top takes no arguments")
        try:
            from ...terminal.top import Watch, run_top
        except ModuleNotFoundError:  # a Python built without ncurses
            raise CommandError(
                "top needs Python's curses module, which this Python was built without; "
                "use 'status' or 'logs -f'"
            ) from None
        run_top(Watch(running.client, self.runtime_dir(options).journal), running.client)
        return 0

    def build_and_run(self, options: Options, command: str, args: list[str]) -> int:
        """Run a command that needs the config built from the project's files."""
        from ...config.build import build

        show_secrets = command == "getconfig" and args == ["--show-secrets"]
        if command not in REREAD_COMMANDS and args and not show_secrets:
            raise CommandError(f"{command} takes no arguments but --show-secrets")
        if command == "getconfig":
            config = build(options)
            self.stdout.write(config.display_text(show_secrets), ending="")
            return 0
        from ...config.kept import rebuild
        from ...control.connection import running_of
        from ...control.ctl import Session, run_supervisorctl

        config = rebuild(options, self.runtime_dir(options), build)
        config.client.ensure_running()
        config.write()
        return run_supervisorctl(Session(running_of(config)), [command, *args])

    def rebuilder(self, options: Options) -> Callable[[], Running]:
        """Return what renders the config anew and writes it, for the shell's reread."""
        from ...config.build import build
        from ...config.kept import rebuild
        from ...control.connection import running_of

        def rebuild_config() -> Running:
            config = rebuild(options, self.runtime_dir(options), build)
            config.write()
            return running_of(config)

        return rebuild_config

    def logs(self, options: Options, args: list[str]) -> int:
        """Print the programs' output from the journal, in time order (``logs``)."""
        from ...conf import conf
        from ...terminal.logs import run_logs

        timestamps = conf.SUPERVISOR_CONSOLE_TIMESTAMPS
        run_logs(self.runtime_dir(options), args, timestamps, self.stdout)
        return 0

    def wait(self, options: Options, args: list[str]) -> int:
        """Wait until processes are up (``wait``); say what is not."""
        from ...control.waiting import run_wait

        return run_wait(partial(self.find_running, options), args, self.stderr.write)

    def export(self, options: Options, args: list[str]) -> int:
        """Write the programs in another platform's format (``export``)."""
        from ...export.arguments import parse
        from ...export.writer import export

        parsed = parse(args, self.project_dir(options).name)
        written, warnings = export(options, parsed)
        for warning in warnings:
            self.report(f"warning: {warning}")
        self.stdout.write(f"wrote {', '.join(path.name for path in written)} to {parsed.output}")
        return 0

    def project_dir(self, options: Options) -> Path:
        """Return the project's directory (manage.py's)."""
        from ...conf import conf
        from ...config.discovery import find_project_dir

        return find_project_dir(options.project_dir, conf.settings_module)

    def runtime_dir(self, options: Options) -> RuntimeDir:
        """Return the project's runtime directory, as it is named (created or not)."""
        from ...conf import conf
        from ...runtime import RuntimeDir

        return RuntimeDir.for_project(self.project_dir(options), conf.SUPERVISOR_RUNTIME_DIR)

    def find_running(self, options: Options) -> Running:
        """Return how to reach the project's running supervisord."""
        from ...control.connection import find_running

        return find_running(self.runtime_dir(options))

    def report(self, message: str) -> None:
        """Tell the user about something djsupervisor did on its own."""
        # Nobody to tell (a closed pipe, a full disk): the programs matter more.
        with contextlib.suppress(OSError):
            self.stderr.write(f"djsupervisor: {message}")
