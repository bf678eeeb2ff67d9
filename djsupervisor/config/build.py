"""Build the final supervisord config: discover, render, merge, secure, check.

Building returns a value and touches nothing on disk; :meth:`Config.write`
creates the runtime directory and writes the files supervisord will read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from django.conf import settings

from ..client import Client
from ..conf import conf
from ..errors import NoConfigError
from ..graph import Graph
from ..inside import envfiles
from ..options import AUTORELOAD, Options
from ..runtime import RuntimeDir, cannot_write, new_secret, write_private
from . import ini, kept
from .dependencies import attach_processes, build_graph
from .discovery import find_project_dir, find_sources, project_config_path
from .environment import Environment, project_env_file, read_environments
from .layers import (
    autoreload_layer,
    builtin_layer,
    command_line_layer,
    console_layer,
    file_layer,
)
from .merge import Merged, apply_program_rules, merge_layers, process_sections
from .reader import read_with_supervisor
from .reloading import apply_reload_rules, write_autoreload_plan
from .render import Host, Renderer
from .selection import select_programs
from .server import (
    OWN_RPC_INTERFACE,
    RPC_INTERFACE,
    configure_control_server,
    needs_private_server,
)
from .validate import check_servers, check_user

FDS_PER_PROCESS = 5  # pipes and log files supervisord keeps open per process
SUPERVISORD_FDS = 100  # its own: sockets, its log, its clients
DEFAULT_MINFDS = 1024  # supervisord's default
ENVIRONMENT_FILE = "environment.json"  # in the runtime directory: programs' env-file variables
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
    """The final config of one project, ready for supervisord, not yet on disk."""

    project_dir: Path
    runtime: RuntimeDir
    merged: Merged
    client: Client
    # The private socket's password when djsupervisor configured the socket;
    # stored beside it by write().
    secret: str | None = None
    # Programs' variables from environment files and their own, by section:
    # the files' never go into the config (write() stores them beside it).
    environments: dict[str, Environment] = field(default_factory=dict)
    # Rendered copies of files named with the templated filter, by path.
    copies: dict[Path, str] = field(default_factory=dict)
    # readiness, dependencies and restart rules, for supervisord's orchestrator
    graph: Graph = field(default_factory=Graph)
    # program -> the names supervisord gives its processes ('group:process')
    processes: dict[str, list[str]] = field(default_factory=dict)
    # the names of the processes supervisord starts by itself (autostart)
    autostart: set[str] = field(default_factory=set)
    # the command line's options it was built with, kept by write() for reload
    options: Options = field(default_factory=Options)
    # what can go from the files: django-supervisor's spellings (legacy.py)
    notes: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        """Where the rendered config lives, for supervisord's ``-c``."""
        return self.runtime.config

    @property
    def text(self) -> str:
        return ini.dump(self.merged.sections)

    @property
    def environment_path(self) -> Path:
        """Where write() stores the programs' variables from environment files."""
        return self.runtime.path / ENVIRONMENT_FILE

    def display_text(self, show_secrets: bool = False) -> str:
        """Return the text ``getconfig`` prints: the config, and the environment files' variables.

        Those are comments at the end of each program's section, masked
        unless asked: supervisord gets them from a file of their own.
        """
        chunks = []
        for name, options in self.merged.sections.items():
            chunk = ini.dump({name: options})
            environment = self.environments.get(name)
            if environment and environment.secrets:
                chunk += environment.shown(show_secrets)
            chunks.append(chunk)
        return "\n".join(chunks)

    @property
    def process_names(self) -> list[str]:
        """Return the names of the processes whose output is shown, in config order."""
        return [
            namespec.rpartition(":")[2]
            for namespecs in self.processes.values()
            for namespec in namespecs
        ]

    def write(self) -> Path:
        """Create the runtime directory, write the config, copies and options; return its path."""
        self.runtime.create()
        if self.secret is not None:
            self._use_secret(self.runtime.keep_secret(self.secret))
        for path, text in self.copies.items():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise cannot_write(path.parent, exc) from None
            write_private(path, text)  # whole, or one clear error (a full disk)
        write_private(self.runtime.graph, self.graph.to_json())
        write_autoreload_plan(self.runtime, self.project_dir, self.graph, self.client)
        if self.environments:
            variables = {
                section.partition(":")[2]: environment.secrets
                for section, environment in self.environments.items()
            }
            write_private(self.environment_path, envfiles.dumps(variables, self.processes))
        else:
            self.environment_path.unlink(missing_ok=True)
        write_private(self.path, self.text)
        kept.store(self.runtime, self.options)
        return self.path

    def _use_secret(self, stored: str) -> None:
        """Use the password another invocation stored first, if it beat this one to it."""
        if stored == self.secret:
            return
        self.secret = stored
        self.merged.sections["unix_http_server"]["password"] = stored
        self.merged.sections["supervisorctl"]["password"] = stored
        self.client = replace(self.client, password=stored)


def build(
    options: Options, console: bool | None = None, check: bool = True, host: Host | None = None
) -> Config:
    """Return the project's merged config for ``options``, without writing anything.

    ``console`` says whether programs' output goes to a foreground command;
    ``None`` means yes if one is running, which keeps it when ``reload``
    rewrites the config. ``host`` renders the files for another machine (an
    image, for ``export``); ``check=False`` skips reading the result with
    supervisor's own reader (the slowest step: 0.1 s for 500 programs, see
    bench/scale.py); ``Config.processes`` and ``Config.autostart`` are then empty.
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
    runtime = RuntimeDir.for_project(project_dir, conf.SUPERVISOR_RUNTIME_DIR)
    renderer = Renderer(project_dir, runtime.templated, options, host=host)
    if console is None:
        console = runtime.console_socket.exists()
    programs_dir = Path(host.project_dir) if host else project_dir
    layers = [
        builtin_layer(project_dir, runtime, programs_dir),
        autoreload_layer(project_dir, options),
    ]
    if console:
        layers.append(console_layer(runtime))
    layers += [file_layer(renderer, source) for source in sources]
    layers.append(command_line_layer(options))
    merged = apply_program_rules(merge_layers(layers), options)
    select_programs(merged, options)
    graph = build_graph(merged, debug=AUTORELOAD in merged.internal & set(merged.programs))
    apply_reload_rules(graph, merged, options.autoreload, conf.SUPERVISOR_AUTORELOAD_PATTERNS)
    merged.sections.setdefault(OWN_RPC_INTERFACE, {})["graph"] = str(runtime.graph)
    secret = None
    if needs_private_server(merged.sections):
        secret = runtime.read_secret() or new_secret()
    client = configure_control_server(merged.sections, runtime.socket, secret)
    check_servers(merged.sections, conf.SUPERVISOR_ALLOW_UNAUTHENTICATED_SERVER)
    check_user(merged.sections, runtime)
    _reserve_descriptors(merged)
    merged.sections = _ordered(merged.sections)
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
    )
    if check:
        text = config.text if runtime.logs.is_dir() else ini.dump(_as_if_written(config))
        config.processes, config.autostart = read_with_supervisor(text, merged, runtime.path)
        attach_processes(graph, config.processes)
    # After supervisor's reader, which has the first word on a malformed environment=.
    explicit_env = getattr(settings, "SUPERVISOR_ENV_FILE", None) is not None
    env_file = project_env_file(project_dir, conf.SUPERVISOR_ENV_FILE, explicit_env)
    config.environments = read_environments(merged, env_file)
    if config.environments:
        merged.sections[OWN_RPC_INTERFACE][envfiles.OPTION] = str(config.environment_path)
    return config


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


def _reserve_descriptors(merged: Merged) -> None:
    """Have supervisord raise its descriptor limit enough to spawn every process.

    It keeps about FDS_PER_PROCESS open per process, and with the default
    minfds (1024) and a soft limit of 1024, programs beyond about 200 fail to
    spawn.
    """
    processes = 0
    for section, _ in process_sections(merged.sections):
        numprocs = merged.sections[section].get("numprocs", "1")
        processes += int(numprocs) if numprocs.isdigit() else 1
    needed = FDS_PER_PROCESS * processes + SUPERVISORD_FDS
    supervisord = merged.sections.setdefault("supervisord", {})
    current = supervisord.get("minfds", "")
    if needed > (int(current) if current.isdigit() else DEFAULT_MINFDS):
        supervisord["minfds"] = str(needed)


def _ordered(sections: ini.Sections) -> ini.Sections:
    leading = {name: sections[name] for name in LEADING_SECTIONS if name in sections}
    return leading | {name: value for name, value in sections.items() if name not in leading}
