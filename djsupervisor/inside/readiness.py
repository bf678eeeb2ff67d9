"""When a process is ready: its check passed, its log said so, or its time ran out.

Part of the orchestrator (orchestrator.py): the checks a start begins end
here, and what depends on a process starts once it is ready.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .events import Control
from .runs import Run
from .runtable import RunTable


class Readiness:
    """The orchestrator's readiness half: log checks, passed checks, timeouts."""

    table: RunTable
    control: Control
    say: Callable[[str], None]

    def evaluate(self) -> None:
        """Move every process along (the orchestrator does)."""

    def on_output(self, namespec: str, text: str) -> None:
        """Match a log check's pattern against the lines a process writes."""
        run = self.table.runs.get(namespec)
        if run is None or not self.watches_output(run):
            return
        check = run.program.ready
        assert check is not None
        *lines, run.log_pending = (run.log_pending + text).split("\n")
        if any(re.search(check.target, line) for line in lines):
            self.mark_ready(run, run.started_at)

    def watches_output(self, run: Run) -> bool:
        """Tell whether ``run``'s output is still looked at (a log check not passed yet)."""
        check = run.program.ready
        return check is not None and check.kind == "log" and not run.ready

    def mark_ready(self, run: Run, started: float) -> None:
        if run.started_at != started or run.state not in ("STARTING", "RUNNING"):
            return  # an older start's check
        run.ready = True
        run.failure = None  # ready after all, if late
        run.probe = None
        check = run.program.ready
        if check is not None and check.kind == "http":
            self.tell_once(run, "ready", f"{run.namespec} is ready at {check.target}")
        self.evaluate()

    def ready_timed_out(self, run: Run, started: float) -> None:
        """Fail a process not ready (a one-shot not done) ``ready_timeout`` after it started."""
        if run.started_at != started or run.ready or run.done or run.restart_pending:
            return
        if run.state not in ("STARTING", "RUNNING"):
            return
        why = run.probe.last_failure if run.probe else ""
        self.stop_probe(run)
        seconds = f"{run.program.ready_timeout:g} s"
        if run.program.oneshot:
            run.failure = f"not done within {seconds}"
        else:
            run.failure = f"not ready within {seconds}" + (f" ({why})" if why else "")
        self.tell_once(run, "failed", f"{run.namespec} is {run.failure}")
        self.evaluate()

    def stop_probe(self, run: Run) -> None:
        if run.probe is not None:
            run.probe.cancel()
            run.probe = None

    def tell_once(self, run: Run, what: str, message: str) -> None:
        if what not in run.told:
            run.told.add(what)
            self.say(message)
