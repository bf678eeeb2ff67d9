"""The orchestrator's table of processes: the graph, each process's run, and the questions on them.

Plain Python over plain values (the standard library and djsupervisor's
graph and runs modules): the orchestrator's unit tests use it as it is.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from ..clock import Clock
from ..graph import Graph, resolve_name
from .runs import Run

SERVING = ("STARTING", "RUNNING")  # states of a process that accepts from its held socket


class RunTable:
    """Every process of the graph, by name, and what can be asked of them."""

    def __init__(self, graph: Graph, clock: Clock = time) -> None:
        self.graph = graph
        self.clock = clock
        self.runs: dict[str, Run] = {}
        self.load(graph)

    def load(self, graph: Graph, fresh: Collection[str] = ()) -> None:
        """Take the graph the config was built with (again, after ``update``).

        Runs of processes still there are kept, with what is known of them,
        except those of the groups ``fresh`` (removed or added again).
        """
        self.graph = graph
        runs = {}
        for name, program in self.graph.programs.items():
            for namespec in program.processes:
                run = self.runs.get(namespec)
                if run is None or run.group in fresh:
                    run = Run(namespec, name, program)
                run.program = program
                runs[namespec] = run
        self.runs = runs

    def resolve(self, name: str) -> list[Run]:
        """Return the processes a name means: 'all', a program, a group or 'group:process'.

        A bare group name means the whole group, as 'group:*' does. Raise
        :class:`~djsupervisor.graph.UnknownName` if it means none.
        """
        namespecs = resolve_name(name, self.runs, self.graph.programs, bare_group=True)
        return [self.runs[namespec] for namespec in namespecs]

    def processes_of(self, program: str) -> list[Run]:
        spec = self.graph.programs.get(program)
        return [self.runs[namespec] for namespec in spec.processes] if spec else []

    def serves_alone(self, namespec: str) -> str | None:
        """Return the held address ``namespec`` serves with no other process, or None.

        Another process of the program (``numprocs``), or a trial of its new
        code that serves the held socket too (gunicorn's), takes what comes
        while this one stops.
        """
        run = self.runs.get(namespec)
        if run is None or run.program.listen is None or run.state != "RUNNING":
            return None
        if run.trial is not None and run.trial.serves_held:
            return None
        others = (other for other in self.runs.values() if other is not run)
        if any(o.program.listen == run.program.listen and o.state in SERVING for o in others):
            return None
        return run.program.listen

    def dependents_of(self, run: Run) -> list[Run]:
        """Return the processes that depend on ``run`` directly."""
        return [
            other
            for name in self.graph.dependents(run.program_name)
            for other in self.processes_of(name)
        ]

    def dependencies_of(self, run: Run) -> list[tuple[Run, str]]:
        """Return each process ``run`` depends on, with the condition it waits for."""
        return [
            (other, condition)
            for dependency, condition in run.program.depends_on
            for other in self.processes_of(dependency)
        ]

    def want(self, run: Run, requested: bool = False) -> None:
        """Want ``run`` running, and every process it depends on.

        A ``requested`` start (the ``start`` command) also starts again what
        has exited or failed, except a one-shot that is done.
        """
        run.wanted = True
        if requested and run.state not in ("RUNNING", "STARTING") and not run.done:
            run.start_requested = True
            run.failure = run.blocked_by = None
        for other, _ in self.dependencies_of(run):
            self.want(other, requested)

    def dependency_status(self, run: Run) -> tuple[str | None, str | None]:
        """Return what blocks ``run`` (a failure, however far down) and what it waits for."""
        waiting = []
        for other, condition in self.dependencies_of(run):
            if other.condition_met(condition):
                continue
            if other.blocked_by:
                return other.blocked_by, None
            if other.failure:
                return f"{other.namespec} {other.failure}", None
            waiting.append(f"{other.namespec} ({condition})")
        return None, ", ".join(dict.fromkeys(waiting)) or None

    # What the XML-RPC calls report.

    def readiness(self, namespec: str) -> str:
        run = self.runs.get(namespec)
        return run.readiness(self.clock.monotonic()) if run else ""

    def restarts(self, namespec: str) -> int:
        """Return how many times ``namespec`` has started again since its first start.

        A scheduled process's runs are counted by its schedule, not as restarts.
        """
        run = self.runs.get(namespec)
        return max(run.starts - 1, 0) if run and run.scheduled is None else 0

    def startup(self, names: list[str]) -> dict[str, Any]:
        """Return whether ``names`` have started, or failed.

        No names: every process of an autostart program, and every other one
        wanted running (started, or depended on), but the scheduled ones,
        which run when they are due.

        The failures say which and why; the outcomes are 'ok' or the failure,
        by name, for those settled; the pending are those on their way.
        """
        if names:
            runs = [run for name in names for run in self.resolve(name)]
        else:
            runs = [
                run
                for run in self.runs.values()
                if (run.wanted or run.program.autostart) and run.scheduled is None
            ]
        now = self.clock.monotonic()
        outcomes = {run.namespec: run.startup_outcome(now) for run in runs}
        return {
            "settled": None not in outcomes.values(),
            "failures": [f"{n}: {o}" for n, o in outcomes.items() if o not in ("ok", None)],
            "outcomes": {n: o for n, o in outcomes.items() if o is not None},
            "pending": [n for n, o in outcomes.items() if o is None],
        }

    def dependencies(self) -> dict[str, list[str]]:
        """Return, by namespec, the processes each depends on (for the stop order)."""
        return {
            run.namespec: [other.namespec for other, _ in self.dependencies_of(run)]
            for run in self.runs.values()
        }
