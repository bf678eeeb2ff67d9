"""Try a served program's new code before restarting it (trials.py), from the orchestrator.

Part of the orchestrator (orchestrator.py): a restart of a program that
serves a held socket (``listen=``) with an http check begins with a trial;
the programs that depend on it and restart with it wait for its end. A
trial that passes serves the held socket until the restarted process is
up; one that fails leaves the running process as it is, and says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from ..protocol import FINISHED, NOT_RESTARTED
from .runs import Run
from .state_changes import StateChanges

TRIAL_MARGIN = 1.5  # times a passed trial's time to answer that the new process is given


class Trying(StateChanges):
    """The orchestrator's trials of new code."""

    def _restart(self, targets: Iterable[Run], tried: bool = False) -> list[str]:
        """Restart ``targets`` and their dependents (the orchestrator does)."""
        raise NotImplementedError

    def drop_trial(self, run: Run) -> None:
        """End ``run``'s trial, if any, without a word: its restart is stopped or over."""
        if run.trial is not None:
            run.trial.cancel()
            run.trial, run.trial_passed = None, False

    def _to_try(self, run: Run) -> bool:
        """Tell whether ``run`` is tried before it restarts: it serves, on a held socket."""
        program = run.program
        check = program.ready
        serving = run.state == "RUNNING" and run.ready and not run.restart_pending
        held = program.listen is not None and check is not None and check.kind == "http"
        return serving and held and run.trial is None

    def _dependents_of(self, runs: Iterable[Run]) -> set[str]:
        """Return the names of the processes that depend on ``runs``, however far up."""
        found: set[str] = set()
        pending = list(runs)
        while pending:
            for other in self.table.dependents_of(pending.pop()):
                if other.namespec not in found:
                    found.add(other.namespec)
                    pending.append(other)
        return found

    def _try(self, run: Run, after: list[Run]) -> None:
        """Start trying ``run``'s new code; it restarts when the trial passes (trials.py).

        ``after``, restarted with it, wait for the trial's end: they depend on it.
        """
        run.trial_failure = None
        try:
            run.trial = self.control.trial(run.namespec, partial(self._tried, run, after))
        except OSError as exc:
            self._tried(run, after, f"it could not be tried: {exc.strerror or exc}")

    def _tried(self, run: Run, after: list[Run], why: str | None) -> None:
        if why is None:
            run.trial_passed = True  # it serves on until the restart is over
            if run.trial is not None and not run.trial.serves_held:
                self.drop_trial(run)  # it answers its check socket alone
            self._restart([run, *after], tried=True)
            return
        run.trial = None
        self._restart(after, tried=True)  # asked for, whatever their dependency's trial
        run.trial_failure = (
            f"{NOT_RESTARTED}: the new process did not pass its ready check ({why}); "
            "the running one goes on serving"
        )
        self.say(f"{run.namespec} {run.trial_failure}")
        self.evaluate()

    def _end_trial_if_over(self, run: Run) -> None:
        """Stop a passed trial once its program's restart is over: ready again, or failed.

        Ready, as its check says, but the trial answers the same check on the
        held socket: the new process is taken for up once it has also run as
        long as the trial took to answer, with a margin (the same code).
        """
        trial = run.trial
        if trial is None or not run.trial_passed:
            return
        if not (trial.adopted or run.failure or run.state in FINISHED or not run.wanted):
            if not run.ready:
                return
            booting = run.started_at + trial.boot_time * TRIAL_MARGIN - self.clock.monotonic()
            if booting > 0:
                self.control.call_later(booting, self.evaluate)
                return
        self.drop_trial(run)
