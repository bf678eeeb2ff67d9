"""What the orchestrator hears from supervisord and asks of it, as plain values.

:mod:`~djsupervisor.inside.bridge` turns supervisord's events into
:class:`StateChange` values and its controls into a :class:`Control`; the
unit tests give the orchestrator recorded histories and a fake control.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..graph import Check
from .runs import Probe, TrialRun


@dataclass(frozen=True)
class StateChange:
    """A process's new state, as supervisord announced it."""

    namespec: str
    state: str  # 'STARTING', 'RUNNING', 'EXITED', ...
    expected: bool = True  # for EXITED: the exit status is one of its exitcodes
    exitstatus: int | None = None
    spawnerr: str = ""  # why it could not be spawned, if it could not


class Control(Protocol):
    """What the orchestrator asks of supervisord (and of time)."""

    def start(self, namespec: str) -> str | None:
        """Start the process without waiting; return why it cannot be started, or None."""

    def stop(self, namespec: str) -> None:
        """Stop the process without waiting."""

    def signal(self, namespec: str, signal: str) -> None:
        """Send the process ``signal`` ('HUP', ...)."""

    def probe(self, namespec: str, check: Check, on_pass: Callable[[], None]) -> Probe:
        """Start probing the process's readiness; call ``on_pass`` (in the loop) once it passes."""

    def call_later(self, delay: float, task: Callable[[], None]) -> None:
        """Run ``task`` in supervisord's loop ``delay`` seconds from now."""

    def note(self, namespec: str, text: str) -> None:
        """Write a line of djsupervisor's among the process's output in the journal (``logs``)."""

    def trial(self, namespec: str, on_end: Callable[[str | None], None]) -> TrialRun:
        """Try the process's command on a socket of its own (trials.py); OSError if it cannot.

        ``on_end`` is called in the loop with None if the trial passed its
        check, else why not.
        """
