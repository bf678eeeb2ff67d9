"""Reloading processes after a burst of changes, on a fake supervisord and clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from djsupervisor.autoreload.reloader import Reloader, Target

from .fakes import FakeClock, FakeSupervisord, ignore


def test_running_processes_restart_finished_ones_start_stopped_ones_stay() -> None:
    supervisord = FakeSupervisord()
    supervisord.add("web", stop_takes=0.3)
    supervisord.add("crashed", state="FATAL")
    supervisord.add("done", state="EXITED")
    supervisord.add("off", state="STOPPED")  # stopped by the user: a change does not start it
    supervisord.add("worker_0", group="worker")
    clock = FakeClock(supervisord)
    targets = [Target(name) for name in ("web", "crashed", "done", "off", "worker:worker_0")]
    log: list[str] = []
    reloader = Reloader(supervisord, targets, log.append, clock)

    reloader.begin()  # as the burst starts: stop what will restart
    assert supervisord.state_of("web") == "STOPPING"
    assert supervisord.state_of("worker:worker_0") == "STOPPING"
    reloaded = reloader.finish()  # as it ends: start each once it is down

    assert reloaded == ["crashed", "done", "web", "worker:worker_0"]
    assert supervisord.state_of("off") == "STOPPED"
    starts = {c.name: c.time for c in supervisord.calls if c.method == "startProcess"}
    # Each starts as soon as it is down, not when the slowest is.
    assert starts["crashed"] == starts["done"] == 0
    assert 0.1 <= starts["worker:worker_0"] < 0.3 <= starts["web"] < 0.35
    assert log == []


def test_a_graceful_target_is_signalled_instead() -> None:
    supervisord = FakeSupervisord()
    supervisord.add("gunicorn")
    reloader = Reloader(supervisord, [Target("gunicorn", "HUP")], ignore, FakeClock(supervisord))
    reloader.begin()
    assert reloader.finish() == ["gunicorn"]
    assert [(c.method, c.name) for c in supervisord.calls if c.name] == [
        ("signalProcess", "gunicorn")
    ]
    assert supervisord.state_of("gunicorn") == "RUNNING"


def test_refusals_are_logged() -> None:
    supervisord = FakeSupervisord()
    supervisord.add("web", state="FATAL")
    log: list[str] = []
    reloader = Reloader(supervisord, [Target("web")], log.append, FakeClock(supervisord))

    def refuse(method: str, calls: Iterable[Sequence[Any]]) -> list[tuple[str, str]]:
        return [(str(params[0]), "SPAWN_ERROR: web") for params in calls]

    supervisord.call_each = refuse  # type: ignore[method-assign]
    reloader.begin()
    assert reloader.finish() == ["web"]
    assert log == ["startProcess web: SPAWN_ERROR: web"]
