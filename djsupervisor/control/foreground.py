"""Run supervisord in the foreground, printing every program's output, until it exits.

Two steps, two processes. The command, with Django, builds the config and
starts a fresh supervisord (``python -m djsupervisor.inside``); then it
hands over to its console (``launch.start_foreground``): it execs ``python -m
djsupervisor.control``, which keeps the pid, the terminal, supervisord as
its child and the descriptors, and carries no Django (bench/memory.py). Nor
does it carry an XML-RPC client until it needs one (to stop supervisord, or
pass typed input to a program): supervisord tells it over the console's
socket that it has spawned its programs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CredentialsError, DjsupervisorError, StartError, SupervisordError
from ..proctable import stop_process_groups
from ..terminal.console import Console
from ..terminal.formatting import Formatter, use_color
from ..terminal.stdout import is_closed_pipe
from .child import Child
from .shutdown import Reporter, stop_supervisord
from .stale import project_processes, stop_leftovers

if TYPE_CHECKING:
    from ..client import Client

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # a second one kills at once
FORWARDED_SIGNALS = (signal.SIGQUIT, signal.SIGUSR2)  # for supervisord to act on


@dataclass(frozen=True)
class Handover:
    """What the console needs of the config and of the start, passed across the exec."""

    supervisord: int  # its pid: a child of this process, before the exec and after
    output: int  # the read end of supervisord's standard output and error
    console: int  # the listening socket supervisord sends the programs' output to
    lock: int  # held from the start until supervisord has exited
    logs: str
    process_names: list[str]
    internal: list[str]
    processes: dict[str, list[str]]  # namespecs by program
    server_url: str | None  # in the environment of every program supervisord starts
    url: str  # supervisord's, for the client, with its credentials
    username: str | None
    password: str | None
    # The user gave the credentials: supervisord may refuse them, which is
    # said at once. djsupervisor's own are those of the server it configured.
    check_credentials: bool
    timestamps: bool

    @property
    def client(self) -> Client:
        # Imported on first use: most consoles never need it (bench/memory.py).
        from ..client import Client

        return Client(self.url, self.username, self.password)

    @classmethod
    def take(cls, descriptor: int) -> Handover:
        """Read the handover from the file open as ``descriptor``, and close it."""
        with os.fdopen(descriptor, "rb") as handover:
            return cls(**json.loads(handover.read()))

    def give(self, directory: Path) -> int:
        """Write this into a file without a name in ``directory``; return its open descriptor.

        The file holds the control password: it has no name from the start
        (unlinked at once), and only the process that inherits it reads it.
        """
        with tempfile.TemporaryFile(dir=directory) as handover:
            handover.write(json.dumps(asdict(self)).encode())
            handover.flush()
            descriptor = os.dup(handover.fileno())  # outlives the file object, across the exec
        os.lseek(descriptor, 0, os.SEEK_SET)  # the offset is shared with the closed one's
        return descriptor


class Foreground:
    """One foreground supervisord: relayed and stopped by this (exec'd) command."""

    def __init__(self, handover: Handover, report: Reporter) -> None:
        self.handover = handover
        self.report = report
        self.stop_requests = 0
        self.spawned = False  # supervisord has spawned its programs (Console's on_started)
        self.process = Child(handover.supervisord)

    def run(self) -> int:
        """Relay supervisord's output until it exits; return its exit status.

        The first SIGINT, SIGTERM or SIGHUP stops the programs as
        :func:`~djsupervisor.control.shutdown.stop_supervisord` does; a
        second one kills them all at once. Whatever the programs started and
        left running is stopped before returning.
        """
        handover = self.handover
        console = Console(
            socket.socket(fileno=handover.console),
            Formatter(handover.process_names, use_color(sys.stdout), handover.timestamps),
            sys.stdout,
            Path(handover.logs),
            on_broken=self.output_failed,
            internal=handover.internal,
            on_started=self.started,
        )
        if sys.stdin.isatty():
            console.take_input(sys.stdin.buffer, self.send_input)
        handlers = {sig: self.on_stop_signal for sig in STOP_SIGNALS}
        handlers.update({sig: self.forward for sig in FORWARDED_SIGNALS})
        if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
            del handlers[signal.SIGHUP]  # nohup: the user wants it to outlive the terminal
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        # Blocked by the command across the exec (start_foreground): one that
        # came meanwhile is handled now, not taken by the default action.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [*STOP_SIGNALS, *FORWARDED_SIGNALS])
        try:
            with os.fdopen(handover.output, "rb", buffering=0) as supervisord_output:
                console.relay(supervisord_output)
            status = self.process.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            console.close()
            os.close(handover.lock)
        stop_leftovers(handover.server_url, self.report)
        if status and not self.spawned and not self.stop_requests:
            raise StartError.of_output("\n".join(console.supervisord_lines))
        if self.stop_requests > 1:
            return 0  # killed by this command, as asked
        if status < 0:  # killed by someone else: a negative status would exit as 256 - signal
            raise SupervisordError(
                f"supervisord died: killed by signal {-status} ({signal.Signals(-status).name})"
            )
        return status

    def on_stop_signal(self, signum: int, frame: Any) -> None:
        self.request_stop()

    def request_stop(self) -> None:
        self.stop_requests += 1
        if self.stop_requests > 1:
            self.report("stopping everything now")
            marker = self.handover.server_url
            stop_process_groups(project_processes(marker), (signal.SIGKILL,))
            self.process.kill()
        elif self.stop_requests == 1:
            # Not in the signal handler: the main thread must go on relaying output.
            threading.Thread(target=self.stop, daemon=True).start()

    def forward(self, signum: int, frame: Any) -> None:
        self.process.send_signal(signum)

    def stop(self) -> None:
        """Shut supervisord down; signal it if it cannot be asked."""
        try:
            stop_supervisord(self.handover.client, self.report)
        except DjsupervisorError:
            # Not answering yet, or already shutting down: its own way, then.
            self.process.send_signal(signal.SIGTERM)

    def started(self) -> None:
        """Hear that supervisord has spawned its programs (once per start or reload)."""
        if self.spawned:
            return
        self.spawned = True
        if self.handover.check_credentials:
            threading.Thread(target=self.check_credentials, daemon=True).start()

    def check_credentials(self) -> None:
        """Say at once if supervisord refuses the user's credentials, not when stopping it."""
        try:
            self.handover.client.call("supervisor.getState")
        except CredentialsError as exc:
            self.report(str(exc))
        except DjsupervisorError:
            pass  # exited meanwhile: its own output says why

    def send_input(self, name: str, text: str) -> None:
        """Pass ``text`` typed in the terminal to the process ``name`` (a debugger's prompt)."""
        namespecs = {
            spec.rpartition(":")[2]: spec
            for specs in self.handover.processes.values()
            for spec in specs
        }
        try:
            self.handover.client.call(
                "supervisor.sendProcessStdin", namespecs.get(name, name), text
            )
        except DjsupervisorError as exc:
            self.report(f"could not pass the input to {name}: {exc}")

    def output_failed(self, exc: OSError) -> None:
        """Stop when nobody reads the output any more (``| head``); else say where it goes."""
        if is_closed_pipe(exc):
            self.request_stop()
        else:
            self.report(
                f"cannot print the programs' output ({exc.strerror}); "
                f"it goes on in the log files in {self.handover.logs}"
            )
