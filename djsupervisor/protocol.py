"""What supervisord and djsupervisor's commands say to each other: states, faults, records.

Shared by the code inside supervisord (``inside/``), the commands that talk
to it (``control/``, ``terminal/``) and the admin page. Standard library
only: every process imports it, and the commands do not import supervisor
(about 25 ms each, bench/control.py), so supervisor's values are written
here, and a test holds them to supervisor's own.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

# djsupervisor's own XML-RPC namespace in supervisord's config, and its factory
# (inside/rpcinterface.py), which supervisord imports by this name.
OWN_RPC_INTERFACE = "rpcinterface:djsupervisor"
OWN_RPC_FACTORY = "djsupervisor.inside.rpcinterface:make_rpcinterface"

# supervisor.xmlrpc.Faults codes.
UNKNOWN_METHOD = 1  # no such method
SHUTDOWN_STATE = 6  # supervisord is shutting down already
BAD_NAME = 10  # no such process

# The outcome of a process nobody started, for those waiting for it (``wait``).
NOT_STARTED = "stopped, and nothing starts it"

# How a restart's outcome begins when the new process failed its trial
# (inside/trials.py) and the running one was left serving.
NOT_RESTARTED = "not restarted"

# supervisor.states.ProcessStates names, by what commands do with them.
STOPPABLE = frozenset({"STARTING", "RUNNING", "BACKOFF"})  # stopProcess applies
UP = STOPPABLE | {"STOPPING"}  # a process that is not down yet
FINISHED = frozenset({"EXITED", "FATAL"})  # crashed or done
STARTABLE = frozenset({"STOPPED", *FINISHED})  # startProcess applies
DOWN = STARTABLE | {"UNKNOWN"}  # supervisorctl's 'not running' for status


# What the readiness column says of a running process with a ready check;
# as a flag for scripts, where any other text (waiting, done, blocked...) or
# none is no flag.
READY, NOT_READY = "ready", "not ready"
READY_FLAGS = {READY: True, NOT_READY: False}


@dataclass(frozen=True)
class ProcessState:
    """What supervisord says of one process."""

    group: str
    name: str
    statename: str  # 'RUNNING', 'STOPPED', ...
    description: str  # 'pid 12, uptime 0:01:02', 'Exited too quickly', ...
    readiness: str = ""  # 'ready', 'waiting for db (ready)', ... where there is something to say
    pid: int = 0  # 0 unless it runs
    started: int = 0  # when it last started (seconds since the epoch), 0 if never
    restarts: int = 0  # starts after its first (docs: scripting); 0 again after reload/update
    # A scheduled program's runs (inside/runs.py ScheduledRuns.as_struct); empty for others.
    schedule: Mapping[str, Any] = field(default_factory=dict)

    @property
    def namespec(self) -> str:
        return namespec(self.group, self.name)

    @property
    def resting(self) -> bool:
        """Tell whether it is down as it should be: a one-shot done, a schedule between runs."""
        if self.readiness == "done":
            return True
        went_well = self.schedule.get("last_result") in ("", "ok")
        return bool(self.schedule) and not self.schedule.get("stopped") and went_well

    @classmethod
    def from_info(cls, info: dict[str, Any]) -> ProcessState:
        """Return the state in ``supervisor.getAllProcessInfo``'s ``info``."""
        return cls(
            info["group"],
            info["name"],
            info["statename"],
            info["description"],
            pid=int(info["pid"]),
            started=int(info["start"]),
        )

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> ProcessState:
        """Return the state ``djsupervisor.getProcessStates`` sent as ``row``."""
        group, name, statename, description, readiness, *rest = row
        numbers, schedules = rest[:3], rest[3:]
        pid, started, restarts = [*(int(number) for number in numbers), 0, 0, 0][:3]
        texts = (str(group), str(name), str(statename), str(description), str(readiness))
        return cls(*texts, pid, started, restarts, dict(schedules[0]) if schedules else {})

    def as_json(self, now: float, programs: Mapping[str, str]) -> dict[str, Any]:
        """Return what ``status --json`` and the admin page say of it (docs: scripting).

        ``now`` is the time (seconds since the epoch) its uptime runs to;
        ``programs`` names each process's program, by the process's name
        (``Graph.program_of_process``): a group's members are programs of their own.
        """
        running = bool(self.pid)  # supervisord's pid is 0 unless it runs
        return {
            "name": self.namespec,
            "program": programs.get(self.name, self.group),
            "process": self.name,
            "state": self.statename,
            "pid": self.pid if running else None,
            "uptime": max(int(now - self.started), 0) if running and self.started else None,
            "ready": READY_FLAGS.get(self.readiness),
            "readiness": self.readiness,
            "restarts": self.restarts,
            "description": self.description,
            "schedule": self._schedule_json(),
        }

    def _schedule_json(self) -> dict[str, Any] | None:
        if not self.schedule:
            return None
        fields = ("schedule", "next", "last_start", "last_result", "runs", "failures", "skipped")
        return {key: self.schedule.get(key) for key in fields} | {
            "stopped": bool(self.schedule.get("stopped"))
        }

    def row(self) -> list[Any]:
        """Return the fields as ``djsupervisor.getProcessStates`` sends them."""
        return [
            self.group,
            self.name,
            self.statename,
            self.description,
            self.readiness,
            self.pid,
            self.started,
            self.restarts,
            dict(self.schedule),
        ]


def namespec(group: str, name: str) -> str:
    """Return supervisord's name for a process: 'group:name', or 'name' alone in its own group."""
    return name if group == name else f"{group}:{name}"


class Supervisor(Protocol):
    """What the start, stop, status and autoreload logic asks of supervisord.

    ``control.client.Client`` is the real one; the tests' fake keeps processes in memory.
    """

    def process_states(self) -> list[ProcessState]: ...

    def group_priorities(self) -> dict[str, int]: ...

    def dependencies(self) -> dict[str, list[str]]: ...

    def startup(self, names: Sequence[str] = ()) -> Startup: ...

    def stop_processes(self, names: Sequence[str]) -> list[str]: ...

    def call_each(self, method: str, calls: Iterable[Sequence[Any]]) -> list[tuple[str, str]]: ...

    def shutdown(self) -> None: ...


@dataclass(frozen=True)
class Startup:
    """How starting processes is going: done or not, and what failed."""

    settled: bool  # every process has started, or failed to
    failures: list[str]  # 'NAME: why', for each that failed or is blocked
    outcomes: dict[str, str]  # 'ok', or why it failed, by process name (settled ones)
    pending: list[str] = field(default_factory=list)  # the names still on their way


def states(supervisor: Supervisor) -> dict[str, str]:
    """Return each process's state name ('RUNNING', ...) by its namespec."""
    return {process.namespec: process.statename for process in supervisor.process_states()}


# A record of output, in the journal file and on the console's socket alike:
# time, kind (one byte), name length (2 bytes), data length (4 bytes), then
# the process name (UTF-8) and the data (raw bytes, as the program wrote them).
RECORD = struct.Struct("!dBHI")
# Record kinds: a program's output; a count of lines skipped; a notice to show;
# supervisord has spawned the processes it starts by itself (to the console only).
STDOUT, STDERR, SKIPPED, NOTICE, STARTED = 0, 1, 2, 3, 4
CHANNELS = {"stdout": STDOUT, "stderr": STDERR}
Record = tuple[float, int, str, bytes]  # time, kind, process name, data


def record(kind: int, name: str, data: bytes, stamp: float | None = None) -> bytes:
    """Return one record of ``data``, at ``stamp`` (now by default)."""
    encoded = name.encode()
    header = RECORD.pack(time.time() if stamp is None else stamp, kind, len(encoded), len(data))
    return header + encoded + data


def record_length(data: bytes | bytearray, offset: int) -> int:
    """Return the length of the record at ``offset``, or 0 if it is not whole yet."""
    if offset + RECORD.size > len(data):
        return 0
    _, _, name_length, data_length = RECORD.unpack_from(data, offset)
    length = RECORD.size + name_length + data_length
    return length if offset + length <= len(data) else 0


def records(data: bytes | bytearray) -> Iterator[Record]:
    """Yield each whole record at the start of ``data`` (one being written ends them)."""
    offset = 0
    while length := record_length(data, offset):
        yield _decoded(data, offset, length)
        offset += length


def whole_length(data: bytes | bytearray) -> int:
    """Return how many bytes at the start of ``data`` are whole records."""
    offset = 0
    while length := record_length(data, offset):
        offset += length
    return offset


def _decoded(data: bytes | bytearray, offset: int, length: int) -> Record:
    stamp, kind, name_length, _ = RECORD.unpack_from(data, offset)
    start = offset + RECORD.size
    name = bytes(data[start : start + name_length]).decode()
    return stamp, kind, name, bytes(data[start + name_length : offset + length])


class RecordReader:
    """Cut a byte stream (a socket's) into records, keeping a partial one for the next read."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Record]:
        self.buffer += data
        found = []
        offset = 0
        while length := record_length(self.buffer, offset):
            found.append(_decoded(self.buffer, offset, length))
            offset += length
        del self.buffer[:offset]
        return found
