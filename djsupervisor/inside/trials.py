"""Try a program's new code before restarting it; the trial that passes becomes the program.

A program with ``listen=`` and an http ready check is restarted only once a
trial of its command has answered that check: the trial runs as the
program would (its command, directory and environment) with two listening
sockets (``LISTEN_FDS=2``, ``LISTEN_PID``): descriptor 3, a socket of its
own on a free port of the host the check asks, where the check is asked,
and, for gunicorn, descriptor 4, the program's own held socket. A trial that exits, or
does not answer within the program's ``ready_timeout``, is stopped and
leaves the running process alone; the orchestrator says why. A trial that
passes, gunicorn, runs on while the old process stops, answering the
clients on the held socket, and supervisord's spawn of the program then
takes it instead of forking (spawning.py): the new code starts once. Any
other server (uvicorn and daphne take one socket, ``--fd 3``) is stopped
once it has passed, and the program restarts on its held socket, where
the clients wait meanwhile. Until it passes, a trial is kept off one CPU,
so that the serving processes have one to answer on (cpus.py).

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import select
import signal
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from ..graph import Check
from ..proctable import is_alive
from . import cpus, probes
from .loop import MainLoop
from .sockets import LISTEN_FD, open_listening

TRIAL_INTERVAL = 0.05  # seconds between attempts of the trial's check
STOP_WAIT = 5.0  # seconds a trial has to exit after SIGTERM, before SIGKILL
KEPT_LINES = 5  # of the trial's output, said when it fails
SPARE_FDS = 10  # sockets are moved to fd 3 and 4 from numbers at least this high
READ_WAIT = 0.1  # seconds the output reader waits at a time, to see a take-over
# Runs the command with the socket's pid, in the program's directory: the
# shell's pid is the command's once it execs.
LAUNCHER = 'cd "$1" && shift && export LISTEN_PID=$$ && exec "$@"'

Ended = Callable[[str | None], None]  # None: the check passed; else why not
# Hands supervisord a pid to reap as its own (options.pidhistory), with what
# to call with the exit status: it reaps every child, and logs an unknown one.
Register = Callable[[int, "Reaped"], None]


class Reaped:
    """What supervisord calls when it reaps a trial: ``finish(pid, status)``, as a process's."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.exited = threading.Event()

    def finish(self, pid: int, status: int) -> None:
        self.status = os.waitstatus_to_exitcode(status)
        self.exited.set()


def serves_every_socket(argv: list[str]) -> bool:
    """Tell whether the command is gunicorn, which listens on every socket in LISTEN_FDS.

    uvicorn and daphne take one (``--fd``): given the held socket as well,
    they would answer their check and never the program's clients.
    """
    return any(os.path.basename(word) == "gunicorn" for word in argv[:3])


def trial_address(check: Check) -> str:
    """Return where a trial listens for its check: a free port of the host the check asks."""
    return f"[{check.host}]:0" if ":" in check.host else f"{check.host}:0"


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
        served: int,
        check: Check,
        timeout: float,
        loop: MainLoop,
        register: Register,
        on_end: Ended,
    ) -> None:
        self.loop = loop
        self.on_end = on_end
        self.serves_held = serves_every_socket(argv)  # then it can take over
        self.cancelled = threading.Event()
        self.output: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
        sock = open_listening(trial_address(check))
        try:
            self.check = trial_check(check, sock.getsockname()[1])
            sockets = [sock.fileno(), served] if self.serves_held else [sock.fileno()]
            self.pid, reader = _spawn(argv, directory, environment, sockets)
        finally:
            sock.close()  # the trial has its own copy
        self.cpus = cpus.spare_one(self.pid)  # until it passes (cpus.py)
        self.started = time.monotonic()
        self.boot_time = 0.0
        self.reaped = Reaped()
        register(self.pid, self.reaped)  # here, in the loop: before supervisord can reap it
        self.reader = reader
        self.adopted = False  # it became the program's process (take_over)
        self.output_closed = False
        self.reading = threading.Lock()  # held while its output is read
        self.deadline = time.monotonic() + timeout
        threading.Thread(target=self._read, name="djsupervisor-trial-output", daemon=True).start()
        threading.Thread(target=self._try, name="djsupervisor-trial", daemon=True).start()

    def cancel(self) -> None:
        """Stop the trial without telling: its restart is done, or was given up."""
        self.cancelled.set()

    def can_take_over(self) -> bool:
        """Tell whether it passed and runs: it can become the program's process."""
        ended = self.reaped.exited.is_set() or self.output_closed
        return self.serves_held and self.boot_time > 0 and not ended and not self.adopted

    def take_over(self, output: int) -> None:
        """Become the program's process: supervisord took its pid for its spawn.

        Its output goes on into ``output``, the descriptor supervisord reads
        the new process's output from. Called in the loop, right after the spawn.
        """
        with self.reading:
            self.adopted = True
            os.dup2(self.reader, output)
            os.close(self.reader)
        self.cancelled.set()

    def _try(self) -> None:
        why = self._wait_for_check()
        if why is None:
            self.boot_time = time.monotonic() - self.started
            cpus.give_back(self.pid, self.cpus)
            self.loop.call_soon(lambda: self.on_end(None))
            self.cancelled.wait()  # serving, until it takes over or is not needed
            if not self.adopted:
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
        """Keep its last lines, until it exits or takes over (then supervisord reads on)."""
        pending = b""
        while True:
            try:
                ready, _, _ = select.select([self.reader], [], [], READ_WAIT)
            except (OSError, ValueError):  # taken over meanwhile: the descriptor is gone
                ready = []
            with self.reading:
                if self.adopted:
                    return
                if not ready:
                    continue
                data = os.read(self.reader, 65536)
                if not data:
                    self.output_closed = True
                    os.close(self.reader)
                    return
            *lines, pending = (pending + data).split(b"\n")
            self.output.extend(t for line in lines if (t := line.decode(errors="replace").strip()))


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
    return [pid for pid in probes.process_group(group) if is_alive(pid)]
