"""What each supervisord state change means to the orchestrator: readiness, backoff, done.

Part of the orchestrator (orchestrator.py): supervisord reports a process
STARTING, STOPPED, BACKOFF, FATAL or EXITED; here the process's run learns
it, its readiness check begins or ends, a one-shot is done or failed, and a
crashed process is started again after its delay.
"""

from __future__ import annotations

from functools import partial

from ..clock import Clock
from ..protocol import FINISHED
from .events import StateChange
from .readiness import Readiness
from .runs import Run


class StateChanges(Readiness):
    """The orchestrator's half that hears supervisord's state changes."""

    clock: Clock
    stopping: bool

    def on_state(self, change: StateChange) -> None:
        run = self.table.runs.get(change.namespec)
        if run is None:
            return
        run.state = change.state
        handler = getattr(self, f"_{change.state.lower()}", None)
        if handler is not None:
            handler(run, change)
        self.evaluate()

    def _starting(self, run: Run, change: StateChange) -> None:
        run.wanted = True
        run.starts += 1
        run.started_at = self.clock.monotonic()
        run.ready = run.done = False
        run.failure = run.blocked_by = run.waiting_for = None
        if run.restart_at is None:  # started by someone (a code change, a user): a new chance
            run.awaiting_change = False
        run.restart_at = None
        run.told.clear()
        self.stop_probe(run)
        check = run.program.ready
        if check is not None and check.kind != "log" and not run.program.oneshot:
            run.probe = self.control.probe(
                run.namespec, check, partial(self.mark_ready, run, run.started_at)
            )
        # A scheduled run takes what it takes: one still going when the next is due skips that one.
        if check is not None or (run.program.oneshot and run.program.schedule is None):
            self.control.call_later(
                run.program.ready_timeout, partial(self.ready_timed_out, run, run.started_at)
            )

    def _stopped(self, run: Run, change: StateChange) -> None:
        run.ready = False
        run.restart_at = None
        self.stop_probe(run)
        if not run.restart_pending:
            run.wanted = False  # stopped by someone: it stays stopped

    def _backoff(self, run: Run, change: StateChange) -> None:
        self.stop_probe(run)
        run.ready = False

    def _fatal(self, run: Run, change: StateChange) -> None:
        self.stop_probe(run)
        run.ready = False
        if run.restart_pending:
            return
        run.failure = f"could not start: {change.spawnerr or 'exited too quickly'}"
        self.tell_once(run, "failed", f"{run.namespec} {run.failure}")

    def _exited(self, run: Run, change: StateChange) -> None:
        self.stop_probe(run)
        run.ready = False
        if run.restart_pending:
            return
        status = f"exited with status {change.exitstatus}"
        if run.program.oneshot:
            run.done = change.expected
            run.failure = None if run.done else status
            if not run.done:
                self.tell_once(run, "failed", f"{run.namespec} {status}")
            return
        if self.stopping or not run.restarts_after(change.expected):
            return
        delay = run.crashed(self.table.graph.debug, self.clock.monotonic())
        if delay is None:
            now = self.clock.monotonic()
            self.tell_once(run, "awaiting", f"{run.namespec} {status} and {run.readiness(now)}")
        else:
            self.control.call_later(delay, partial(self.restart_crashed, run, run.restart_at))

    def restart_crashed(self, run: Run, due: float | None) -> None:
        """Start a crashed process again once its backoff delay is over, after its dependencies.

        ``due`` is when this crash's restart was due: a later crash, a start
        or a stop since then has made the timer of this one moot.
        """
        if run.restart_at is None or run.restart_at != due or self.stopping:
            return
        if run.state not in FINISHED:
            return
        run.start_requested = True
        self.evaluate()
