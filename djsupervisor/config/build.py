"""Build the final supervisord config, a straight pipeline (docs/how-it-works.rst).

discover -> render -> merge (the programs' own options read into values) ->
graph, server, environment -> validate -> :class:`Config`. Building returns
a value and touches nothing on disk; :meth:`Config.write` creates the
runtime directory and writes the files supervisord will read.
"""

from __future__ import annotations

from pathlib import Path

from ..client import Client
from ..conf import ProjectSettings
from ..errors import NoConfigError
from ..graph import Graph
from ..inside import envfiles
from ..options import AUTORELOAD, Options
from ..protocol import OWN_RPC_INTERFACE
from ..runtime import RuntimeDir, new_secret
from . import ini
from .dependencies import attach_processes, build_graph
from .discovery import Source, find_project_dir, find_sources, project_config_path
from .environment import project_env_file, read_environments
from .layers import (
    autoreload_layer,
    builtin_layer,
    command_line_layer,
    console_layer,
    file_layer,
)
from .merge import Layer, Merged, apply_program_rules, merge_layers
from .reader import read_with_supervisor
from .reloading import apply_reload_rules, watching_plan
from .render import Host, Renderer
from .result import ENVIRONMENT_FILE as ENVIRONMENT_FILE
from .result import Config as Config
from .selection import select_programs
from .server import (
    configure_control_server,
    needs_private_server,
    ordered,
    reserve_descriptors,
)
from .validate import check_servers, check_user


def build(
    options: Options,
    console: bool | None = None,
    check: bool = True,
    host: Host | None = None,
    project: ProjectSettings | None = None,
) -> Config:
    """Return the project's merged config for ``options``, without writing anything.

    ``console`` says whether programs' output goes to a foreground command;
    ``None`` means yes if one is running, which keeps it when ``reload``
    rewrites the config. ``host`` renders the files for another machine (an
    image, for ``export``); ``check=False`` skips reading the result with
    supervisor's own reader (the slowest step: 0.1 s for 500 programs, see
    bench/scale.py); ``Config.processes`` and ``Config.autostart`` are then empty.
    ``project`` is what the build needs of Django (read now if not given).
    """
    project = project or ProjectSettings.read()
    project_dir = find_project_dir(options.project_dir, project.settings_module)
    sources = _discover(project_dir, options, project)
    runtime = RuntimeDir.for_project(project_dir, project.runtime_dir)
    renderer = Renderer(project_dir, runtime.templated, options, host=host)
    layers = _render(renderer, sources, runtime, options, console, host, project)
    # The programs' own options are read here, once, into merged.options.
    merged = apply_program_rules(merge_layers(layers), options)
    select_programs(merged, options)
    graph = _graph(merged, runtime, options, project)
    secret, client = _server(merged, runtime)
    _validate(merged, runtime, project)
    config = Config(
        project_dir,
        runtime,
        merged,
        client,
        secret,
        copies=renderer.copies,
        graph=graph,
        options=options,
        notes=renderer.notes,
        watching=watching_plan(project_dir, graph, project) if graph.debug else {},
    )
    if check:
        _read_back(config)
    # After supervisor's reader, which has the first word on a malformed environment=.
    _add_environments(config, project)
    return config


def _discover(project_dir: Path, options: Options, project: ProjectSettings) -> list[Source]:
    """Return the config files to merge, or say how to create the project's."""
    explicit = options.config_file or project.config_file
    project_config = project_config_path(project_dir, explicit)
    sources = find_sources(project_config, explicit=bool(explicit), app_dirs=project.app_dirs)
    if not sources:
        raise NoConfigError(
            f"no {project_config.name} in {project_dir}; create it with a "
            "[program:NAME] section for each process to run"
        )
    return sources


def _render(
    renderer: Renderer,
    sources: list[Source],
    runtime: RuntimeDir,
    options: Options,
    console: bool | None,
    host: Host | None,
    project: ProjectSettings,
) -> list[Layer]:
    """Return the layers to merge, in order: djsupervisor's, the files', the command line's."""
    project_dir = renderer.project_dir
    programs_dir = Path(host.project_dir) if host else project_dir
    layers = [
        builtin_layer(project_dir, runtime, programs_dir),
        autoreload_layer(project_dir, options, runtime, debug=project.debug),
    ]
    if runtime.console_socket.exists() if console is None else console:
        layers.append(console_layer(runtime))
    layers += [file_layer(renderer, source) for source in sources]
    layers.append(command_line_layer(options))
    return layers


def _graph(
    merged: Merged, runtime: RuntimeDir, options: Options, project: ProjectSettings
) -> Graph:
    """Return the programs' graph, with autoreload's part, and tell supervisord where it is."""
    graph = build_graph(merged, debug=AUTORELOAD in merged.internal & set(merged.programs))
    apply_reload_rules(graph, merged, options.autoreload, project.autoreload_patterns)
    merged.sections.setdefault(OWN_RPC_INTERFACE, {})["graph"] = str(runtime.graph)
    return graph


def _server(merged: Merged, runtime: RuntimeDir) -> tuple[str | None, Client]:
    """Configure the control server; return its password, if djsupervisor made it, and client."""
    secret = None
    if needs_private_server(merged.sections):
        secret = runtime.read_secret() or new_secret()
    return secret, configure_control_server(merged.sections, runtime.socket, secret)


def _validate(merged: Merged, runtime: RuntimeDir, project: ProjectSettings) -> None:
    """Refuse an unsafe server or user; raise the descriptor limit; put the server first."""
    check_servers(merged.sections, project.allow_unauthenticated_server)
    check_user(merged.sections, runtime)
    reserve_descriptors(merged.sections)
    merged.sections = ordered(merged.sections)


def _read_back(config: Config) -> None:
    """Check the config with supervisor's own reader; note each program's processes."""
    runtime = config.runtime
    text = config.text if runtime.logs.is_dir() else ini.dump(_as_if_written(config))
    config.processes, config.autostart = read_with_supervisor(text, config.merged, runtime.path)
    attach_processes(config.graph, config.processes)


def _add_environments(config: Config, project: ProjectSettings) -> None:
    """Read the programs' environment files, and tell supervisord where write() puts them."""
    env_file = project_env_file(config.project_dir, project.env_file, project.env_file_explicit)
    config.environments = read_environments(config.merged, env_file)
    if config.environments:
        config.merged.sections[OWN_RPC_INTERFACE][envfiles.OPTION] = str(config.environment_path)


def _as_if_written(config: Config) -> ini.Sections:
    """Return the sections with the runtime directory's paths replaced by existing ones.

    supervisor's reader insists that the directories of supervisord's log and
    pidfile exist, and the runtime directory is only made when the config is
    written: the project directory stands in for it while checking.
    """
    stand_in = {"logfile": "supervisord.log", "pidfile": "supervisord.pid", "childlogdir": ""}
    supervisord = dict(config.merged.sections["supervisord"])
    for key, name in stand_in.items():
        if Path(supervisord.get(key, "")).is_relative_to(config.runtime.path):
            supervisord[key] = str(config.project_dir / name)
    return {**config.merged.sections, "supervisord": supervisord}
