"""Try a program's new code before restarting it: a trial process on a socket of its own.

A program with ``listen=`` and an http ready check is restarted only once a
trial of its command has answered that check: the trial runs as the
program would (its command, directory and environment), with a listening
socket of its own as descriptor 3 (``LISTEN_FDS``, ``LISTEN_PID``) on a
free port of the same host, and the check is asked of that port. A trial
that exits, or does not answer within the program's ``ready_timeout``,
leaves the running process alone and says why. Either way it is stopped
before the result is told: the restart that follows takes the program's
own socket, whose waiting connections the new process then answers.

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from ..graph import Check
from ..proctable import GROUP_FIELD, STATE_FIELD, every_process
from . import probes
from .loop import MainLoop
from .sockets import LISTEN_FD, open_listening

TRIAL_INTERVAL = 0.05  # seconds between attempts of the trial's check
STOP_WAIT = 5.0  # seconds a trial has to exit after SIGTERM, before SIGKILL
KEPT_LINES = 5  # of the trial's output, said when it fails
# Runs the command with the socket's pid, in the program's directory: the
# shell's pid is the command's once it execs.
LAUNCHER = 'cd "$1" && shift && export LISTEN_PID=$$ && exec "$@"'

Ended = Callable[[str | None], None]  # None: the check passed; else why not
# Hands supervisord a pid to reap as its own (options.pidhistory), with what
# to call with the exit status: it reaps every child, and logs an unknown one.
Adopt = Callable[[int, "Reaped"], None]


class Reaped:
    """What supervisord calls when it reaps a trial: ``finish(pid, status)``, as a process's."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.exited = threading.Event()

    def finish(self, pid: int, status: int) -> None:
        self.status = os.waitstatus_to_exitcode(status)
        self.exited.set()


def trial_address(listen: str) -> str:
    """Return where a trial listens: a free port of the host ``listen`` names."""
    host, _, _ = listen.rpartition(":")
    return f"{host}:0"


def trial_check(check: Check, port: int) -> Check:
    """Return ``check`` asked of ``port`` instead of the program's own."""
    url = urlsplit(check.target)
    netloc = f"{url.hostname if ':' not in (url.hostname or '') else f'[{url.hostname}]'}:{port}"
    return Check(check.kind, urlunsplit(url._replace(netloc=netloc)), check.host, port)


class Trial:
    """One trial of a program's command, told to ``on_end`` from supervisord's loop."""

    def __init__(
        self,
        argv: list[str],
        directory: str,
        environment: dict[str, str],
        listen: str,
        check: Check,
        timeout: float,
        loop: MainLoop,
        adopt: Adopt,
        on_end: Ended,
    ) -> None:
        self.loop = loop
        self.on_end = on_end
        self.cancelled = threading.Event()
        self.output: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
        sock = open_listening(trial_address(listen))
        try:
            self.check = trial_check(check, sock.getsockname()[1])
            self.pid, reader = _spawn(argv, directory, environment, sock.fileno())
        finally:
            sock.close()  # the trial has its own copy
        self.reaped = Reaped()
        adopt(self.pid, self.reaped)  # here, in the loop: before supervisord can reap it
        self.reader = reader
        self.deadline = time.monotonic() + timeout
        threading.Thread(target=self._read, name="djsupervisor-trial-output", daemon=True).start()
        threading.Thread(target=self._try, name="djsupervisor-trial", daemon=True).start()

    def cancel(self) -> None:
        """Stop the trial without telling (the restart was cancelled)."""
        self.cancelled.set()

    def _try(self) -> None:
        why = self._wait_for_check()
        _stop(self.pid, self.reaped)
        if not self.cancelled.is_set():
            self.loop.call_soon(lambda: self.on_end(why))

    def _wait_for_check(self) -> str | None:
        owners = lambda: probes.process_group(self.pid)  # noqa: E731
        last = "no answer yet"
        while not self.cancelled.is_set():
            if self.reaped.exited.is_set():
                return f"it exited with status {self.reaped.status}{self._last_line()}"
            try:
                probes.http(self.check.target, self.check.host, self.check.port, owners)
            except probes.NotReady as exc:
                last = str(exc)
            else:
                return None
            if time.monotonic() > self.deadline:
                return f"not ready in time ({last}){self._last_line()}"
            self.cancelled.wait(TRIAL_INTERVAL)
        return "cancelled"

    def _last_line(self) -> str:
        return f": {self.output[-1]}" if self.output else ""

    def _read(self) -> None:
        with os.fdopen(self.reader, "rb") as output:
            for line in output:
                text = line.decode(errors="replace").strip()
                if text:
                    self.output.append(text)


def _spawn(
    argv: list[str], directory: str, environment: dict[str, str], descriptor: int
) -> tuple[int, int]:
    """Start ``argv`` with ``descriptor`` as fd 3; return its pid and the read end of its output."""
    reader, writer = os.pipe()
    try:
        pid = os.posix_spawn(
            "/bin/sh",
            ["sh", "-c", LAUNCHER, "sh", directory, *argv],
            {**environment, "LISTEN_FDS": "1"},
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, writer, 1),
                (os.POSIX_SPAWN_DUP2, writer, 2),
                (os.POSIX_SPAWN_DUP2, descriptor, LISTEN_FD),
            ],
            setpgroup=0,  # a group of its own, stopped whole
        )
    finally:
        os.close(writer)
    return pid, reader


def _stop(pid: int, reaped: Reaped) -> None:
    """Stop the trial's process group, what it started included: SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + STOP_WAIT
        while time.monotonic() < deadline:
            if reaped.exited.is_set() and not _running_members(pid):
                return
            time.sleep(TRIAL_INTERVAL)


def _running_members(group: int) -> list[int]:
    """Return the processes of ``group`` that have not exited (zombies have)."""
    return [
        pid
        for pid, stat in every_process("stat")
        if int((fields := stat.rpartition(b")")[2].split())[GROUP_FIELD]) == group
        and fields[STATE_FIELD] != b"Z"
    ]
