"""Inside supervisord: dependencies, readiness, one-shot programs and crash-loop backoff.

Every process state change reaches :meth:`Orchestrator.on_state` as supervisord
notifies it, in supervisord's main loop; readiness checks report back through
:class:`~djsupervisor.supervisord.loop.MainLoop`, which also wakes the loop
when a program's ``startsecs`` or a backoff delay ends. Nothing here waits for
supervisord's one-second tick: a dependent starts within milliseconds of its
dependency's condition being met, in the foreground and daemonized alike.
Programs are started through supervisord's own XML-RPC implementation, in
its own thread.

This module runs inside supervisord: supervisor, the standard library and
djsupervisor's modules that do.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from supervisor import events
from supervisor.options import make_namespec
from supervisor.rpcinterface import SupervisorNamespaceRPCInterface
from supervisor.states import getProcessStateDescription
from supervisor.xmlrpc import RPCError

from .client import STOPPABLE, UP
from .loop import MainLoop
from .runs import Prober, Run, environment_of, owners_of
from .runtable import RunTable

WAKE_MARGIN = 0.002  # seconds after a deadline supervisord is woken to act on it
ALREADY_STARTED = 60  # supervisor.xmlrpc.Faults


class Orchestrator:
    """Start, watch and restart the programs of one supervisord by their graph."""

    def __init__(
        self,
        supervisord: Any,
        graph_path: Path | None,
        loop: MainLoop,
        say: Callable[[str], None],
    ) -> None:
        self.rpc = SupervisorNamespaceRPCInterface(supervisord)
        self.loop = loop
        self.say = say
        self.table = RunTable(graph_path)
        self.stopping = False
        self.evaluating = self.dirty = False  # see evaluate()
        self.subscribed: list[tuple[type, Callable[[Any], None]]] = [
            (events.ProcessStateEvent, self.on_state),
            (events.ProcessLogEvent, self.on_output),
            (events.SupervisorRunningEvent, lambda event: self.start_wanted()),
            (events.SupervisorStoppingEvent, lambda event: self.close()),
            (events.ProcessGroupAddedEvent, lambda event: self.reload()),
            (events.ProcessGroupRemovedEvent, lambda event: self.reload()),
        ]
        for kind, handler in self.subscribed:
            events.subscribe(kind, handler)

    def reload(self) -> None:
        self.table.load()
        self.start_wanted()

    def close(self) -> None:
        """Stop checking and restarting: supervisord is stopping (or reloading)."""
        self.stopping = True
        for run in self.table.runs.values():
            self._stop_probe(run)
        for kind, handler in self.subscribed:
            with contextlib.suppress(ValueError):  # a reload cleared them already
                events.unsubscribe(kind, handler)

    # Starting.

    def start_wanted(self) -> None:
        """Want the autostart programs and what they depend on; start what can start."""
        for run in self.table.runs.values():
            if run.program.autostart:
                self.table.want(run)
        self.evaluate()

    def start(self, names: Iterable[str]) -> list[str]:
        """Start the processes ``names`` after what they depend on (the ``start`` command)."""
        targets = [run for name in names for run in self.table.resolve(name)]
        for run in targets:
            self.table.want(run, requested=True)
        self.evaluate()
        return [run.namespec for run in targets]

    def restart(self, names: Iterable[str]) -> list[str]:
        """Stop the processes ``names``; start each again once it has stopped.

        Unlike the ``restart`` command, this does not wait: the stop and the
        start happen in supervisord's loop (the admin's Restart button).
        """
        targets = [run for name in names for run in self.table.resolve(name)]
        idle = []
        for run in targets:
            run.done = False  # a one-shot restarted runs again
            # Before stopping it: a process in BACKOFF is STOPPED at once.
            run.restart_pending = run.state in UP
            if run.state in STOPPABLE:
                self.rpc.stopProcess(run.namespec, False)
            elif not run.restart_pending:
                idle.append(run.namespec)
        self.start(idle)
        return [run.namespec for run in targets]

    def stop(self, names: Iterable[str]) -> list[str]:
        """Stop the processes ``names`` that run, without waiting; cancel a restart under way."""
        targets = [run for name in names for run in self.table.resolve(name)]
        for run in targets:
            run.restart_pending = False
            run.wanted = False
            if run.state in STOPPABLE:
                self.rpc.stopProcess(run.namespec, False)
        return [run.namespec for run in targets]

    def evaluate(self) -> None:
        """Start each wanted process whose dependencies are met; note who waits, who is blocked.

        Starting a process makes supervisord notify its new state at once, which
        asks for another evaluation: that one runs after this one, not inside it.
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
                    self._evaluate(run)
        finally:
            self.evaluating = False

    def _evaluate(self, run: Run) -> None:
        startable = run.state == "STOPPED" or (
            run.start_requested and run.state in ("EXITED", "FATAL")
        )
        if not run.wanted or not startable:
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
            self._start(run)

    def _start(self, run: Run) -> None:
        started = run.started_at
        try:
            self.rpc.startProcess(run.namespec, False)
        except RPCError as exc:
            # If it started and then exited (a one-shot failing at once), its
            # state changes have said so already.
            if run.started_at == started and exc.code != ALREADY_STARTED:
                run.failure = f"could not start: {exc.text}"

    # supervisord's events.

    def on_state(self, event: Any) -> None:
        process = event.process
        run = self.table.runs.get(namespec_of(process))
        if run is None:
            return
        run.state = getProcessStateDescription(process.state)
        handler = getattr(self, f"_{run.state.lower()}", None)
        if handler is not None:
            handler(run, process, event)
        self.evaluate()

    def _starting(self, run: Run, process: Any, event: Any) -> None:
        run.wanted = True
        run.started_at = time.monotonic()
        run.ready = run.done = False
        run.failure = run.blocked_by = run.waiting_for = None
        if run.restart_at is None:  # started by someone (a code change, a user): a new chance
            run.awaiting_change = False
        run.restart_at = None
        run.told.clear()
        self.wake_at(process.delay)  # when startsecs end: RUNNING without a second's delay
        check = run.program.ready
        if check is None:
            return
        if check.kind != "log":
            self._stop_probe(run)
            run.probe = Prober(
                check,
                partial(owners_of, process),
                process.config.directory,
                environment_of(process),
                self.loop,
                partial(self.mark_ready, run, run.started_at),
            )
        self.loop.call_later(
            run.program.ready_timeout, partial(self.ready_timed_out, run, run.started_at)
        )

    def _backoff(self, run: Run, process: Any, event: Any) -> None:
        self.wake_at(process.delay)  # supervisord's own retry

    def _stopping(self, run: Run, process: Any, event: Any) -> None:
        self.wake_at(process.delay)  # its stopwaitsecs' SIGKILL

    def _stopped(self, run: Run, process: Any, event: Any) -> None:
        run.wanted = run.ready = False
        run.restart_at = None
        self._stop_probe(run)
        if run.restart_pending:
            # supervisord forgets the old pid only after telling of the
            # stop, and refuses a start until then: start it right after.
            run.restart_pending = False
            self.loop.call_later(0, partial(self.start, [run.namespec]))

    def _fatal(self, run: Run, process: Any, event: Any) -> None:
        self._stop_probe(run)
        run.failure = f"could not start: {process.spawnerr or 'exited too quickly'}"
        self.tell_once(run, "failed", f"{run.namespec} {run.failure}")

    def _exited(self, run: Run, process: Any, event: Any) -> None:
        self._stop_probe(run)
        run.ready = False
        status = f"exited with status {process.exitstatus}"
        if run.program.oneshot:
            run.done = bool(event.expected)
            if not run.done:
                run.failure = status
                self.tell_once(run, "failed", f"{run.namespec} {status}")
            return
        if self.stopping or not run.restarts_after(event.expected):
            return
        delay = run.crashed(self.table.graph.debug)
        if delay is None:
            self.tell_once(run, "awaiting", f"{run.namespec} {status} and {run.readiness()}")
        else:
            self.loop.call_later(delay, partial(self.restart_crashed, run))

    def restart_crashed(self, run: Run) -> None:
        """Restart a crashed process once its backoff delay is over."""
        if run.restart_at is None or self.stopping or run.state not in ("EXITED", "FATAL"):
            return
        self._start(run)

    def on_output(self, event: Any) -> None:
        """Match a log check's pattern against the lines a process writes."""
        run = self.table.runs.get(namespec_of(event.process))
        check = run.program.ready if run else None
        if run is None or check is None or check.kind != "log" or run.ready:
            return
        data = event.data.decode(errors="replace") if isinstance(event.data, bytes) else event.data
        *lines, run.log_pending = (run.log_pending + data).split("\n")
        if any(re.search(check.target, line) for line in lines):
            self.mark_ready(run, run.started_at)

    # Readiness.

    def mark_ready(self, run: Run, started: float) -> None:
        if run.started_at != started or run.state not in ("STARTING", "RUNNING"):
            return  # an older start's check
        run.ready = True
        run.probe = None
        check = run.program.ready
        if check is not None and check.kind == "http":
            self.tell_once(run, "ready", f"{run.namespec} is ready at {check.target}")
        self.evaluate()

    def ready_timed_out(self, run: Run, started: float) -> None:
        if run.started_at != started or run.ready or run.state not in ("STARTING", "RUNNING"):
            return
        why = run.probe.last_failure if run.probe else ""
        self._stop_probe(run)
        run.failure = f"not ready within {run.program.ready_timeout:g} s" + (
            f" ({why})" if why else ""
        )
        self.tell_once(run, "failed", f"{run.namespec} is {run.failure}")
        self.evaluate()

    def _stop_probe(self, run: Run) -> None:
        if run.probe is not None:
            run.probe.cancel()
            run.probe = None

    def wake_at(self, deadline: float) -> None:
        """Have supervisord's loop turn just after ``deadline`` (its own, time.time())."""
        if deadline:
            self.loop.call_later(max(deadline - time.time(), 0) + WAKE_MARGIN, lambda: None)

    def tell_once(self, run: Run, what: str, message: str) -> None:
        if what not in run.told:
            run.told.add(what)
            self.say(message)


def namespec_of(process: Any) -> str:
    group = process.group.config.name if process.group else process.config.name
    return str(make_namespec(group, process.config.name))
