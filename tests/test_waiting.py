"""``wait``: its words, and what it says of processes that are not up (in-memory supervisord)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import cast

import pytest

from djsupervisor.control.connection import Running
from djsupervisor.control.waiting import DEFAULT_TIMEOUT, parse, reach, wait
from djsupervisor.errors import ConfigError, Fault, NotRunningError
from djsupervisor.protocol import BAD_NAME, ProcessState, Startup
from tests.fakes import FakeClock, FakeProcess, FakeSupervisord


class Starting(FakeSupervisord):
    """A supervisord whose processes are up (or fail) at given times."""

    def __init__(self, up_at: dict[str, float], failed: dict[str, str] | None = None) -> None:
        super().__init__([FakeProcess(name, name, state="STARTING") for name in up_at])
        self.up_at = up_at
        self.failed = failed or {}
        self.asked: list[list[str]] = []

    def startup(self, names: Sequence[str] = ()) -> Startup:
        self.asked.append(list(names))
        if "nope" in names:
            raise Fault(BAD_NAME, "BAD_NAME: nope")
        outcomes = {n: "ok" for n, at in self.up_at.items() if at <= self.now}
        outcomes.update(self.failed)
        asked = list(names) or list(self.up_at)
        pending = [name for name in asked if name not in outcomes]
        failures = [f"{n}: {o}" for n, o in outcomes.items() if o != "ok" and n in asked]
        return Startup(not pending, failures, outcomes, pending)

    def process_states(self) -> list[ProcessState]:
        return [ProcessState(n, n, "STARTING", "", "not ready") for n in self.up_at]


def test_it_returns_once_every_process_is_up() -> None:
    supervisord = Starting({"db": 0.5, "web": 2.0})
    clock = FakeClock(supervisord)
    assert wait(supervisord, [], 10, clock) == []
    assert 2.0 <= clock.now < 2.1
    assert supervisord.asked[-1] == []  # no names: every process that should run


def test_it_names_what_is_not_up_in_time_and_how_it_is() -> None:
    supervisord = Starting({"db": 0.5, "web": 30.0})
    clock = FakeClock(supervisord)
    assert wait(supervisord, ["db", "web"], 5, clock) == [
        "web: not up after 5 s (STARTING not ready)"
    ]
    assert 5.0 <= clock.now < 5.1


def test_a_failure_ends_the_wait_at_once_whatever_the_others_do() -> None:
    supervisord = Starting({"db": 300}, failed={"web": "blocked: migrate could not start"})
    clock = FakeClock(supervisord)
    assert wait(supervisord, ["db", "web"], 60, clock) == ["web: blocked: migrate could not start"]
    assert clock.now == 0


def test_the_timeout_counts_from_the_start_of_the_wait() -> None:
    supervisord = Starting({"db": 300})
    clock = FakeClock(supervisord)
    assert wait(supervisord, [], 5, clock, waited=4) == [
        "db: not up after 5 s (STARTING not ready)"
    ]
    assert 1 <= clock.now < 1.1


def test_an_unknown_name_is_one_clear_error() -> None:
    supervisord = Starting({"db": 0.5})
    with pytest.raises(ConfigError, match=r"^wait: no such process: nope$"):
        wait(supervisord, ["nope"], 5, FakeClock(supervisord))


def test_its_words() -> None:
    assert parse([]).timeout == DEFAULT_TIMEOUT
    parsed = parse(["web", "--timeout", "2.5", "worker"])
    assert (parsed.names, parsed.timeout) == (["web", "worker"], 2.5)
    for words, error in [
        (["--timeout", "soon"], "wait: --timeout takes a number of seconds"),
        (["--timeout", "0"], "wait: --timeout must be a positive number of seconds, not 0"),
        (["--timeout", "nan"], "wait: --timeout must be a positive number of seconds, not nan"),
        (["-f"], "wait: unknown option '-f'; use --timeout S and process names"),
        (["--time", "5"], "wait: unknown option '--time'; use --timeout S and process names"),
        (["--timeout"], "wait: argument --timeout: expected one argument; use --timeout S"),
    ]:
        with pytest.raises(ConfigError, match=f"^{error}"):
            parse(words)


def test_a_supervisord_not_up_yet_is_waited_for_within_the_timeout() -> None:
    supervisord = Starting({"db": 0.5})
    clock = FakeClock(supervisord)
    running = cast("Running", SimpleNamespace(client=SimpleNamespace(ensure_running=lambda: None)))
    config_written_at = 1.0

    def find() -> Running:
        if clock.now < config_written_at:
            raise NotRunningError("supervisord is not running for this project")
        return running

    with pytest.raises(NotRunningError):
        reach(find, 0.5, clock)
    assert clock.now <= 0.5
    assert reach(find, 5, clock) is running
    assert config_written_at <= clock.now < config_written_at + 0.2
