"""Histories for the orchestrator's tests: a fake supervisord whose part each test plays.

No supervisord here: :class:`Recorder` is the orchestrator's Control (it
records each start, stop and signal, and runs timers when the test moves
the clock), and each test plays supervisord's part by announcing, through
:class:`History`, the state changes a real one would announce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from djsupervisor.graph import Check, Graph
from djsupervisor.inside.events import StateChange
from djsupervisor.inside.orchestrator import Orchestrator

WALL_START = 1_800_000_000.0  # seconds since the epoch: the wall clock when a history begins


@dataclass
class FakeProbe:
    on_pass: Callable[[], None]
    last_failure: str = ""
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class FakeTrial:
    on_end: Callable[[str | None], None]
    cancelled: bool = False
    boot_time: float = 0.4
    adopted: bool = False
    serves_held: bool = True

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class Recorder:
    """The orchestrator's Control and clock: what it asked for, in order."""

    now: float = 0.0
    calls: list[str] = field(default_factory=list)
    timers: list[tuple[float, Callable[[], None]]] = field(default_factory=list)
    probes: dict[str, FakeProbe] = field(default_factory=dict)
    refuse: dict[str, str] = field(default_factory=dict)  # namespec -> why a start fails
    trials: dict[str, FakeTrial] = field(default_factory=dict)
    wall_offset: float = 0.0  # seconds the wall clock was stepped by (NTP, a restored VM)

    def start(self, namespec: str) -> str | None:
        self.calls.append(f"start {namespec}")
        return self.refuse.get(namespec)

    def stop(self, namespec: str) -> None:
        self.calls.append(f"stop {namespec}")

    def signal(self, namespec: str, signal: str) -> None:
        self.calls.append(f"signal {namespec} {signal}")

    def probe(self, namespec: str, check: Check, on_pass: Callable[[], None]) -> FakeProbe:
        self.probes[namespec] = FakeProbe(on_pass)
        return self.probes[namespec]

    def call_later(self, delay: float, task: Callable[[], None]) -> None:
        self.timers.append((self.now + delay, task))

    def note(self, namespec: str, text: str) -> None:
        self.calls.append(f"note {namespec}: {text}")

    def trial(self, namespec: str, on_end: Callable[[str | None], None]) -> FakeTrial:
        self.calls.append(f"try {namespec}")
        self.trials[namespec] = FakeTrial(on_end)
        return self.trials[namespec]

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL_START + self.now + self.wall_offset

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Let time pass, running the timers that fall due, in order."""
        end = self.now + seconds
        while due := sorted((t for t in self.timers if t[0] <= end), key=lambda t: t[0]):
            when, task = due[0]
            self.timers.remove(due[0])
            self.now = max(self.now, when)
            task()
        self.now = end

    def taken(self) -> list[str]:
        """Return the calls made since the last look, and forget them."""
        calls, self.calls = self.calls, []
        return calls


class History:
    """An orchestrator and the supervisord whose part the test plays."""

    def __init__(self, graph: Graph) -> None:
        self.control = Recorder()
        self.said: list[str] = []
        self.orchestrator = Orchestrator(
            graph, self.control, self.said.append, self.control, self.control.wall
        )

    def announce(self, namespec: str, *states: str, expected: bool = True, status: int = 0) -> None:
        for state in states:
            self.orchestrator.on_state(StateChange(namespec, state, expected, status))

    def runs(self, namespec: str) -> None:
        self.announce(namespec, "STARTING", "RUNNING")

    def stops(self, namespec: str) -> None:
        self.announce(namespec, "STOPPING", "STOPPED")

    def finishes(self, namespec: str, status: int = 0) -> None:
        self.announce(namespec, "STARTING", "RUNNING")
        self.announce(namespec, "EXITED", expected=status == 0, status=status)

    def ready(self, namespec: str) -> None:
        self.control.probes[namespec].on_pass()

    def readiness(self, namespec: str) -> str:
        return self.orchestrator.table.readiness(namespec)

    def launch_chain(self) -> None:
        """Start the chain as supervisord does at launch, up to the worker running."""
        self.orchestrator.supervisord_running()
        assert self.control.taken() == ["start migrate"]
        self.finishes("migrate")
        assert self.control.taken() == ["start web"]
        self.runs("web")
        self.ready("web")
        assert self.control.taken() == ["start worker"]
        self.runs("worker")
