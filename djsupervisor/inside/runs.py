"""What the orchestrator knows of each process, and the threads that probe readiness.

This module runs inside supervisord: standard library only (and djsupervisor's
graph, probes and loop modules).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..graph import Check, Program
from ..protocol import NOT_READY, NOT_STARTED, READY, STARTABLE, UP
from ..schedules import Schedule
from . import probes
from .loop import MainLoop

PROBE_INTERVALS = {"tcp": 0.01, "http": 0.01, "exec": 0.5}  # seconds between attempts
BACKOFF_FIRST = 1.0  # seconds before restarting a program that crashed once
BACKOFF_MAX = 60.0  # seconds: the longest wait, however often it crashed
BACKOFF_RESET = 60.0  # seconds up after which a crash is not part of a crash loop
QUICK_CRASHES = 5  # in debug mode, crashes in a row before waiting for a code change


@dataclass
class ScheduledRuns:
    """What a scheduled process has done and will do (times in seconds since the epoch)."""

    schedule: Schedule
    anchor: float  # when supervisord took the schedule: 'every' counts from there
    due: float | None = None  # its next run; None while stopped
    due_started: float | None = None  # the due time of the run starting, if the schedule began it
    timer: int = 0  # the number of the timer that counts: a later one replaces earlier ones
    stopped: bool = False  # stopped by someone: no run until started
    runs: int = 0
    failures: int = 0
    skipped: int = 0  # due while the previous run was still going
    last_start: float | None = None
    last_result: str = ""  # 'ok', or how the last run failed

    def describe(self, waiting_for: str | None) -> str:
        """Return what ``status`` shows of it: the next run, the last, the failures."""
        parts = [f"waiting for {waiting_for}"] if waiting_for else []
        if self.stopped:
            parts.append("stopped: no run until started")
        elif self.due is not None:
            parts.append(f"next run {moment(self.due)}")
        if self.last_start is not None:
            result = self.last_result or "running"
            parts.append(f"last run {moment(self.last_start)}: {result}")
        if self.failures:
            parts.append(f"{self.failures} of {self.runs} failed")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        return "; ".join(parts)

    def as_struct(self) -> dict[str, Any]:
        """Return it for XML-RPC, which has no None: a time not known is left out."""
        times = {"next": self.due, "last_start": self.last_start}
        return {
            "schedule": str(self.schedule),
            **{key: value for key, value in times.items() if value is not None},
            "last_result": self.last_result,
            "runs": self.runs,
            "failures": self.failures,
            "skipped": self.skipped,
            "stopped": self.stopped,
        }


def moment(when: float) -> str:
    """Return a time as ``status`` shows it: local, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))


@dataclass
class Run:
    """One process, as the orchestrator sees it (touched in supervisord's main loop only)."""

    namespec: str
    program_name: str
    program: Program
    wanted: bool = False  # someone wants it running: autostart, a start, a dependent
    starts: int = 0  # times it entered STARTING (a trial that took over counts as one)
    start_requested: bool = False  # start it even if it has exited or failed
    restart_pending: bool = False  # to be stopped (after its dependents) and started again
    state: str = "STOPPED"
    started_at: float = 0.0  # monotonic time of its last start
    ready: bool = False
    done: bool = False  # a one-shot that succeeded
    failure: str | None = None  # why it failed; blocks its dependents
    waiting_for: str | None = None
    blocked_by: str | None = None  # the failure that blocks it, however far down
    crashes: int = 0  # unexpected exits in a row, each after less than BACKOFF_RESET up
    restart_at: float | None = None  # monotonic time of a restart it waits for
    awaiting_change: bool = False  # debug mode: crashed too often, waits for a code change
    probe: Probe | None = None
    trial: TrialRun | None = None  # its new code on trial before a restart (trials.py)
    trial_passed: bool = False  # the trial serves until the restart is over
    trial_failure: str | None = None  # why the last trial failed: it was not restarted
    log_pending: str = ""  # an unfinished line, for a log check
    scheduled: ScheduledRuns | None = None  # a program with schedule= (scheduling.py)
    told: set[str] = field(default_factory=set)  # notices said once

    @property
    def group(self) -> str:
        return self.namespec.partition(":")[0]

    def condition_met(self, condition: str) -> bool:
        """Tell whether a dependent waiting for ``condition`` of this process may start.

        Not while it is to be restarted: its dependents start again after it.
        """
        if self.restart_pending:
            return False
        if condition == "done":
            return self.done
        if condition == "ready":
            return self.ready
        return self.state == "RUNNING" or self.ready

    def restarts_after(self, expected: bool) -> bool:
        """Tell whether the orchestrator restarts this process after it exited so."""
        autorestart = self.program.autorestart
        if self.program.oneshot or not self.program.restart_backoff or autorestart == "false":
            return False  # supervisord's rules, if any
        return autorestart == "true" or not expected

    def crashed(self, debug: bool, now: float) -> float | None:
        """Count a crash; return the delay before the restart, or None to wait for a change.

        The delay doubles with each crash in a row, up to BACKOFF_MAX; a
        process that stayed up BACKOFF_RESET starts counting again. In debug
        mode, after QUICK_CRASHES in a row it waits for a code change instead.
        """
        quick = now - self.started_at < BACKOFF_RESET
        self.crashes = self.crashes + 1 if quick else 1
        if debug and self.crashes >= QUICK_CRASHES:
            self.awaiting_change = True
            return None
        delay: float = min(BACKOFF_FIRST * 2 ** (self.crashes - 1), BACKOFF_MAX)
        self.restart_at = now + delay
        return delay

    def readiness(self, now: float) -> str:
        """Return what ``status`` shows beside supervisord's state, if anything."""
        if self.restart_pending:
            return "restarting"
        if self.blocked_by:
            return f"blocked: {self.blocked_by}"
        if self.scheduled is not None:
            return self.scheduled.describe(self.waiting_for)
        if self.failure:
            return self.failure
        if self.awaiting_change:
            return f"crashed {self.crashes} times in a row; waiting for a code change"
        if self.restart_at is not None:
            seconds = max(self.restart_at - now, 0)
            return f"crashed; restarting in {seconds:.0f} s"
        if self.waiting_for:
            return f"waiting for {self.waiting_for}"
        if self.done:
            return "done"
        if self.program.ready is not None and self.state in ("STARTING", "RUNNING"):
            return READY if self.ready else NOT_READY
        return ""

    def startup_outcome(self, now: float) -> str | None:
        """Return 'ok', a failure to report, or None while it is still on its way.

        A scheduled process is on its way while a run is: then, as its last
        run went, or 'ok' before any.
        """
        if self.scheduled is not None:
            if self.blocked_by:
                return self.readiness(now)
            if self.restart_pending or self.start_requested or self.state in UP:
                return None
            if self.scheduled.stopped:
                return NOT_STARTED
            return "ok" if self.scheduled.last_result in ("", "ok") else self.scheduled.last_result
        if self.restart_pending or (self.trial is not None and not self.trial_passed):
            return None
        if self.trial_failure:
            return self.trial_failure
        if self.blocked_by or self.failure or self.awaiting_change:
            return self.readiness(now)
        if self.restart_at is not None:
            return self.readiness(now)
        if self.done or self.ready:
            return "ok"
        if self.state == "RUNNING" and self.program.ready is None and not self.program.oneshot:
            return "ok"
        if self.state == "FATAL":
            return "could not start"
        if self.state in STARTABLE and not self.wanted:
            return NOT_STARTED  # stopped by someone, or never started: it will not start
        return None


class TrialRun(Protocol):
    """A trial of a program's new code under way (trials.py): it can be ended."""

    boot_time: float  # seconds from its start until its check passed; 0 until then
    adopted: bool  # it became the program's process
    serves_held: bool  # it answers the program's clients too, until it takes over

    def cancel(self) -> None: ...


class Probe(Protocol):
    """A readiness check under way: it can be cancelled, and says why it has not passed."""

    last_failure: str

    def cancel(self) -> None: ...


class Prober:
    """Probe one process's readiness check from a thread until it passes or is cancelled."""

    def __init__(
        self,
        check: Check,
        owners: probes.Owners,
        directory: str | None,
        environment: Mapping[str, str],
        loop: MainLoop,
        on_result: Callable[[], None],
    ) -> None:
        self.check = check
        self.owners = owners
        self.directory = directory
        self.environment = environment
        self.loop = loop
        self.on_result = on_result
        self.last_failure = ""  # why the last attempt did not pass
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._probe, name="djsupervisor-probe", daemon=True)
        self.thread.start()

    def cancel(self) -> None:
        self.cancelled.set()

    def attempt(self) -> None:
        """Run the check once; raise ``probes.NotReady`` if it does not pass."""
        check = self.check
        if check.kind == "tcp":
            probes.tcp(check.host, check.port, self.owners)
        elif check.kind == "http":
            probes.http(check.target, check.host, check.port, self.owners)
        else:
            probes.run(check.target, self.directory, self.environment, self.cancelled)

    def _probe(self) -> None:
        interval = PROBE_INTERVALS[self.check.kind]
        while not self.cancelled.is_set():
            try:
                self.attempt()
            except probes.NotReady as exc:
                # Kept, not sent: each message would make supervisord's loop turn.
                self.last_failure = str(exc)
                self.cancelled.wait(interval)
                continue
            self.loop.call_soon(self._passed)
            return

    def _passed(self) -> None:
        if not self.cancelled.is_set():
            self.on_result()


def owners_of(process: Any) -> list[int]:
    """Return the processes that may hold ``process``'s port: its process group."""
    # Asked when a check connects: at STARTING, supervisord has not forked yet.
    return probes.process_group(process.pid) if process.pid else []


def environment_of(process: Any) -> dict[str, str]:
    """Return the environment supervisord gives ``process``, for an exec check."""
    environment = dict(os.environ)
    environment.update(process.config.environment or {})
    return environment
