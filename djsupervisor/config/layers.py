"""The layers a config is merged from: djsupervisor's own, the files, the command line."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from django.conf import ENVIRONMENT_VARIABLE, settings

from ..options import AUTORELOAD, Options
from ..runtime import RuntimeDir
from .discovery import Source
from .ini import Sections, parse
from .merge import Layer
from .render import Renderer

CONSOLE = "console"  # the event listener that passes output to a foreground command
CONSOLE_EVENT_BUFFER = 10000  # events supervisord queues for it before dropping any
LISTENER_SCRIPT = Path(__file__).parents[1] / "supervisord" / "listener.py"


def builtin_layer(project_dir: Path, runtime: RuntimeDir) -> Layer:
    """Return the defaults that every config starts from."""
    return Layer(
        {
            "supervisord": {
                "logfile": str(runtime.supervisord_log),
                "pidfile": str(runtime.pidfile),
                "childlogdir": str(runtime.logs),
                "directory": str(project_dir),
            },
            "program:__defaults__": {
                "directory": str(project_dir),
                # Stop what a program started too (runserver's reloader child,
                # a shell's children), so nothing outlives its program.
                "stopasgroup": "true",
                "killasgroup": "true",
            },
        },
        origin="djsupervisor's defaults",
    )


def autoreload_layer(project_dir: Path, options: Options) -> Layer:
    """Return the program that restarts the others when code changes (debug mode only)."""
    sections: Sections = {}
    if settings.DEBUG and not options.noreload:
        # python -m puts the program's directory, the project's, on sys.path,
        # as manage.py does.
        command = [sys.executable, "-m", "djsupervisor.autoreload"]
        # Where Django found the settings (manage.py and --settings set it).
        if settings_module := os.environ.get(ENVIRONMENT_VARIABLE):
            command += ["--settings", settings_module]
        sections[f"program:{AUTORELOAD}"] = {
            "command": shlex.join([*command, *options.as_arguments()]),
            "directory": str(project_dir),
            "autoreload": "false",
            "startsecs": "0",  # it is ready as soon as it runs
            "redirect_stderr": "true",
        }
    return Layer(sections, origin="djsupervisor's autoreload program")


def console_layer(runtime: RuntimeDir) -> Layer:
    """Return the event listener that sends every program's output to the foreground."""
    # By path, isolated and without site: it needs the standard library alone,
    # and skipping site-packages' .pth files shortens its start-up, which
    # competes for the CPU with the programs starting beside it.
    listener = [sys.executable, "-I", "-S", str(LISTENER_SCRIPT), str(runtime.console_socket)]
    return Layer(
        {
            "program:__defaults__": {
                "stdout_events_enabled": "true",
                "stderr_events_enabled": "true",
            },
            f"eventlistener:{CONSOLE}": {
                "command": shlex.join(listener),
                "events": "PROCESS_LOG",
                "buffer_size": str(CONSOLE_EVENT_BUFFER),
                "stdout_events_enabled": "false",
                "stderr_events_enabled": "false",
                "autoreload": "false",
                # Start first and stop last, so it passes on programs' last words.
                "priority": "1",
                # supervisord sends events only to a RUNNING listener; with the
                # default startsecs=1, the programs' first second would wait.
                "startsecs": "0",
            },
        },
        origin="djsupervisor's console",
    )


def file_layer(renderer: Renderer, source: Source) -> Layer:
    """Render and parse one config file, resolving what is relative to it."""
    text = renderer.render_file(source.path, source.app_dir)
    sections = parse(text, str(source.path))
    here = str(source.path.parent)
    for options in sections.values():
        for key, value in options.items():
            # supervisord would expand %(here)s to the rendered config's
            # directory; the user meant the directory of the file they wrote.
            options[key] = value.replace("%(here)s", here)
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
