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
from .control import RPC_INTERFACE, Server, configure_control_server
from .discovery import Source, find_project_dir, find_sources, project_config_path
from .errors import ConfigError
from .merge import Layer, Merged, apply_program_rules, merge_layers
from .options import Options
from .render import Renderer
from .runtime import runtime_dir as make_runtime_dir
from .runtime import write_private

AUTORELOAD = "autoreload"  # the name of the program that watches the code
CONFIG_NAME = "supervisord.conf"  # the rendered config, in the runtime directory
LOG_DIR = "logs"  # programs' logs, in the runtime directory
# Sections written first in the output, so the header of getconfig reads well.
LEADING_SECTIONS = (
    "supervisord",
    "unix_http_server",
    "inet_http_server",
    RPC_INTERFACE,
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

    @property
    def path(self) -> Path:
        """Where the rendered config lives, for supervisord's ``-c``."""
        return self.runtime_dir / CONFIG_NAME

    @property
    def text(self) -> str:
        return ini.dump(self.merged.sections)

    @property
    def pidfile(self) -> Path:
        return Path(self.merged.sections["supervisord"]["pidfile"])

    @property
    def logfile(self) -> Path:
        return Path(self.merged.sections["supervisord"]["logfile"])

    def write(self) -> Path:
        """Write the config where supervisord will read it (owner-only) and return the path."""
        write_private(self.path, self.text)
        return self.path


def build(options: Options) -> Config:
    """Return the project's merged config for ``options``."""
    project_dir = find_project_dir(options.project_dir)
    explicit = options.config_file or conf.SUPERVISOR_CONFIG_FILE
    project_config = project_config_path(project_dir, explicit)
    sources = find_sources(project_config, explicit=bool(explicit))
    if not sources:
        raise ConfigError(
            f"no {project_config.name} in {project_dir}; create it with a "
            "[program:NAME] section for each process to run"
        )
    runtime = make_runtime_dir(project_dir, conf.SUPERVISOR_RUNTIME_DIR)
    renderer = Renderer(project_dir, runtime, options)
    layers = [builtin_layer(project_dir, runtime), autoreload_layer(project_dir, options)]
    layers += [file_layer(renderer, source) for source in sources]
    layers.append(command_line_layer(options))
    merged = apply_program_rules(merge_layers(layers), options)
    server = configure_control_server(merged.sections, runtime)
    merged.sections = _ordered(merged.sections)
    config = Config(project_dir, runtime, merged, server)
    config.processes = read_with_supervisor(config)
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
            "program:__defaults__": {"directory": str(project_dir)},
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


def read_with_supervisor(config: Config) -> dict[str, list[str]]:
    """Parse the final config with supervisor's own reader; return each program's processes.

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
        raise ConfigError(f"invalid supervisord config{where}: {message}") from None
    return reader.processes


class _ProcessRecorder(ServerOptions):
    """supervisor's config reader, noting the process names each program gets.

    ``numprocs``, ``process_name`` and ``[group:x]`` decide them; asking
    supervisor's own code keeps djsupervisor's idea of them exact.
    """

    def __init__(self) -> None:
        super().__init__()
        self.processes: dict[str, list[str]] = {}

    def processes_from_section(
        self, parser: Any, section: str, group_name: str, klass: Any = None
    ) -> list[Any]:
        processes = super().processes_from_section(parser, section, group_name, klass)
        program = section.split(":", 1)[1]
        self.processes[program] = [make_namespec(group_name, p.name) for p in processes]
        return processes


def _ordered(sections: ini.Sections) -> ini.Sections:
    leading = {name: sections[name] for name in LEADING_SECTIONS if name in sections}
    return leading | {name: value for name, value in sections.items() if name not in leading}
