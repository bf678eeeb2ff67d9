"""Stopping in supervisord's priority order, on a fake supervisord and clock."""

from __future__ import annotations

import pytest

from djsupervisor.control.shutdown import (
    REPORT_INTERVAL,
    STOP_TIMEOUT,
    stop_programs,
    stop_supervisord,
)
from djsupervisor.errors import Fault, StopError

from .fakes import FakeClock, FakeSupervisord, ignore


@pytest.fixture
def supervisord() -> FakeSupervisord:
    return FakeSupervisord()


@pytest.fixture
def clock(supervisord: FakeSupervisord) -> FakeClock:
    return FakeClock(supervisord)


def stop_times(supervisord: FakeSupervisord) -> dict[str, float]:
    return {call.name: call.time for call in supervisord.calls if call.method == "stopProcess"}


def test_higher_priorities_stop_first_and_equal_ones_together(
    supervisord: FakeSupervisord, clock: FakeClock
) -> None:
    supervisord.add("web", priority=999, stop_takes=0.5)
    supervisord.add("worker_0", group="worker", priority=999, stop_takes=0.3)
    supervisord.add("worker_1", group="worker", priority=999)
    supervisord.add("db", priority=10)
    supervisord.add("cache", priority=500)
    stop_programs(supervisord, ignore, clock)
    times = stop_times(supervisord)
    # One call stops a whole priority level; the next waits until it is down.
    assert times["web"] == times["worker:worker_0"] == times["worker:worker_1"] == 0
    assert 0.5 <= times["cache"] < 0.6
    assert times["cache"] < times["db"]
    assert all(process.state == "STOPPED" for process in supervisord.processes)


def test_stopped_and_exited_processes_are_not_asked(
    supervisord: FakeSupervisord, clock: FakeClock
) -> None:
    supervisord.add("done", state="EXITED")
    supervisord.add("off", state="STOPPED")
    supervisord.add("web")
    stop_programs(supervisord, ignore, clock)
    assert list(stop_times(supervisord)) == ["web"]


def test_a_process_started_again_meanwhile_is_stopped_again(
    supervisord: FakeSupervisord, clock: FakeClock
) -> None:
    web = supervisord.add("web", stop_takes=0.1)
    original_advance = supervisord.advance
    restarted = False

    def advance(now: float) -> None:
        nonlocal restarted
        original_advance(now)
        if web.state == "STOPPED" and not restarted:  # someone's 'start web' won the race
            restarted = True
            web.state = "RUNNING"

    supervisord.advance = advance  # type: ignore[method-assign]
    stop_programs(supervisord, ignore, clock)
    assert [c.method for c in supervisord.calls].count("stopProcess") == 2
    assert web.state == "STOPPED"


def test_slow_processes_are_reported_and_time_out(
    supervisord: FakeSupervisord, clock: FakeClock
) -> None:
    supervisord.add("stubborn", stop_takes=STOP_TIMEOUT + 10)
    reports: list[str] = []
    with pytest.raises(StopError, match=f"stubborn still running after {STOP_TIMEOUT:.0f} s"):
        stop_programs(supervisord, reports.append, clock)
    assert reports[0] == "waiting for stubborn to stop"
    assert len(reports) == pytest.approx(STOP_TIMEOUT / REPORT_INTERVAL, abs=2)


def test_shutdown_follows_the_stop_and_tolerates_one_under_way(
    supervisord: FakeSupervisord, clock: FakeClock
) -> None:
    supervisord.add("web")
    stop_supervisord(supervisord, ignore, clock)
    assert supervisord.calls[-1].method == "shutdown"
    stop_supervisord(supervisord, ignore, clock)  # SHUTDOWN_STATE: its own goes on


def test_a_refused_shutdown_is_a_stop_error(supervisord: FakeSupervisord, clock: FakeClock) -> None:
    def refuse() -> None:
        raise Fault(2, "INCORRECT_PARAMETERS")

    supervisord.shutdown = refuse  # type: ignore[method-assign]
    with pytest.raises(StopError, match="supervisord refused to stop: INCORRECT_PARAMETERS"):
        stop_supervisord(supervisord, ignore, clock)
