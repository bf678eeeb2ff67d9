"""Waiting for a starting supervisord to spawn its programs, on a fake supervisord and clock."""

from __future__ import annotations

import pytest

from djsupervisor.control.launch import (
    START_POLL_INTERVAL,
    START_TIMEOUT,
    WAKE_POLL_INTERVAL,
    wait_until_spawned,
)
from djsupervisor.errors import CredentialsError, Fault

from .fakes import FakeClock, FakeSupervisord


def spawning(at: float) -> tuple[FakeSupervisord, FakeClock]:
    """Return a supervisord that answers from ``at`` on, its programs STOPPED until then."""
    supervisord = FakeSupervisord(answering_from=at)
    for name in ("web", "worker"):
        supervisord.add(name, state="STOPPED", changes_at=at, next_state="STARTING")
    supervisord.add("idle", state="STOPPED")  # autostart=false
    return supervisord, FakeClock(supervisord)


def test_returns_once_the_autostart_processes_left_stopped() -> None:
    supervisord, clock = spawning(at=0.2)
    assert wait_until_spawned(supervisord, {"web", "worker"}, lambda: True, clock)
    assert 0.2 <= clock.now < 0.2 + START_POLL_INTERVAL
    # Refused connections are retried fast: the command hears at once that it listens.
    assert clock.slept[0] == WAKE_POLL_INTERVAL


def test_a_supervisord_that_dies_or_never_answers_is_given_up() -> None:
    supervisord, clock = spawning(at=START_TIMEOUT * 2)
    assert not wait_until_spawned(supervisord, {"web"}, lambda: True, clock)
    assert clock.now >= START_TIMEOUT
    supervisord, clock = spawning(at=1.0)
    assert not wait_until_spawned(supervisord, {"web"}, lambda: clock.now < 0.5, clock)
    assert clock.now < 1.0


def test_a_supervisord_shutting_down_is_given_up() -> None:
    supervisord, clock = spawning(at=0.0)

    def shutting_down() -> list[object]:
        raise Fault(6, "SHUTDOWN_STATE")

    supervisord.process_states = shutting_down  # type: ignore[assignment,method-assign]
    assert not wait_until_spawned(supervisord, {"web"}, lambda: True, clock)


def test_refused_credentials_are_raised() -> None:
    supervisord, clock = spawning(at=0.0)

    def refuse() -> list[object]:
        raise CredentialsError("refused")

    supervisord.process_states = refuse  # type: ignore[assignment,method-assign]
    with pytest.raises(CredentialsError):
        wait_until_spawned(supervisord, {"web"}, lambda: True, clock)
