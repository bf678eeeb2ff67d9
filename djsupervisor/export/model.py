"""Each program as the export formats see it: what it runs, where, how it stops and starts."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

from supervisor.datatypes import dict_of_key_value_pairs
from supervisor.options import expand

from ..config.build import Config
from ..config.ini import escape_literal_percents
from ..config.merge import process_sections
from ..config.program_env import expansions
from ..config.program_options import read_boolean, signal_name
from ..graph import Check
from ..schedules import Schedule

DEFAULT_STOPWAITSECS = 10  # supervisord's
# Stands for the process number in a systemd template unit's command: put
# there by supervisor's own expansion of %(process_num)s (no other character
# survives it unchanged), turned into systemd's %i by the export templates'
# systemd filters (templatetags/djsupervisor_export.py).
INSTANCE = "\0"

# supervisord options the formats say (docs/exporting.rst's table), and process_name,
# which they replace by their own names for a numprocs program's processes.
MAPPED = frozenset(
    {
        *("command", "directory", "environment", "user", "numprocs", "process_name"),
        *("autostart", "autorestart", "stopsignal", "stopwaitsecs"),
        *("stopasgroup", "killasgroup"),
    }
)
# How djsupervisor's programs reach its console and journal: nothing to say elsewhere.
PLUMBING = frozenset({"stdout_events_enabled", "stderr_events_enabled"})


@dataclass
class Service:
    """One program, with supervisord's defaults filled in and its expansions done."""

    name: str
    command: str  # the command line, for the first process
    argv: list[str]
    directory: str
    environment: dict[str, str]  # its own environment=: written inline
    secrets: dict[str, str]  # from environment files: never inline
    user: str | None = None
    numprocs: int = 1
    per_process: bool = False  # the command differs between processes (%(process_num)s)
    template_command: str = ""  # with the process number as INSTANCE, if it can be
    autostart: bool = True
    autorestart: str = "unexpected"
    stopsignal: str = "TERM"
    stopwaitsecs: int = DEFAULT_STOPWAITSECS
    oneshot: bool = False
    depends_on: list[tuple[str, str]] = field(default_factory=list)
    ready: Check | None = None
    ready_timeout: float = 60.0
    stop_group: bool = True  # stopasgroup: the stop signal to the whole process group
    kill_group: bool = True  # killasgroup: the SIGKILL after stopwaitsecs, likewise
    unmapped: dict[str, str] = field(default_factory=dict)  # options no format says
    uses_environ: bool = False  # %(ENV_X)s in the command, expanded with this machine's
    from_environ: list[str] = field(default_factory=list)  # variables set from %(ENV_X)s
    # listen=: the socket supervisord holds across restarts ('HOST:PORT' or 'unix:/PATH')
    listen: str | None = None
    schedule: Schedule | None = None  # schedule=: run at these times, as a one-shot

    @property
    def listen_port(self) -> tuple[str, int] | None:
        """Return listen='s host (no brackets) and port; None for none or a unix socket."""
        if self.listen is None or self.listen.startswith("unix:"):
            return None
        host, _, port = self.listen.rpartition(":")
        return host.removeprefix("[").removesuffix("]"), int(port)

    def instances(self) -> list[int]:
        return list(range(self.numprocs))

    @property
    def container_check(self) -> Check | None:
        """Return its ready check if a container platform can run it (a log: check it cannot)."""
        return self.ready if self.ready is not None and self.ready.kind != "log" else None


def services(config: Config, project_dir: str) -> list[Service]:
    """Return the project's programs (not djsupervisor's own) as services.

    ``project_dir`` is where the project is on the target: paths under this
    machine's project directory are moved there.
    """
    found = []
    for section, name in process_sections(config.merged.sections):
        if name in config.merged.internal or not section.startswith("program:"):
            continue
        found.append(_service(config, section, name, project_dir))
    return found


def not_exported(config: Config) -> list[str]:
    """Return a warning for each section of the config that no format has a place for."""
    return [
        f"[{section}] is not exported: only [program:x] sections are"
        for section, name in process_sections(config.merged.sections)
        if name not in config.merged.internal and not section.startswith("program:")
    ]


def _service(config: Config, section: str, name: str, project_dir: str) -> Service:
    options = config.merged.sections[section]
    program = config.graph.programs[name]
    numprocs = int(options.get("numprocs", "1") or 1)
    raw = options["command"]
    names = expansions(name, numprocs, config.project_dir)

    def expanded(text: str, number: object = 0) -> str:
        # The merged config holds a literal '%' as written (the config file
        # writer doubles it): supervisord's expansion would take it for a format.
        values = {**names, "process_num": number}
        return str(expand(escape_literal_percents(text), values, "command"))

    first, second = expanded(raw), expanded(raw, 1)
    here = str(config.project_dir)

    def moved(value: str) -> str:
        return value.replace(here, project_dir)

    where = f"program {name!r}"
    stop_group = read_boolean(options.get("stopasgroup", "false"), "stopasgroup", where)
    environment = config.environments.get(section)
    explicit = environment.explicit if environment else _explicit(options)
    # %(ENV_X)s takes a value from supervisord's environment: the export can
    # only take this machine's, which may be a secret. It goes with the
    # environment files' values, never inline.
    taken = {k: expanded(v) for k, v in explicit.items() if "%(ENV_" in v}
    return Service(
        name=name,
        command=moved(first),
        argv=[moved(word) for word in shlex.split(first)],
        directory=moved(expanded(options["directory"]) if "directory" in options else here),
        environment={k: moved(expanded(v)) for k, v in explicit.items() if k not in taken},
        secrets={**(environment.secrets if environment else {}), **taken},
        from_environ=sorted(taken),
        user=options.get("user"),
        numprocs=numprocs,
        per_process=numprocs > 1 and first != second,
        template_command=moved(_as_systemd_instance(raw, expanded)),
        autostart=program.autostart,
        autorestart=program.autorestart,
        stopsignal=signal_name(options.get("stopsignal", "TERM")),
        stopwaitsecs=int(options.get("stopwaitsecs", DEFAULT_STOPWAITSECS)),
        oneshot=program.oneshot,
        depends_on=list(program.depends_on),
        ready=program.ready,
        ready_timeout=program.ready_timeout,
        stop_group=stop_group,
        # supervisord's default for killasgroup is stopasgroup's value.
        kill_group=read_boolean(options.get("killasgroup", str(stop_group)), "killasgroup", where),
        unmapped={
            option: value
            for option, value in options.items()
            if option not in MAPPED | PLUMBING
            # oneshot or the check says it (the config build sets it for supervisord)
            and not (option == "startsecs" and (program.oneshot or program.ready) and value == "0")
        },
        uses_environ="%(ENV_" in raw,
        listen=moved(program.listen) if program.listen else None,
        schedule=config.merged.options[name].schedule if name in config.merged.options else None,
    )


def _as_systemd_instance(command: str, expanded: Callable[[str, object], str]) -> str:
    """Return the command with the process number as INSTANCE, or '' if it is formatted (02d)."""
    plain = command.replace("%(process_num)d", "%(process_num)s")
    if re.search(r"%\(process_num\)(?!s)", plain):
        return ""
    return expanded(plain, INSTANCE)


def _explicit(options: dict[str, str]) -> dict[str, str]:
    return dict(dict_of_key_value_pairs(options.get("environment", "")))
