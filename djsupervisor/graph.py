"""The programs' readiness checks, dependencies and restart rules, as supervisord gets them.

``config/dependencies.py`` builds a :class:`Graph` from the configuration;
the orchestrator inside supervisord (``inside/orchestrator.py``) reads
it back from JSON. This module is plain data, for both sides, and the one
reading of the names users give processes by (:func:`resolve_name`), so that
``status``, ``start``/``stop`` and supervisorctl's other commands agree on them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import patterns

DEFAULT_READY_TIMEOUT = 60.0  # seconds


@dataclass(frozen=True)
class Check:
    """A readiness check: what it is, and where it looks."""

    kind: str  # 'tcp', 'http', 'exec' or 'log'
    target: str  # 'HOST:PORT', the URL, the command or the pattern
    host: str = ""
    port: int = 0

    def describe(self) -> str:
        return self.target if self.kind == "http" else f"{self.kind}:{self.target}"


@dataclass
class Program:
    """What the orchestrator needs to know of one program."""

    processes: list[str] = field(default_factory=list)  # namespecs, from supervisor's reader
    autostart: bool = True  # the user's wish; supervisord may be told otherwise
    autorestart: str = "unexpected"  # likewise
    oneshot: bool = False
    ready: Check | None = None
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    depends_on: list[tuple[str, str]] = field(default_factory=list)  # (program, condition)
    restart_backoff: bool = True
    reload: bool = False  # a code change reloads it (autoreload runs and the program takes part)
    reload_signal: str | None = None  # send this signal instead of restarting
    reload_patterns: list[str] = field(default_factory=list)  # the changes that reload it
    reload_templates: bool = False  # a change in a template directory reloads it too
    listen: str | None = None  # the address of the socket supervisord holds for it (listen=)
    schedule: str | None = None  # when it runs, as schedules.parse_schedule reads it (schedule=)

    def reloads_on(self, change: Change) -> bool:
        """Tell whether the changed file ``change`` reloads this program."""
        if not self.reload:
            return False
        if change.template and self.reload_templates:
            return True
        return any(patterns.matches(pattern, change.path) for pattern in self.reload_patterns)


@dataclass(frozen=True)
class Change:
    """A changed file, as the autoreload watcher reports it."""

    path: str  # relative to the watched directory it is in, with '/' separators
    template: bool = False  # in one of Django's template directories


@dataclass
class Graph:
    """Every program's readiness, dependencies and restart rules."""

    programs: dict[str, Program] = field(default_factory=dict)
    debug: bool = False  # autoreload runs: crash loops wait for a code change

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Graph:
        data = json.loads(text)
        programs = {}
        for name, values in data["programs"].items():
            ready = Check(**values.pop("ready")) if values.get("ready") else None
            values.pop("ready", None)
            values["depends_on"] = [tuple(pair) for pair in values["depends_on"]]
            programs[name] = Program(ready=ready, **values)
        return cls(programs, data["debug"])

    def process_names(self, names: list[str]) -> set[str]:
        """Return the process names ``names`` mean: programs (all their processes) or processes.

        Raise ``KeyError`` naming the first name that is neither.
        """
        found: set[str] = set()
        for name in names:
            if name in self.programs:
                found.update(spec.rpartition(":")[2] for spec in self.programs[name].processes)
                continue
            matching = {
                spec.rpartition(":")[2]
                for program in self.programs.values()
                for spec in program.processes
                if name in (spec, spec.rpartition(":")[2])
            }
            if not matching:
                raise KeyError(name)
            found |= matching
        return found

    def program_of_process(self) -> dict[str, str]:
        """Return each process's program, by the process's name (as the journal names it)."""
        return {
            spec.rpartition(":")[2]: name
            for name, program in self.programs.items()
            for spec in program.processes
        }

    def dependents(self, program: str) -> list[str]:
        """Return the programs that depend on ``program``."""
        return [name for name, p in self.programs.items() if program in dict(p.depends_on)]


class UnknownName(LookupError):
    """A name that means no process: no program, group or process goes by it."""

    def __init__(self, name: str, group: str | None = None) -> None:
        super().__init__(name)
        self.name = name
        self.group = group  # the group, where the name asked for a whole one


def resolve_name(
    name: str,
    processes: Iterable[str] | None,
    programs: Mapping[str, Program] | None = None,
    *,
    bare_group: bool = False,
) -> list[str]:
    """Return the namespecs of ``processes`` that ``name`` means, as supervisor reads names.

    'all' is every process; a program of ``programs`` is all its processes
    (a ``numprocs`` program's several); 'group:*' or 'group:' is the whole
    group; 'group:process' one process of it; any other name is the process
    of that name in the group of that name, or, with ``bare_group``, the whole
    group of that name (supervisorctl's ``status`` takes a group only as
    'group:*'; djsupervisor's ``start``, ``stop`` and ``restart`` take it bare).
    Without ``processes`` (supervisord resolves the name itself), only a
    program's name is resolved; any other comes back as it is.

    Raise :class:`UnknownName` if the name means no process.
    """
    if processes is not None and name == "all":
        return list(processes)
    program = (programs or {}).get(name)
    if program is not None:
        return list(program.processes)
    if processes is None:
        return [name]
    group, colon, process = name.partition(":")
    whole = process in ("", "*") if colon else bare_group
    process = process if colon else name
    found = [
        namespec
        for namespec in processes
        if namespec.partition(":")[0] == group and (whole or namespec.rpartition(":")[2] == process)
    ]
    if not found:
        raise UnknownName(name, group if whole else None)
    return found


def read_graph(path: Path) -> Graph:
    """Return the graph written at ``path``; an empty one if there is none (yet)."""
    try:
        return Graph.from_json(path.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return Graph()


def dependents_first(
    names: Collection[str],
    dependents: Mapping[str, Collection[str]],
    pick: Callable[[list[str]], list[str]] = lambda free: free,
) -> list[list[str]]:
    """Return ``names`` in waves, each name after every one of ``names`` that depends on it.

    ``dependents`` gives each name's dependents; ``pick`` chooses which of
    the names free to go make the next wave (all of them by default).
    """
    remaining = set(names)
    waves = []
    while remaining:
        free = sorted(n for n in remaining if not set(dependents.get(n, ())) & remaining)
        wave = pick(free or sorted(remaining))  # a cycle (refused by the checks): all at once
        waves.append(wave)
        remaining.difference_update(wave)
    return waves
