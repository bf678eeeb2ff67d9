"""Readiness checks, dependencies and one-shot programs: checked together, and handed over.

djsupervisor's own options ``ready``, ``ready_timeout``, ``oneshot``,
``depends_on`` and ``restart_backoff``, read by the merge (program_options.py),
become a :class:`~djsupervisor.graph.Graph`, which the
orchestrator inside supervisord (``inside/orchestrator.py``) reads as
JSON. supervisord's own sections are adjusted so that it leaves to the
orchestrator what the orchestrator does: starting a program whose
dependencies are not met yet, and restarting a crashed one after a delay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from supervisor.datatypes import (
    RestartUnconditionally,
    RestartWhenExitUnexpected,
    auto_restart,
    boolean,
)

from ..errors import CycleError, DependencyError, ListenError, SupervisorValueError
from ..graph import Graph, Program
from .merge import Merged, process_sections
from .program_options import ProgramOptions
from .reader import invalid_value

AUTORESTART_VALUES = "true, false or unexpected (or yes/no, on/off, 1/0)"


def build_graph(merged: Merged, debug: bool) -> Graph:
    """Put the programs' own options in a graph and adjust supervisord's sections to it.

    Raise a configuration error, naming the program and option, for a wrong
    ``autostart`` or ``autorestart``, an unknown program, a condition it
    cannot meet, or a cycle.
    """
    graph = Graph(debug=debug)
    sections = merged.sections
    for section, name in process_sections(sections):
        options = merged.options.get(name, ProgramOptions())
        where = program_origin(merged, section, name)
        scheduled = options.schedule is not None
        graph.programs[name] = Program(
            # A scheduled program starts when it is due, as a one-shot.
            autostart=_autostart(sections[section].get("autostart", "true"), merged, section)
            and not scheduled,
            autorestart=parse_autorestart(
                sections[section].get("autorestart", "unexpected"), where
            ),
            oneshot=options.oneshot or scheduled,
            restart_backoff=options.restart_backoff,
            ready=options.ready,
            ready_timeout=options.ready_timeout,
            depends_on=list(options.depends_on),
            listen=options.listen,
            schedule=str(options.schedule) if scheduled else None,
        )
    _check_dependencies(graph, merged)
    _check_listen(graph, merged)
    for section, name in process_sections(sections):
        _adjust(sections[section], graph.programs[name])
    return graph


def _check_listen(graph: Graph, merged: Merged) -> None:
    """Refuse two programs listening on one address: only one can hold it."""
    holders: dict[str, str] = {}
    for section, name in process_sections(merged.sections):
        program = graph.programs[name]
        if program.listen is None:
            continue
        check = program.ready
        if check is not None and check.kind == "tcp" and program.listen.endswith(f":{check.port}"):
            raise ListenError(
                f"{program_origin(merged, section, name)}: ready={check.target!r} passes at "
                f"once: supervisord holds listen={program.listen} and accepts connections "
                "before the program does; use an http or log check"
            )
        other = holders.setdefault(program.listen, name)
        if other != name:
            raise ListenError(
                f"{program_origin(merged, section, name)}: listen={program.listen} is "
                f"program {other!r}'s too; give each program its own address"
            )


def program_origin(merged: Merged, section: str, name: str) -> str:
    """Return how an error names a program: with the files that define it."""
    return f"program {name!r} (from {', '.join(merged.origins.get(section, []))})"


def parse_autorestart(value: str, where: str) -> str:
    """Return what ``autorestart=value`` means to supervisord: 'true', 'false' or 'unexpected'.

    supervisor's own reader decides, so every spelling it takes means the
    same here; it never sees the value itself when the orchestrator restarts
    the program instead, so a wrong one is refused here.
    """
    try:
        meaning = auto_restart(value.strip())
    except ValueError:
        raise SupervisorValueError(
            f"{where}: autorestart={value!r} is not a value supervisord knows; "
            f"use {AUTORESTART_VALUES}"
        ) from None
    if meaning is RestartUnconditionally:
        return "true"
    if meaning is RestartWhenExitUnexpected:
        return "unexpected"
    return "false"


def _check_dependencies(graph: Graph, merged: Merged) -> None:
    for name, program in graph.programs.items():
        for dependency, condition in program.depends_on:
            target = graph.programs.get(dependency)
            if target is None and dependency in merged.excluded:
                needs = {
                    other: [dep for dep, _ in each.depends_on]
                    for other, each in graph.programs.items()
                }
                raise DependencyError(left_out(needs, dependency, merged.excluded[dependency]))
            if target is None or dependency == name:
                known = ", ".join(sorted(set(graph.programs) - {name})) or "none"
                raise DependencyError(
                    f"program {name!r}: depends_on names {dependency!r}, which is "
                    f"{'itself' if dependency == name else 'no program'} (programs: {known})"
                )
            if condition == "ready" and target.ready is None:
                raise DependencyError(
                    f"program {name!r}: depends_on {dependency}:ready, but {dependency!r} "
                    "has no ready check; give it ready=... or use :started"
                )
            if condition == "done" and not target.oneshot:
                raise DependencyError(
                    f"program {name!r}: depends_on {dependency}:done, but {dependency!r} "
                    "is not a one-shot program; set oneshot=true on it or use :started"
                )
    cycle = _find_cycle(graph)
    if cycle:
        raise CycleError(f"programs depend on each other in a cycle: {' -> '.join(cycle)}")


def left_out(
    depends_on: Mapping[str, Iterable[str]], program: str, how: str, only: Sequence[str] = ()
) -> str:
    """Say that ``program`` was left out though others need it, and what to do instead.

    ``depends_on`` maps each running program to the names it depends on;
    ``only`` is what ``--only`` named, if anything. Leaving the dependents out
    too is no fix then: --only names them or needs them. Keeping the program
    is, and so is dropping the ``--only`` names that need it, if others remain.
    """
    needs: dict[str, str] = {}  # dependent -> what it depends on, nearest first
    pending = [program]
    while pending:
        needed = pending.pop(0)
        for name, dependencies in depends_on.items():
            if name not in needs and needed in dependencies:
                needs[name] = needed
                pending.append(name)
    direct = [name for name, needed in needs.items() if needed == program]
    further = [f"{name} on {needed}" for name, needed in needs.items() if needed != program]
    if only:
        needing = [name for name in only if name in needs]
        fix = f"with {_only_words(needing)} it must run: {keep_fix(program, how)}"
        if len(needing) < len(only):
            fix += f", or drop {_only_words(needing)}"
    elif how.startswith("-x "):
        fix = "leave them out too (" + " ".join(f"-x {name}" for name in [program, *needs]) + ")"
    else:
        fix = f"set exclude=true on them too, or keep {program} with -i {program}"
    verb = "depends" if len(direct) == 1 else "depend"
    and_further = f" (and {', '.join(further)})" if further else ""
    return (
        f"program {program!r} is left out ({how}), but {', '.join(direct)} {verb} on it"
        f"{and_further}; {fix}"
    )


def keep_fix(program: str, how: str) -> str:
    """Return how to keep ``program``, left out ``how``: undo the -x, or override exclude=true."""
    return f"drop {how}" if how.startswith("-x ") else f"keep {program} with -i {program}"


def _only_words(names: Iterable[str]) -> str:
    return " ".join(f"--only {name}" for name in names)


def _find_cycle(graph: Graph) -> list[str]:
    """Return a dependency cycle as a path (first name repeated at the end), or []."""
    state: dict[str, str] = {}  # 'visiting' or 'done'
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = "visiting"
        path.append(name)
        for dependency, _ in graph.programs[name].depends_on:
            if state.get(dependency) == "visiting":
                return [*path[path.index(dependency) :], dependency]
            if dependency not in state and (cycle := visit(dependency)):
                return cycle
        path.pop()
        state[name] = "done"
        return []

    for name in graph.programs:
        if name not in state and (cycle := visit(name)):
            return cycle
    return []


def _adjust(section: dict[str, str], program: Program) -> None:
    """Leave to the orchestrator what it does instead of supervisord."""
    if program.depends_on or program.schedule:
        section["autostart"] = "false"  # started once its dependencies are met, or when due
    if program.oneshot:
        # Done however soon it exits (startsecs would call an early exit a
        # failure to start), and never started again automatically.
        section["startsecs"] = "0"
        section["autorestart"] = "false"
    elif program.restart_backoff and program.autorestart != "false":
        section["autorestart"] = "false"  # restarted after a growing delay instead
    supervisord_restarts = not program.restart_backoff and program.autorestart != "false"
    if program.ready is not None and not supervisord_restarts:
        # Its check says when it has started: RUNNING as soon as it runs,
        # ready beside it, not STARTING for a second after it answered.
        # Not where supervisord restarts it itself (restart_backoff=false):
        # there startsecs is what turns a crash loop into FATAL.
        section.setdefault("startsecs", "0")
    if program.ready is not None and program.ready.kind == "log":
        section["stdout_events_enabled"] = "true"
        section["stderr_events_enabled"] = "true"


def attach_processes(graph: Graph, processes: dict[str, list[str]]) -> None:
    """Record the processes supervisor's reader gives each program."""
    for name, namespecs in processes.items():
        if name in graph.programs:
            graph.programs[name].processes = list(namespecs)


def _autostart(value: str, merged: Merged, section: str) -> bool:
    """Return what ``autostart=value`` says; refuse a wrong one as supervisor's reader does.

    That reader has the first word when it runs (config/reader.py); not for
    ``run``, which skips it.
    """
    try:
        return bool(boolean(value.strip()))
    except ValueError as exc:
        raise invalid_value(merged, section, exc) from None
