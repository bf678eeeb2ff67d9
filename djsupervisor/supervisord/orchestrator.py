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
djsupervisor's graph, probes, loop and runs modules.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from supervisor import events
from supervisor.options import make_namespec, split_namespec
from supervisor.rpcinterface import SupervisorNamespaceRPCInterface
from supervisor.states import getProcessStateDescription
from supervisor.xmlrpc import RPCError

from ..graph import Graph
from . import probes
from .loop import MainLoop
from .runs import Prober, Run

BACKOFF_FIRST = 1.0  # seconds before restarting a program that crashed once
BACKOFF_MAX = 60.0  # seconds: the longest wait, however often it crashed
BACKOFF_RESET = 60.0  # seconds up after which a crash is not part of a crash loop
QUICK_CRASHES = 5  # in debug mode, crashes in a row before waiting for a code change
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
        self.supervisord = supervisord
        self.rpc = SupervisorNamespaceRPCInterface(supervisord)
        self.graph_path = graph_path
        self.loop = loop
        self.say = say
        self.graph = Graph()
        self.runs: dict[str, Run] = {}
        self.stopping = False
        self.evaluating = self.dirty = False  # see evaluate()
        self.load()
        self.subscribed = self.subscriptions()
        for kind, handler in self.subscribed:
            events.subscribe(kind, handler)

    def subscriptions(self) -> list[tuple[type, Callable[[Any], None]]]:
        return [
            (events.ProcessStateEvent, self.on_state),
            (events.ProcessLogEvent, self.on_output),
            (events.SupervisorRunningEvent, lambda event: self.start_wanted()),
            (events.SupervisorStoppingEvent, lambda event: self.close()),
            (events.ProcessGroupAddedEvent, lambda event: self.reload()),
            (events.ProcessGroupRemovedEvent, lambda event: self.reload()),
        ]

    def load(self) -> None:
        """Read the graph the config was built with (again, after ``update``)."""
        try:
            self.graph = (
                Graph.from_json(self.graph_path.read_text()) if self.graph_path else Graph()
            )
        except (OSError, ValueError, KeyError, TypeError):
            self.graph = Graph()  # no dependencies: supervisord's own rules, and backoff off
        runs = {}
        for name, program in self.graph.programs.items():
            for namespec in program.processes:
                run = self.runs.get(namespec) or Run(namespec, name, program)
                run.program = program
                runs[namespec] = run
        self.runs = runs

    def reload(self) -> None:
        self.load()
        self.start_wanted()

    def close(self) -> None:
        """Stop checking and restarting: supervisord is stopping (or reloading)."""
        self.stopping = True
        for run in self.runs.values():
            self._stop_probe(run)
        for kind, handler in self.subscribed:
            with contextlib.suppress(ValueError):  # a reload cleared them already
                events.unsubscribe(kind, handler)

    # Wanting and starting.

    def start_wanted(self) -> None:
        """Want the autostart programs and what they depend on; start what can start."""
        for run in self.runs.values():
            if run.program.autostart:
                self.want(run)
        self.evaluate()

    def want(self, run: Run, requested: bool = False) -> None:
        """Want ``run`` running, and every process it depends on.

        A ``requested`` start (the ``start`` command) also starts again what
        has exited or failed, except a one-shot that is done.
        """
        run.wanted = True
        if requested and run.state not in ("RUNNING", "STARTING") and not run.done:
            run.start_requested = True
            run.failure = run.blocked_by = None
        for dependency, _ in run.program.depends_on:
            for other in self.processes_of(dependency):
                self.want(other, requested)

    def start(self, names: Iterable[str]) -> list[str]:
        """Start the processes ``names`` after what they depend on (the ``start`` command)."""
        targets = [run for name in names for run in self.resolve(name)]
        for run in targets:
            self.want(run, requested=True)
        self.evaluate()
        return [run.namespec for run in targets]

    def resolve(self, name: str) -> list[Run]:
        """Return the processes a name means: 'all', a program, 'group:*' or 'group:process'."""
        if name == "all":
            return list(self.runs.values())
        if name in self.graph.programs:
            return self.processes_of(name)
        group, process = split_namespec(name)
        found = [
            run
            for run in self.runs.values()
            if split_namespec(run.namespec)[0] == group
            and (process is None or split_namespec(run.namespec)[1] == process)
        ]
        if not found:
            raise RPCError(10, name)  # supervisor's BAD_NAME
        return found

    def processes_of(self, program: str) -> list[Run]:
        spec = self.graph.programs.get(program)
        return [self.runs[namespec] for namespec in spec.processes] if spec else []

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
                self._evaluate_once()
        finally:
            self.evaluating = False

    def _evaluate_once(self) -> None:
        for run in self.runs.values():
            startable = run.state == "STOPPED" or (
                run.start_requested and run.state in ("EXITED", "FATAL")
            )
            if not run.wanted or not startable:
                continue
            blocked, waiting = self.dependency_status(run)
            run.blocked_by, run.waiting_for = blocked, waiting
            if blocked:
                self.tell_once(run, "blocked", f"{run.namespec} is blocked: {blocked}")
            elif waiting:
                self.tell_once(run, "waiting", f"{run.namespec} is waiting for {waiting}")
            else:
                run.start_requested = False
                self._start(run)

    def dependency_status(self, run: Run) -> tuple[str | None, str | None]:
        """Return what blocks ``run`` (a failure, however far down) and what it waits for."""
        waiting = []
        for dependency, condition in run.program.depends_on:
            for other in self.processes_of(dependency):
                if other.condition_met(condition):
                    continue
                if other.blocked_by:
                    return other.blocked_by, None
                if other.failure:
                    return f"{other.namespec} {other.failure}", None
                waiting.append(f"{other.namespec} ({condition})")
        return None, ", ".join(dict.fromkeys(waiting)) or None

    def _start(self, run: Run) -> None:
        started = run.started_at
        try:
            self.rpc.startProcess(run.namespec, False)
        except RPCError as exc:
            # If it started and then exited (a one-shot failing at once), its
            # state changes have said so already.
            if run.started_at == started and exc.code != ALREADY_STARTED:
                run.failure = f"could not start: {exc.text}"

    # Supervisord's events.

    def on_state(self, event: Any) -> None:
        run = self.runs.get(self.namespec(event.process))
        if run is None:
            return
        process = event.process
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
        started = run.started_at
        if check is not None and check.kind != "log":
            self._stop_probe(run)
            run.probe = Prober(
                check,
                partial(self.owners, process),
                process.config.directory,
                self.environment(process),
                self.loop,
                partial(self.mark_ready, run, started),
            )
        if check is not None:
            self.loop.call_later(
                run.program.ready_timeout, lambda: self.ready_timed_out(run, started)
            )

    def _backoff(self, run: Run, process: Any, event: Any) -> None:
        self.wake_at(process.delay)  # supervisord's own retry

    def _stopping(self, run: Run, process: Any, event: Any) -> None:
        self.wake_at(process.delay)  # its stopwaitsecs' SIGKILL

    def _stopped(self, run: Run, process: Any, event: Any) -> None:
        run.wanted = run.ready = False
        run.restart_at = None
        self._stop_probe(run)

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
        autorestart = run.program.autorestart
        if self.stopping or not run.program.restart_backoff or autorestart == "false":
            return
        if autorestart != "true" and event.expected:
            return
        quick = time.monotonic() - run.started_at < BACKOFF_RESET
        run.crashes = run.crashes + 1 if quick else 1
        if self.graph.debug and run.crashes >= QUICK_CRASHES:
            run.awaiting_change = True
            self.tell_once(
                run,
                "awaiting",
                f"{run.namespec} {status} and crashed {run.crashes} times in a row; "
                "waiting for a code change",
            )
            return
        delay = min(BACKOFF_FIRST * 2 ** (run.crashes - 1), BACKOFF_MAX)
        run.restart_at = time.monotonic() + delay
        self.loop.call_later(delay, lambda: self.restart(run))

    def restart(self, run: Run) -> None:
        """Restart a crashed process once its backoff delay is over."""
        if run.restart_at is None or self.stopping or run.state not in ("EXITED", "FATAL"):
            return
        self._start(run)

    def on_output(self, event: Any) -> None:
        """Match a log check's pattern against the lines a process writes."""
        run = self.runs.get(self.namespec(event.process))
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

    # Helpers.

    def namespec(self, process: Any) -> str:
        group = process.group.config.name if process.group else process.config.name
        return str(make_namespec(group, process.config.name))

    def owners(self, process: Any) -> list[int]:
        """Return the processes that may hold ``process``'s port: its process group."""
        # Asked when a check connects: at STARTING, supervisord has not forked yet.
        return probes.process_group(process.pid) if process.pid else []

    def environment(self, process: Any) -> dict[str, str]:
        """Return the environment supervisord gives ``process``, for an exec check."""
        environment = dict(os.environ)
        environment.update(process.config.environment or {})
        return environment

    def wake_at(self, deadline: float) -> None:
        """Have supervisord's loop turn just after ``deadline`` (its own, time.time())."""
        if deadline:
            self.loop.call_later(max(deadline - time.time(), 0) + WAKE_MARGIN, lambda: None)

    def tell_once(self, run: Run, what: str, message: str) -> None:
        if what not in run.told:
            run.told.add(what)
            self.say(message)

    # What the XML-RPC calls report.

    def readiness(self, namespec: str) -> str:
        run = self.runs.get(namespec)
        return run.readiness() if run else ""

    def startup(self, names: list[str]) -> dict[str, Any]:
        """Return whether ``names`` (every wanted process if none) have started, or failed.

        The failures say which and why; the outcomes are 'ok' or the failure,
        by name, for those settled.
        """
        runs = [r for n in names for r in self.resolve(n)] if names else self.wanted_runs()
        outcomes = {run.namespec: run.startup_outcome() for run in runs}
        return {
            "settled": None not in outcomes.values(),
            "failures": [f"{n}: {o}" for n, o in outcomes.items() if o not in ("ok", None)],
            "outcomes": {n: o for n, o in outcomes.items() if o is not None},
        }

    def wanted_runs(self) -> list[Run]:
        return [run for run in self.runs.values() if run.wanted]

    def dependencies(self) -> dict[str, list[str]]:
        """Return, by namespec, the processes each depends on (for the stop order)."""
        return {
            run.namespec: [
                other.namespec
                for dependency, _ in run.program.depends_on
                for other in self.processes_of(dependency)
            ]
            for run in self.runs.values()
        }
