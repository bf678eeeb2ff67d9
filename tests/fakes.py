"""An in-memory supervisord and a clock that only moves when slept on.

:class:`FakeSupervisord` has the interface of
:class:`djsupervisor.client.Supervisor`; its processes change state
as :class:`FakeClock` time passes, as supervisord's do as real time passes, so
the start, stop and autoreload logic runs through its waits in microseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from djsupervisor.errors import Fault, NotRunningError
from djsupervisor.protocol import SHUTDOWN_STATE, STARTABLE, STOPPABLE, ProcessState, Startup


@dataclass
class FakeProcess:
    group: str
    name: str
    state: str = "RUNNING"
    priority: int = 999
    stop_takes: float = 0.1  # seconds from stopProcess to STOPPED
    start_takes: float = 0.1  # seconds from startProcess to RUNNING
    depends_on: list[str] = field(default_factory=list)  # namespecs
    changes_at: float | None = None  # when the state changes next
    next_state: str | None = None

    @property
    def namespec(self) -> str:
        return self.name if self.group == self.name else f"{self.group}:{self.name}"


@dataclass
class Call:
    """A call supervisord received: when, which method, with which first parameter."""

    time: float
    method: str
    name: str = ""


@dataclass
class FakeSupervisord:
    """supervisord's process control, in memory."""

    processes: list[FakeProcess] = field(default_factory=list)
    now: float = 0.0
    answering_from: float = 0.0  # before this time, every call fails as if nothing listened
    calls: list[Call] = field(default_factory=list)
    shutting_down: bool = False

    def add(self, name: str, group: str | None = None, **options: Any) -> FakeProcess:
        process = FakeProcess(group or name, name, **options)
        self.processes.append(process)
        return process

    def advance(self, now: float) -> None:
        """Let the time pass until ``now``: finish the state changes that are due."""
        self.now = now
        for process in self.processes:
            if process.changes_at is not None and process.changes_at <= now:
                assert process.next_state is not None
                process.state, process.next_state, process.changes_at = (
                    process.next_state,
                    None,
                    None,
                )

    def _answer(self, method: str, name: str = "") -> None:
        if self.now < self.answering_from:
            raise NotRunningError("nothing answers yet")
        self.calls.append(Call(self.now, method, name))

    def process(self, namespec: str) -> FakeProcess:
        return next(p for p in self.processes if p.namespec == namespec)

    def state_of(self, namespec: str) -> str:
        return self.process(namespec).state

    # The Supervisor protocol.

    def process_states(self) -> list[ProcessState]:
        self._answer("getProcessStates")
        return [ProcessState(p.group, p.name, p.state, "") for p in self.processes]

    def group_priorities(self) -> dict[str, int]:
        self._answer("getGroupPriorities")
        return {p.group: p.priority for p in self.processes}

    def dependencies(self) -> dict[str, list[str]]:
        self._answer("getDependencies")
        return {p.namespec: list(p.depends_on) for p in self.processes}

    def startup(self, names: Sequence[str] = ()) -> Startup:
        self._answer("getStartup")
        return Startup(True, [], {})

    def call_each(self, method: str, calls: Iterable[Sequence[Any]]) -> list[tuple[str, str]]:
        refused = []
        for params in calls:
            name = str(params[0])
            self._answer(method, name)
            process = self.process(name)
            if method == "stopProcess" and process.state in STOPPABLE:
                process.state, process.next_state = "STOPPING", "STOPPED"
                process.changes_at = self.now + process.stop_takes
            elif method == "startProcess" and process.state in STARTABLE:
                process.state, process.next_state = "STARTING", "RUNNING"
                process.changes_at = self.now + process.start_takes
            elif method == "signalProcess" and process.state == "RUNNING":
                pass
            else:
                refused.append((name, f"BAD_STATE: {name}"))
        return refused

    def stop_processes(self, names: Sequence[str]) -> list[str]:
        """Stop ``names`` as the orchestrator does: it asks supervisord for those that run."""
        running = [name for name in names if self.process(name).state in STOPPABLE]
        self.call_each("stopProcess", [(name, False) for name in running])
        return list(names)

    def shutdown(self) -> None:
        self._answer("shutdown")
        if self.shutting_down:
            raise Fault(SHUTDOWN_STATE, "SHUTDOWN_STATE")
        self.shutting_down = True


@dataclass
class FakeClock:
    """A clock whose time moves only when slept on, and moves supervisord along with it."""

    supervisord: FakeSupervisord
    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float, /) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.supervisord.advance(self.now)


def ignore(message: str) -> None:
    """Report nowhere."""
