"""Build the final supervisord config: discover, render, parse, merge, secure, check."""

from __future__ import annotations

import io
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from supervisor.options import ServerOptions, make_namespec

from . import ini
from .conf import conf
from .console import SOCKET_NAME as CONSOLE_SOCKET
from .control import OWN_RPC_INTERFACE, RPC_INTERFACE, Server, configure_control_server
from .discovery import Source, find_project_dir, find_sources, project_config_path
from .errors import NoConfigError, SupervisorValueError
from .merge import Layer, Merged, apply_program_rules, merge_layers
from .options import AUTORELOAD, Options
from .render import Renderer
from .running import CONFIG_NAME, Running
from .runtime import runtime_dir as make_runtime_dir
from .runtime import write_private

CONSOLE = "console"  # the event listener that passes output to a foreground command
CONSOLE_EVENT_BUFFER = 10000  # events supervisord queues for it before dropping any
LOG_DIR = "logs"  # programs' logs, in the runtime directory
# Sections written first in the output, so the header of getconfig reads well.
LEADING_SECTIONS = (
    "supervisord",
    "unix_http_server",
    "inet_http_server",
    RPC_INTERFACE,
    OWN_RPC_INTERFACE,
    "supervisorctl",
)


@dataclass
class Config:
    """The final config of one project, ready for supervisord."""

    project_dir: Path
    runtime_dir: Path
    merged: Merged
    server: Server
    # program -> the names supervisord gives its processes ('group:process')
    processes: dict[str, list[str]] = field(default_factory=dict)
    # the names of the processes supervisord starts by itself (autostart)
    autostart: set[str] = field(default_factory=set)

    @property
    def path(self) -> Path:
        """Where the rendered config lives, for supervisord's ``-c``."""
        return self.runtime_dir / CONFIG_NAME

    @property
    def text(self) -> str:
        return ini.dump(self.merged.sections)

    @property
    def console_socket(self) -> Path:
        """Where a foreground command receives the programs' output."""
        return self.runtime_dir / CONSOLE_SOCKET

    @property
    def process_names(self) -> list[str]:
        """Return the names of the processes whose output is shown, in config order."""
        return [
            namespec.rpartition(":")[2]
            for program, namespecs in self.processes.items()
            if program != CONSOLE
            for namespec in namespecs
        ]

    @property
    def running(self) -> Running:
        """Return how to control the supervisord that runs this config."""
        return Running.from_sections(self.path, self.merged.sections, self.server)

    def write(self) -> Path:
        """Write the config where supervisord will read it (owner-only) and return the path."""
        write_private(self.path, self.text)
        return self.path


def build(
    options: Options,
    runtime_base: str | None = None,
    console: bool | None = None,
    check: bool = True,
) -> Config:
    """Return the project's merged config for ``options``.

    ``runtime_base`` replaces the SUPERVISOR_RUNTIME_DIR setting. ``console``
    says whether programs' output goes to a foreground command; ``None`` means
    yes if one is running, which keeps it when ``reload`` rewrites the config.
    ``check=False`` skips reading the result with supervisor's own reader
    (the slowest step: 0.1 s for 500 programs); ``Config.processes`` and
    ``Config.autostart`` are then empty.
    """
    project_dir = find_project_dir(options.project_dir)
    explicit = options.config_file or conf.SUPERVISOR_CONFIG_FILE
    project_config = project_config_path(project_dir, explicit)
    sources = find_sources(project_config, explicit=bool(explicit))
    if not sources:
        raise NoConfigError(
            f"no {project_config.name} in {project_dir}; create it with a "
            "[program:NAME] section for each process to run"
        )
    runtime = make_runtime_dir(project_dir, runtime_base or conf.SUPERVISOR_RUNTIME_DIR)
    renderer = Renderer(project_dir, runtime, options)
    if console is None:
        console = (runtime / CONSOLE_SOCKET).exists()
    layers = [builtin_layer(project_dir, runtime), autoreload_layer(project_dir, options)]
    if console:
        layers.append(console_layer(runtime))
    layers += [file_layer(renderer, source) for source in sources]
    layers.append(command_line_layer(options))
    merged = apply_program_rules(merge_layers(layers), options)
    server = configure_control_server(merged.sections, runtime)
    merged.sections = _ordered(merged.sections)
    config = Config(project_dir, runtime, merged, server)
    if check:
        config.processes, config.autostart = read_with_supervisor(config)
    return config


def builtin_layer(project_dir: Path, runtime: Path) -> Layer:
    """Return the defaults that every config starts from."""
    log_dir = runtime / LOG_DIR
    log_dir.mkdir(mode=0o700, exist_ok=True)
    return Layer(
        {
            "supervisord": {
                "logfile": str(log_dir / "supervisord.log"),
                "pidfile": str(runtime / "supervisord.pid"),
                "childlogdir": str(log_dir),
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
    sections: ini.Sections = {}
    if settings.DEBUG and not options.noreload:
        command = [*manage_py(project_dir), "supervisor", *options.as_arguments(), AUTORELOAD]
        sections[f"program:{AUTORELOAD}"] = {
            "command": shlex.join(command),
            "autoreload": "false",
            "startsecs": "0",  # it is ready as soon as it runs
            "redirect_stderr": "true",
        }
    return Layer(sections, origin="djsupervisor's autoreload program")


def console_layer(runtime: Path) -> Layer:
    """Return the event listener that sends every program's output to the foreground."""
    # By path, isolated and without site: it needs the standard library alone,
    # and skipping site-packages' .pth files halves its start-up, which
    # competes for the CPU with the programs starting beside it.
    script = Path(__file__).with_name("listener.py")
    listener = [sys.executable, "-I", "-S", str(script), str(runtime / CONSOLE_SOCKET)]
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


def manage_py(project_dir: Path) -> list[str]:
    """Return the command that runs this project's management commands."""
    script = project_dir / "manage.py"
    if script.is_file():
        return [sys.executable, str(script)]
    # django-admin with DJANGO_SETTINGS_MODULE, which supervisord passes on.
    return [sys.executable, "-m", "django"]


def file_layer(renderer: Renderer, source: Source) -> Layer:
    """Render and parse one config file, resolving what is relative to it."""
    text = renderer.render_file(source.path, source.app_dir)
    sections = ini.parse(text, str(source.path))
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


def read_with_supervisor(config: Config) -> tuple[dict[str, list[str]], set[str]]:
    """Parse the final config with supervisor's own reader.

    Return each program's processes, and the processes that start by themselves.

    Bad values are caught here rather than by supervisord, which would report
    them against the rendered file the user never wrote: the message names the
    files the section came from.
    """
    reader = _ProcessRecorder()
    reader.here = str(config.runtime_dir)
    try:
        reader.read_config(io.StringIO(config.text))
    except ValueError as exc:
        message = str(exc)
        origins = [
            origin
            for section, sources in config.merged.origins.items()
            if f"'{section}'" in message or f"[{section}]" in message
            for origin in sources
        ]
        where = f" (from {', '.join(dict.fromkeys(origins))})" if origins else ""
        raise SupervisorValueError(f"invalid supervisord config{where}: {message}") from None
    return reader.processes, reader.autostart


class _ProcessRecorder(ServerOptions):
    """supervisor's config reader, noting the processes each program gets.

    ``numprocs``, ``process_name``, ``[group:x]`` and ``autostart`` decide
    them; asking supervisor's own code keeps djsupervisor's idea of them exact.
    """

    def __init__(self) -> None:
        super().__init__()
        self.processes: dict[str, list[str]] = {}
        self.autostart: set[str] = set()

    def processes_from_section(
        self, parser: Any, section: str, group_name: str, klass: Any = None
    ) -> list[Any]:
        processes = super().processes_from_section(parser, section, group_name, klass)
        program = section.split(":", 1)[1]
        names = [make_namespec(group_name, p.name) for p in processes]
        self.processes[program] = names
        self.autostart.update(n for n, p in zip(names, processes, strict=True) if p.autostart)
        return processes


def _ordered(sections: ini.Sections) -> ini.Sections:
    leading = {name: sections[name] for name in LEADING_SECTIONS if name in sections}
    return leading | {name: value for name, value in sections.items() if name not in leading}
