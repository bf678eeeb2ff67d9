"""The bridge between supervisord and the orchestrator, on stand-ins for supervisord's objects."""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from supervisor import events
from supervisor.states import ProcessStates

from djsupervisor.graph import Graph, Program
from djsupervisor.inside.bridge import Bridge
from djsupervisor.inside.loop import MainLoop


class QueueLoop:
    """Supervisord's main loop as the bridge uses it: work queued until the test runs it."""

    def __init__(self) -> None:
        self.tasks: list[Callable[[], object]] = []

    def call_soon(self, task: Callable[[], object]) -> None:
        self.tasks.append(task)

    def call_later(self, delay: float, task: Callable[[], object]) -> None:
        pass  # no deadline matters here

    def turn(self) -> None:
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task()


def process(name: str, state: int) -> Any:
    config = SimpleNamespace(name=name)
    return SimpleNamespace(
        config=config,
        group=SimpleNamespace(config=config),
        state=state,
        exitstatus=0,
        spawnerr=None,
        delay=0,
        pid=4242,
    )


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[tuple[Bridge, QueueLoop, list[str]]]:
    graph = Graph(
        {
            "migrate": Program(processes=["migrate"], oneshot=True),
            "web": Program(processes=["web"], depends_on=[("migrate", "done")]),
        }
    )
    (tmp_path / "graph.json").write_text(graph.to_json())
    loop = QueueLoop()
    started: list[str] = []
    bridge = Bridge(SimpleNamespace(), tmp_path / "graph.json", loop, lambda text: None)  # type: ignore[arg-type]
    bridge.rpc = SimpleNamespace(startProcess=lambda name, wait: started.append(name))
    try:
        yield bridge, loop, started
    finally:
        bridge.close()


def test_a_state_change_is_acted_on_at_the_next_turn_after_supervisord_logged_it(
    bridge: tuple[Bridge, QueueLoop, list[str]],
) -> None:
    bridge_, loop, started = bridge
    bridge_.orchestrator.supervisord_running()
    assert started == ["migrate"]
    migrate = process("migrate", ProcessStates.EXITED)
    # supervisord announces the exit before it logs 'exited: migrate': nothing
    # may start in response until its handler has returned.
    events.notify(events.ProcessStateExitedEvent(migrate, ProcessStates.RUNNING, expected=True))
    assert started == ["migrate"]
    loop.turn()
    assert started == ["migrate", "web"]


def test_after_close_it_hears_nothing(bridge: tuple[Bridge, QueueLoop, list[str]]) -> None:
    bridge_, loop, _ = bridge
    bridge_.close()
    events.notify(events.ProcessStateRunningEvent(process("web", ProcessStates.RUNNING), 0))
    assert loop.tasks == []


def test_supervisords_start_ends_its_first_wait_by_itself() -> None:
    """Nothing has to talk to supervisord for it to spawn: its first poll returns at once."""
    socket_map: dict[int, Any] = {}
    loop = MainLoop(socket_map, lambda text: None)  # supervisord's poll set, with the pipe
    bridge_ = Bridge(SimpleNamespace(), None, loop, lambda text: None)
    try:
        assert socket_map.keys() == {loop.reader}
        assert select.select([loop.reader], [], [], 0)[0] == []  # idle: the poll would wait
        events.notify(events.SupervisorRunningEvent())
        assert select.select([loop.reader], [], [], 0)[0] == [loop.reader]
    finally:
        bridge_.close()
        loop.close()
