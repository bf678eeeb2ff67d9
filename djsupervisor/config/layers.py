"""The layers a config is merged from: djsupervisor's own, the files, the command line."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from ..errors import ParseError
from ..options import AUTORELOAD, Options
from ..protocol import OWN_RPC_INTERFACE
from ..runtime import RuntimeDir
from .discovery import Source
from .ini import Sections, parse
from .legacy import drop_old_autoreload
from .merge import Layer
from .quoting import unmark, unmark_command
from .reloading import plan_path
from .render import Renderer


def builtin_layer(project_dir: Path, runtime: RuntimeDir, programs_dir: Path) -> Layer:
    """Return the defaults that every config starts from.

    Programs run in ``programs_dir``: the project directory, or where it is
    on the machine a config is exported for.
    """
    return Layer(
        {
            "supervisord": {
                "logfile": str(runtime.supervisord_log),
                "pidfile": str(runtime.pidfile),
                "childlogdir": str(runtime.logs),
                "directory": str(project_dir),
            },
            "program:__defaults__": {
                "directory": str(programs_dir),
                # Stop what a program started too (runserver's reloader child,
                # a shell's children), so nothing outlives its program.
                "stopasgroup": "true",
                "killasgroup": "true",
                # Each chunk of output to djsupervisor inside supervisord: the
                # foreground's console and the journal 'logs' reads.
                "stdout_events_enabled": "true",
                "stderr_events_enabled": "true",
            },
            OWN_RPC_INTERFACE: {"journal": str(runtime.journal)},
        },
        origin="djsupervisor's defaults",
        internal=True,
    )


def autoreload_layer(
    project_dir: Path, options: Options, runtime: RuntimeDir, debug: bool
) -> Layer:
    """Return the program that restarts the others when code changes (debug mode only).

    It reads what to watch from the plan that writing the config writes
    (reloading.py), and loads no Django: its command stays the same whatever
    the options, and a new plan is followed without restarting it.
    """
    sections: Sections = {}
    if debug and not options.noreload:
        command = [
            sys.executable,
            "-m",
            "djsupervisor.autoreload",
            "--plan",
            str(plan_path(runtime)),
        ]
        sections[f"program:{AUTORELOAD}"] = {
            "command": shlex.join(command),
            "directory": str(project_dir),
            "autoreload": "false",
            "startsecs": "0",  # it is ready as soon as it runs
            "redirect_stderr": "true",
        }
    return Layer(sections, origin="djsupervisor's autoreload program", internal=True)


def console_layer(runtime: RuntimeDir) -> Layer:
    """Return what sends every program's output to a foreground command's console.

    supervisord hands each chunk of output to djsupervisor's rpcinterface
    (see inside/output.py), which sends it to the console socket.
    """
    return Layer(
        {OWN_RPC_INTERFACE: {"console": str(runtime.console_socket)}},
        origin="djsupervisor's console",
        internal=True,
    )


def file_layer(renderer: Renderer, source: Source) -> Layer:
    """Render and parse one config file, resolving what is relative to it."""
    text = renderer.render_file(source.path, source.app_dir)
    try:
        sections = parse(text, str(source.path))
    except ParseError as exc:
        raise ParseError(unmark(str(exc))) from None
    if note := drop_old_autoreload(sections, source.path):
        renderer.notes.append(note)
    here = str(source.path.parent)
    for options in sections.values():
        for key, value in options.items():
            value = unmark_command(value) if key == "command" else unmark(value)
            # supervisord would expand %(here)s to the rendered config's
            # directory; the user meant the directory of the file they wrote.
            options[key] = value.replace("%(here)s", here)
    for options in sections.values():
        if "environment_file" in options:  # relative to the file that names it
            options["environment_file"] = ",".join(
                os.path.join(here, path.strip()) for path in options["environment_file"].split(",")
            )
    if "files" in sections.get("include", {}):
        sections["include"]["files"] = " ".join(
            os.path.join(here, pattern) for pattern in sections["include"]["files"].split()
        )
    return Layer(sections, origin=str(source.path))


def command_line_layer(options: Options) -> Layer:
    """Return what the command line says about supervisord itself."""
    supervisord: dict[str, str] = {}
    if options.pidfile:
        supervisord["pidfile"] = os.path.abspath(options.pidfile)
    if options.logfile:
        supervisord["logfile"] = os.path.abspath(options.logfile)
    if options.daemonize:
        supervisord["nodaemon"] = "false"
    return Layer({"supervisord": supervisord}, origin="the command line")
