"""Read the machine's process table (/proc) and signal process groups safely.

The one reader of /proc, for the commands and inside supervisord alike
(standard library only).

A pid names a process only while it lives: the kernel hands freed pids out
again (after 32768 processes with the default pid_max). Whatever signals a
pid it found earlier first checks, by its start time, that it is still the
same process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .clock import Clock

PROC = Path("/proc")
PR_SET_PDEATHSIG = 1  # prctl(2): the signal to receive when the parent process dies
KILL_WAIT = 5.0  # seconds a process group gets to exit on SIGTERM before SIGKILL
POLL_INTERVAL = 0.02  # seconds between looks at processes being stopped
# Fields of /proc/<pid>/stat after the parenthesised command name (proc(5)).
STATE_FIELD = 0
PARENT_FIELD = 1
GROUP_FIELD = 2
CPU_TIME_FIELDS = (11, 12, 13, 14)  # user, system, reaped children's user and system: ticks
START_TIME_FIELD = 19  # clock ticks after boot
RESIDENT_FIELD = 21  # pages


def read_pid(pidfile: Path) -> int | None:
    """Return the pid in ``pidfile``, or None if there is no usable one."""
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _stat(pid: int) -> list[str] | None:
    """Return the fields of /proc/<pid>/stat after the command name, or None if it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return []  # exists, but unreadable
    return text.rpartition(")")[2].split()


def is_alive(pid: int) -> bool:
    """Tell whether process ``pid`` exists (zombies count as gone)."""
    fields = _stat(pid)
    if fields is None:
        return False
    return not fields or fields[STATE_FIELD] not in ("Z", "X")


@dataclass(frozen=True)
class ProcessId:
    """One process, for as long as it lives: its pid and when it started."""

    pid: int
    started: int | None

    @classmethod
    def of(cls, pid: int) -> ProcessId:
        fields = _stat(pid)
        return cls(pid, int(fields[START_TIME_FIELD]) if fields else None)

    def is_alive(self) -> bool:
        """Tell whether this very process still runs (not another one given its pid)."""
        return is_alive(self.pid) and ProcessId.of(self.pid).started == self.started


def every_process(name: str) -> Iterator[tuple[int, bytes]]:
    """Yield (pid, content of /proc/<pid>/<name>) for every process still there."""
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / name).read_bytes()
            except OSError:
                continue  # gone meanwhile, or not ours to read


def parents() -> dict[int, int]:
    """Return the parent pid of every process, by pid."""
    return {
        pid: int(stat.rpartition(b")")[2].split()[PARENT_FIELD])
        for pid, stat in every_process("stat")
    }


@dataclass
class Usage:
    """What a process group has used: CPU time and resident memory, summed over its members."""

    # User and system time in clock ticks (os.sysconf("SC_CLK_TCK")), with that
    # of the children each member has reaped: a worker that exits leaves its
    # time to its master, so the sum only grows.
    cpu_ticks: int = 0
    resident: int = 0  # bytes, the sum of the members' (shared pages count in each)


class GroupUsage:
    """Read what process groups use, again and again (``top``), reading as little as it can.

    Each process's group is remembered while it lives: one in a group
    nobody asked for (most of the machine's, on a busy one) is not read
    again unless its group is asked for.
    """

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.group_of: dict[int, int] = {}  # by pid, for every live process read

    def read(self, groups: Collection[int]) -> dict[int, Usage]:
        """Return the usage of the process groups ``groups``, by group id."""
        wanted = set(groups)
        found: dict[int, Usage] = {}
        alive = {int(name) for name in os.listdir(PROC) if name.isdigit()}
        self.group_of = {pid: group for pid, group in self.group_of.items() if pid in alive}
        for pid in alive:
            known = self.group_of.get(pid)
            if known is not None and known not in wanted:
                continue  # another group's: groups rarely change
            fields = _stat(pid)
            if not fields:
                continue
            group = self.group_of[pid] = int(fields[GROUP_FIELD])
            if group not in wanted:
                continue
            usage = found.setdefault(group, Usage())
            usage.cpu_ticks += sum(int(fields[n]) for n in CPU_TIME_FIELDS)
            usage.resident += int(fields[RESIDENT_FIELD]) * self.page
        return found


def with_environment(variable: str, value: str) -> list[ProcessId]:
    """Return the live processes whose environment sets ``variable=value``, by pid.

    Only this user's, unless this is root: then also those of the users
    root's programs switched to (``user=``), which root may signal.
    """
    marker = f"{variable}={value}".encode()
    uid = os.getuid()
    found = []
    for pid, environ in every_process("environ"):
        if pid == os.getpid() or marker not in environ.split(b"\0"):
            continue
        with contextlib.suppress(OSError):
            if uid in (0, (PROC / str(pid)).stat().st_uid) and is_alive(pid):
                found.append(ProcessId.of(pid))
    return sorted(found, key=lambda process: process.pid)


def stop_process_groups(
    processes: Iterable[ProcessId],
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGKILL),
    clock: Clock = time,
) -> None:
    """Send each signal to each process's group, waiting up to KILL_WAIT after each.

    A process that has ended, its pid perhaps reused since, is left alone.
    """
    for sig in signals:
        processes = [process for process in processes if process.is_alive()]
        for process in processes:
            _signal_group(process.pid, sig)
        deadline = clock.monotonic() + KILL_WAIT
        while any(p.is_alive() for p in processes) and clock.monotonic() < deadline:
            clock.sleep(POLL_INTERVAL)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # supervisord starts each program as a process group leader, so the group
    # also holds whatever the program itself started.
    try:
        group = os.getpgid(pid)
        if group == os.getpgrp():
            os.kill(pid, sig)  # never signal our own group
        else:
            os.killpg(group, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def stop_with_parent() -> None:
    """Have the kernel send this process SIGTERM when its parent dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes  # here: the processes that never call this (the console) do not load it

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
