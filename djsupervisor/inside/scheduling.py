"""Scheduled programs: each run started when it is due, never two at once (docs: scheduling).

Part of the orchestrator (orchestrator.py). No loop polls the schedules:
each scheduled process has one timer (MainLoop.call_later, which wakes
supervisord's loop through its pipe, not at its next once-a-second turn),
set for its next due time, or for MAX_WAIT if that is further off, so that a
change of the wall clock (a suspend, NTP) is caught up with. When it is
due, the run starts as ``start`` starts it, after what it depends on; if
the previous run is still going, this one is skipped (said once per run).
A run that fails is counted and said; the schedule goes on.

``stop`` pauses the schedule until ``start``, which also runs it at once;
``restart`` runs it at once; a code change does not run it (its next run
takes the new code).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial

from ..protocol import UP
from ..schedules import parse_schedule
from .events import StateChange
from .runs import Run, ScheduledRuns, moment
from .trying import Trying

MAX_WAIT = 300.0  # seconds: the longest a timer waits before the wall clock is asked again
EARLY = 0.001  # seconds: a timer this close to its due time has come


class Scheduling(Trying):
    """The orchestrator's half that starts scheduled programs when they are due."""

    wall: Callable[[], float]  # the wall clock: time.time, or a test's

    def schedule(self) -> None:
        """Give each scheduled process its next run, after a launch, update or reload.

        A process whose schedule is unchanged keeps its record and timer.
        """
        for run in self.table.runs.values():
            written = run.program.schedule
            if written is None:
                run.scheduled = None  # its timer finds it gone
            elif run.scheduled is None or str(run.scheduled.schedule) != written:
                try:
                    schedule = parse_schedule(written)
                except ValueError as exc:  # the config build refuses it: a graph written by hand
                    self.say(f"{run.namespec}: schedule={written!r} {exc}; it does not run")
                    continue
                # A changed schedule keeps what the runs did, and a stop.
                kept = run.scheduled or ScheduledRuns(schedule, anchor=0.0)
                run.scheduled = replace(kept, schedule=schedule, anchor=self.wall(), due=None)
                if not run.scheduled.stopped:
                    self._plan(run, run.scheduled)

    def pause_schedules(self, runs: Iterable[Run]) -> None:
        """Stop running ``runs`` on their schedules until started (the ``stop`` command)."""
        for run in runs:
            if run.scheduled is not None:
                run.scheduled.stopped = True
                run.scheduled.due = None
                run.scheduled.timer += 1  # its timer is moot

    def resume_schedules(self, runs: Iterable[Run]) -> None:
        """Run ``runs`` now (the ``start`` command), and on their schedules again."""
        for run in runs:
            if run.scheduled is not None:
                run.done = False  # a one-shot done runs only when asked: it is asked
                run.scheduled.due_started = None
                if run.scheduled.stopped:
                    run.scheduled.stopped = False
                    self._plan(run, run.scheduled)

    def _plan(self, run: Run, scheduled: ScheduledRuns) -> None:
        """Set the next due time after now, and the timer for it."""
        now = self.wall()
        scheduled.due = scheduled.schedule.next_after(now, scheduled.anchor)
        self._arm(run, scheduled)

    def _arm(self, run: Run, scheduled: ScheduledRuns) -> None:
        scheduled.timer += 1
        assert scheduled.due is not None
        wait = min(max(scheduled.due - self.wall(), 0.0), MAX_WAIT)
        self.control.call_later(wait, partial(self._come, run, scheduled, scheduled.timer))

    def _come(self, run: Run, scheduled: ScheduledRuns, timer: int) -> None:
        """Start the run due now, or skip it if the last one still goes; plan the next."""
        current = self.table.runs.get(run.namespec) is run and run.scheduled is scheduled
        if self.stopping or not current or scheduled.timer != timer:
            return  # stopped, removed, replaced or re-planned since
        due = scheduled.due
        assert due is not None
        now = self.wall()
        every = scheduled.schedule.every
        if every is not None and due - now > every + EARLY:
            # The wall clock went back (NTP, a restored VM): keep the rhythm from now.
            scheduled.anchor = now
            self._plan(run, scheduled)
            return
        if now < due - EARLY:
            self._arm(run, scheduled)  # a wait longer than MAX_WAIT goes on
            return
        if run.state in UP or run.start_requested:
            scheduled.skipped += 1
            if run.state in UP and scheduled.last_start:
                going = f"the one started at {moment(scheduled.last_start)} is still going"
            else:
                going = f"the one due before is still waiting for {run.waiting_for}"
            self.tell_once(
                run, "skipped", f"{run.namespec}: the run due at {moment(due)} is skipped: {going}"
            )
        else:
            self._start_due(run, scheduled, due)
        # Runs missed while supervisord did not run are not made up for, as cron does not.
        scheduled.due = scheduled.schedule.next_after(max(self.wall(), due), scheduled.anchor)
        self._arm(run, scheduled)

    def _start_due(self, run: Run, scheduled: ScheduledRuns, due: float) -> None:
        """Start the run due at ``due``, after its dependencies; a failed one blocks it.

        Its dependencies are wanted up, as ``start`` wants them, but one that
        failed is not run again for it: the run is blocked, and counted failed.
        """
        run.done = False
        run.failure = run.blocked_by = None
        run.start_requested = True
        scheduled.due_started = due
        self.table.want(run)
        self.evaluate()
        if run.blocked_by:
            run.start_requested = False
            scheduled.due_started = None
            self._ended(run, scheduled, f"blocked: {run.blocked_by}")

    # What supervisord says of a scheduled process's runs.

    def run_starts(self, run: Run) -> None:
        """Count a scheduled run and mark its start in its output: it is about to be spawned.

        Marked before supervisord spawns it, so that the mark comes before
        what the run writes.
        """
        scheduled = run.scheduled
        if scheduled is None:
            return
        scheduled.runs += 1
        scheduled.last_start = self.wall()
        scheduled.last_result = ""
        why = f"due {moment(scheduled.due_started)}" if scheduled.due_started else "asked for"
        scheduled.due_started = None
        self.control.note(run.namespec, f"run {scheduled.runs} starts ({why})")

    def _exited(self, run: Run, change: StateChange) -> None:
        super()._exited(run, change)
        if run.scheduled is not None and not run.restart_pending:
            failure = None if change.expected else f"exited with status {change.exitstatus}"
            self._ended(run, run.scheduled, failure)

    def _fatal(self, run: Run, change: StateChange) -> None:
        super()._fatal(run, change)
        if run.scheduled is not None and not run.restart_pending:
            self._ended(run, run.scheduled, run.failure or "could not start")

    def _stopped(self, run: Run, change: StateChange) -> None:
        super()._stopped(run, change)
        scheduled = run.scheduled
        if scheduled is None or run.restart_pending:
            return
        if scheduled.last_start and not scheduled.last_result:
            scheduled.last_result = "stopped"  # by someone: not a failure

    def run_refused(self, run: Run) -> None:
        """Count a scheduled run supervisord would not start (``run.failure`` says why)."""
        if run.scheduled is not None:
            self._ended(run, run.scheduled, run.failure)

    def _ended(self, run: Run, scheduled: ScheduledRuns, failure: str | None) -> None:
        scheduled.last_result = failure or "ok"
        if failure:
            scheduled.failures += 1
