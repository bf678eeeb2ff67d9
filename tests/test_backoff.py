"""Crash-loop backoff: the delays, their cap, their reset, and debug mode's wait."""

from __future__ import annotations

from djsupervisor.graph import Program
from djsupervisor.inside.runs import BACKOFF_RESET, Run


def crash(run: Run, debug: bool = False, up: float = 0.5) -> float | None:
    """Have ``run`` start, stay up ``up`` seconds and crash; return the delay it gets."""
    now = run.started_at + up
    delay = run.crashed(debug, now)
    run.started_at = now + (delay or 0)  # started again once the delay is over
    return delay


def test_the_delay_doubles_up_to_a_minute() -> None:
    run = Run("web", "web", Program())
    assert [crash(run) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert run.readiness(run.started_at - 1).startswith("crashed; restarting in ")


def test_a_minute_up_starts_the_count_again() -> None:
    run = Run("web", "web", Program())
    for _ in range(4):
        crash(run)
    assert crash(run, up=BACKOFF_RESET + 1) == 1
    assert crash(run) == 2


def test_in_debug_mode_the_fifth_quick_crash_waits_for_a_code_change() -> None:
    run = Run("web", "web", Program())
    assert [crash(run, debug=True) for _ in range(4)] == [1, 2, 4, 8]
    assert crash(run, debug=True) is None
    assert run.awaiting_change
    assert run.readiness(0) == "crashed 5 times in a row; waiting for a code change"


def test_who_is_restarted_after_an_exit() -> None:
    assert Run("w", "w", Program()).restarts_after(expected=False)
    assert not Run("w", "w", Program()).restarts_after(expected=True)
    assert Run("w", "w", Program(autorestart="true")).restarts_after(expected=True)
    assert not Run("w", "w", Program(restart_backoff=False)).restarts_after(expected=False)
    assert not Run("w", "w", Program(oneshot=True)).restarts_after(expected=False)
