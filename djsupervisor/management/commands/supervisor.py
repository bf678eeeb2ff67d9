"""``manage.py supervisor``: parse options and hand over to djsupervisor's pipeline."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...errors import ConfigError
from ...options import AUTORELOAD, Options

# Each command imports only what it uses: 'status' runs dozens of times a
# day, and the config pipeline and supervisorctl cost it 30 ms or more.

# Commands that make supervisord re-read its config file: render it anew first
# so that they see the current supervisord.conf files and settings.
REREAD_COMMANDS = ("reload", "reread", "update")
# Commands that build the config from the project's files; the others
# (status, stop, tail...) act on the config supervisord already runs.
BUILDING_COMMANDS = (*REREAD_COMMANDS, "getconfig", AUTORELOAD)
INTERRUPTED = 130  # exit status of a command stopped by Ctrl-C


class Command(BaseCommand):
    help = (
        "Run the project's programs under supervisord. With no command, start "
        "supervisord; 'getconfig' prints the merged config, 'shell' opens "
        "supervisorctl, 'autoreload' is what the autoreload program runs, and any "
        "other command (status, start, stop, restart, tail, reload, shutdown, ...) "
        "goes to supervisorctl."
    )
    # Validation happens while building the config; Django's full system checks
    # would slow down every 'status' for nothing.
    requires_system_checks = ()  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
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
        for short, name, help_text in (
            ("-l", "launch", "Start PROG automatically (autostart=true)."),
            ("-n", "nolaunch", "Do not start PROG automatically (autostart=false)."),
            ("-x", "exclude", "Leave PROG out of the config."),
            ("-i", "include", "Keep PROG even if the config excludes it."),
            ("-r", "autoreload", "Autoreload only PROG (repeatable)."),
        ):
            parser.add_argument(
                short, f"--{name}", action="append", default=[], metavar="PROG", help=help_text
            )
        parser.add_argument(
            "--noreload", action="store_true", help="Do not restart programs when code changes."
        )
        parser.add_argument(
            "ctl_args",
            nargs=argparse.REMAINDER,
            metavar="command",
            help="getconfig, shell, or a supervisorctl command with its arguments.",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        options = Options(
            project_dir=opts["project_dir"],
            config_file=opts["config_file"],
            pidfile=opts["pidfile"],
            logfile=opts["logfile"],
            daemonize=opts["daemonize"],
            launch=tuple(opts["launch"]),
            nolaunch=tuple(opts["nolaunch"]),
            exclude=tuple(opts["exclude"]),
            include=tuple(opts["include"]),
            autoreload=tuple(opts["autoreload"]),
            noreload=opts["noreload"],
        )
        ctl_args: list[str] = opts["ctl_args"]
        try:
            status = self.dispatch(options, ctl_args)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            status = INTERRUPTED
        if status:
            sys.exit(status)

    def dispatch(self, options: Options, ctl_args: list[str]) -> int:
        """Run what the user asked for; return the exit status."""
        if ctl_args and options.daemonize:
            raise ConfigError(
                f"--daemonize only applies to starting supervisord, not to {ctl_args[0]!r}"
            )
        if not ctl_args:
            return self.start(options)
        command, *rest = ctl_args
        if command in BUILDING_COMMANDS:
            return self.build_and_run(options, command, rest)
        from ...running import find_running

        running = find_running(options)
        if command == "status":
            from ...status import status

            return status(running.server, rest, self.stdout.write)
        from ... import launch

        if command == "shutdown" and not rest:
            launch.shutdown(running, self.report)
            self.stdout.write("Shut down")
            return 0
        return launch.run_supervisorctl(running, rest if command == "shell" else ctl_args)

    def start(self, options: Options) -> int:
        """Start supervisord, in the foreground or as a daemon."""
        from ... import launch, pipeline

        config = pipeline.build(options, console=not options.daemonize)
        if not options.daemonize:
            return launch.run_foreground(config, self.report)
        pid = launch.start_daemon(config, self.report)
        self.stdout.write(
            f"supervisord is running (pid {pid}); see 'manage.py supervisor status', "
            "stop it with 'manage.py supervisor shutdown'"
        )
        return 0

    def build_and_run(self, options: Options, command: str, args: list[str]) -> int:
        """Run a command that needs the config built from the project's files."""
        from ... import launch, pipeline
        from ...running import ensure_running

        if command not in REREAD_COMMANDS and args:
            raise ConfigError(f"{command} takes no arguments")
        config = pipeline.build(options)
        if command == "getconfig":
            self.stdout.write(config.text, ending="")
            return 0
        if command == AUTORELOAD:
            # Imported here: watching files is for the autoreload program only.
            from ...autoreload import run

            run(config, options.autoreload, self.log)  # until supervisord stops it
        ensure_running(config.server)
        config.write()
        return launch.run_supervisorctl(config.running, [command, *args])

    def log(self, message: str) -> None:
        """Write a line of the autoreload program's log, at once."""
        self.stdout.write(message)
        self.stdout.flush()

    def report(self, message: str) -> None:
        """Tell the user about something djsupervisor did on its own."""
        self.stderr.write(f"djsupervisor: {message}")
