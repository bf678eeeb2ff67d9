"""The one owner of every start, stop and restart: dependencies, readiness, one-shots, backoff.

Whoever asks (supervisord starting up, ``start``/``restart``/``stop``,
``update``, the admin page, a crash, a code change), the orchestrator
decides when each process starts and stops: a process starts once the
conditions of what it depends on hold; a restart stops dependents before
what they depend on, and starts each again only once its dependencies'
conditions hold again; a one-shot runs again only when asked to.

It is plain Python over plain values: it hears supervisord's state changes
as :class:`StateChange` values and acts through a :class:`Control` (start,
stop, signal, probe, call later) and a clock it is given. Inside supervisord
:mod:`~djsupervisor.inside.bridge` connects it; the unit tests feed it
recorded histories and read what it did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ..clock import Clock
from ..graph import Change, Graph, dependents_first
from ..protocol import FINISHED, STOPPABLE, UP
from .events import Control
from .runs import Run
from .runtable import RunTable
from .scheduling import Scheduling


class Orchestrator(Scheduling):
    """Start, stop and restart the processes of one supervisord by their graph."""

    def __init__(
        self,
        graph: Graph,
        control: Control,
        say: Callable[[str], None],
        clock: Clock = time,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.control = control
        self.say = say
        self.clock = clock
        self.wall = wall
        self.table = RunTable(graph, clock)
        self.stopping = False  # supervisord is shutting down: start nothing
        self.evaluating = self.dirty = False  # see evaluate()

    # What supervisord says of itself.

    def supervisord_running(self) -> None:
        """Start the autostart programs, plan the scheduled ones: supervisord has just started."""
        self.schedule()
        self.want_autostart(self.table.runs.values())

    def groups_added(self, graph: Graph, groups: Iterable[str]) -> None:
        """Take the new graph; start the autostart programs of the groups just added (``update``).

        Processes already there keep their state: one the user stopped stays
        stopped. A group added again (changed) starts afresh.
        """
        added = set(groups)
        self.table.load(graph, fresh=added)
        self.schedule()
        self.want_autostart(run for run in self.table.runs.values() if run.group in added)

    def graph_changed(self, graph: Graph) -> None:
        """Take the graph ``update`` rewrote without changing a process group (own options)."""
        self.table.load(graph)
        self.schedule()
        self.evaluate()

    def groups_removed(self, graph: Graph, groups: Iterable[str]) -> None:
        removed = set(groups)
        for run in self.table.runs.values():
            if run.group in removed:
                self.stop_probe(run)
        self.table.load(graph, fresh=removed)
        self.schedule()
        self.evaluate()

    def close(self) -> None:
        """Stop checking, starting and restarting: supervisord is stopping (or reloading)."""
        self.stopping = True
        for run in self.table.runs.values():
            self.stop_probe(run)
            self.drop_trial(run)

    def want_autostart(self, runs: Iterable[Run]) -> None:
        for run in runs:
            if run.program.autostart:
                self.table.want(run)
        self.evaluate()

    # What users ask for.

    def start(self, names: Iterable[str]) -> list[str]:
        """Start the processes ``names`` after what they depend on (the ``start`` command)."""
        targets = [run for name in names for run in self.table.resolve(name)]
        self.resume_schedules(targets)
        for run in targets:
            run.trial_failure = None
            self.table.want(run, requested=True)
        self.evaluate()
        return [run.namespec for run in targets]

    def restart(self, names: Iterable[str]) -> list[str]:
        """Restart the processes ``names`` and what runs depending on them; return them all.

        A one-shot named runs again. Nothing waits here: the stops and
        starts happen in supervisord's loop as each becomes possible.
        """
        targets = [run for name in names for run in self.table.resolve(name)]
        self.resume_schedules(targets)  # a stop, then a start
        return self._restart(targets)

    def stop(self, names: Iterable[str]) -> list[str]:
        """Stop the processes ``names`` that run, without waiting; cancel a restart under way."""
        targets = [run for name in names for run in self.table.resolve(name)]
        self.pause_schedules(targets)
        for run in targets:
            self.drop_trial(run)
            run.restart_pending = run.wanted = run.start_requested = False
            run.restart_at = None  # no restart after a crash either
            run.awaiting_change = False
            if run.state in STOPPABLE:
                self._stop(run)
        self.evaluate()
        return [run.namespec for run in targets]

    def _stop(self, run: Run) -> None:
        """Ask supervisord to stop ``run``; it is STOPPING from now on, as supervisord says too."""
        self.control.stop(run.namespec)
        run.state = "STOPPING"  # its dependents' conditions no longer hold
        run.ready = False

    def code_changed(self, changes: Iterable[Change]) -> list[str]:
        """Reload the processes whose programs reload on ``changes``; return their names.

        Running processes restart (or get their reload signal); crashed and
        finished ones start again (a one-shot only if it reloads at all,
        ``autoreload=true``). A process that is stopped, by the user or
        because it never started, stays so.
        """
        changes = list(changes)
        restart, signalled = [], []
        for run in self.table.runs.values():
            program = run.program
            if program.schedule or not any(program.reloads_on(change) for change in changes):
                continue  # a scheduled program's next run takes the new code
            if program.reload_signal and run.state in ("STARTING", "RUNNING"):
                signalled.append(run.namespec)
                self.control.signal(run.namespec, program.reload_signal)
            elif run.state in STOPPABLE or run.state in FINISHED or run.restart_pending:
                restart.append(run)
        return sorted({*self._restart(restart), *signalled})

    def _restart(self, targets: Iterable[Run], tried: bool = False) -> list[str]:
        """Restart ``targets`` and the processes up that depend on them, dependents first.

        Return their names in the order they stop: each after its dependents.
        A process that serves a held socket with an http check is tried
        first (trials.py), unless ``tried``: it and its dependents restart
        once its trial has passed.
        """
        targets = list(targets)
        trying = [] if tried else [run for run in targets if self._to_try(run)]
        waiting = self._dependents_of(trying)
        for run in trying:
            self._try(run, [other for other in targets if other.namespec in waiting])
        affected: dict[str, Run] = {}
        pending = [run for run in targets if run not in trying and run.namespec not in waiting]
        while pending:
            run = pending.pop()
            if run.namespec in affected:
                continue
            affected[run.namespec] = run
            pending += [other for other in self.table.dependents_of(run) if other.state in UP]
        for run in affected.values():
            run.restart_pending = run.wanted = True
            run.start_requested = False
            run.restart_at = run.failure = run.blocked_by = None
            run.done = False  # a one-shot restarted runs again
            run.awaiting_change = False
        self.evaluate()
        dependents = {
            name: [other.namespec for other in self.table.dependents_of(run)]
            for name, run in affected.items()
        }
        order = [name for wave in dependents_first(affected, dependents) for name in wave]
        deferred = [run.namespec for run in targets if run in trying or run.namespec in waiting]
        return deferred + order

    # Deciding.

    def evaluate(self) -> None:
        """Move every process along: stop what is to restart, start what can start.

        Starting or stopping a process makes supervisord announce its new
        state, which asks for another evaluation: that one runs after this
        one, not inside it.
        """
        if self.stopping:
            return
        if self.evaluating:
            self.dirty = True
            return
        self.evaluating = True
        try:
            self.dirty = True
            while self.dirty:
                self.dirty = False
                for run in self.table.runs.values():
                    if run.restart_pending:
                        self._advance_restart(run)
                    else:
                        self._evaluate_start(run)
                        self._end_trial_if_over(run)
        finally:
            self.evaluating = False

    def _advance_restart(self, run: Run) -> None:
        """Stop ``run`` once its restarting dependents are down; once down, want it started."""
        if any(
            other.restart_pending and other.state in UP for other in self.table.dependents_of(run)
        ):
            return  # dependents first
        if run.state in STOPPABLE:
            self._stop(run)
            return
        if run.state in UP:
            return  # stopping
        run.restart_pending = False
        run.start_requested = True
        self.dirty = True  # what it waited for, and what waited for it, move on

    def _evaluate_start(self, run: Run) -> None:
        startable = run.state == "STOPPED" or (run.start_requested and run.state in FINISHED)
        if not run.wanted or not startable or (run.failure and not run.start_requested):
            return
        blocked, waiting = self.table.dependency_status(run)
        if blocked != run.blocked_by:
            # What depends on it is blocked too: another pass, as it may come first.
            self.dirty = True
        run.blocked_by, run.waiting_for = blocked, waiting
        if blocked:
            self.tell_once(run, "blocked", f"{run.namespec} is blocked: {blocked}")
        elif waiting:
            self.tell_once(run, "waiting", f"{run.namespec} is waiting for {waiting}")
        else:
            run.start_requested = False
            run.failure = None
            self.run_starts(run)
            why_not = self.control.start(run.namespec)
            if why_not is None:
                run.state = "STARTING"  # supervisord says so too, in a moment
            else:
                run.failure = f"could not start: {why_not}"
                self.tell_once(run, "failed", f"{run.namespec} {run.failure}")
                self.run_refused(run)
                self.dirty = True
