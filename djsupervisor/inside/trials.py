"""Try a program's new code before restarting it, and let the trial serve meanwhile.

A program with ``listen=`` and an http ready check is restarted only once a
trial of its command has answered that check: the trial runs as the
program would (its command, directory and environment) with two listening
sockets (``LISTEN_FDS=2``, ``LISTEN_PID``): descriptor 3, a socket of its
own on a free port of the same host, of which the check is asked, and
descriptor 4, the program's own held socket. A trial that exits, or does
not answer within the program's ``ready_timeout``, is stopped and leaves
the running process alone; the orchestrator says why. A trial that passes
goes on running while the program restarts: a server that takes every
socket it is given (gunicorn) answers the program's clients while the old
process stops and the new one starts, so a restart keeps its answer times;
one that takes descriptor 3 alone (``--fd 3``) answers only its check, and
the clients wait on the held socket. The orchestrator ends it once the
program is ready again (or failed).

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
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
SPARE_FDS = 10  # sockets are moved to fd 3 and 4 from numbers at least this high
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
        served: int,
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
            self.pid, reader = _spawn(argv, directory, environment, [sock.fileno(), served])
        finally:
            sock.close()  # the trial has its own copy
        self.started = time.monotonic()
        self.boot_time = 0.0
        self.reaped = Reaped()
        adopt(self.pid, self.reaped)  # here, in the loop: before supervisord can reap it
        self.reader = reader
        self.deadline = time.monotonic() + timeout
        threading.Thread(target=self._read, name="djsupervisor-trial-output", daemon=True).start()
        threading.Thread(target=self._try, name="djsupervisor-trial", daemon=True).start()

    def cancel(self) -> None:
        """Stop the trial without telling: its restart is done, or was given up."""
        self.cancelled.set()

    def _try(self) -> None:
        why = self._wait_for_check()
        if why is None:
            self.boot_time = time.monotonic() - self.started
            self.loop.call_soon(lambda: self.on_end(None))
            self.cancelled.wait()  # serving, until the program is ready again
            _stop(self.pid, self.reaped)
            return
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
    argv: list[str], directory: str, environment: dict[str, str], sockets: list[int]
) -> tuple[int, int]:
    """Start ``argv`` with ``sockets`` from fd 3 on; return its pid and its output's read end."""
    reader, writer = os.pipe()
    # Through numbers above those they take: a socket may have the number another takes.
    spare = [fcntl.fcntl(descriptor, fcntl.F_DUPFD_CLOEXEC, SPARE_FDS) for descriptor in sockets]
    try:
        pid = os.posix_spawn(
            "/bin/sh",
            ["sh", "-c", LAUNCHER, "sh", directory, *argv],
            {**environment, "LISTEN_FDS": str(len(sockets))},
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, writer, 1),
                (os.POSIX_SPAWN_DUP2, writer, 2),
                *(
                    (os.POSIX_SPAWN_DUP2, descriptor, LISTEN_FD + number)
                    for number, descriptor in enumerate(spare)
                ),
            ],
            setpgroup=0,  # a group of its own, stopped whole
        )
    finally:
        for descriptor in (writer, *spare):
            os.close(descriptor)
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
