"""Run supervisord in the foreground, printing every program's output, until it exits."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Collection
from functools import partial
from pathlib import Path
from typing import Any

from ..conf import conf
from ..config.build import Config
from ..errors import CredentialsError, DjsupervisorError, StartError, SupervisordError
from ..proctable import is_alive, stop_process_groups
from ..terminal.console import Console
from ..terminal.formatting import Formatter, use_color
from ..terminal.stdout import is_closed_pipe
from .client import Client
from .daemon import daemon_start_error
from .forked import Forked, stop_with_parent
from .launch import patient, prepare_start, supervisord_environment, wait_until_spawned
from .shutdown import Reporter, stop_supervisord
from .stale import project_processes, stop_leftovers

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # a second one kills at once
FORWARDED_SIGNALS = (signal.SIGQUIT, signal.SIGUSR2)  # for supervisord to act on
OUTPUT_FLUSH_TIMEOUT = 2.0  # seconds supervisord takes to send the programs' last words


class Foreground:
    """One foreground supervisord: started, relayed and stopped by this command."""

    def __init__(self, config: Config, report: Reporter) -> None:
        self.config = config
        self.report = report
        self.stop_requests = 0
        self.spawned = threading.Event()  # supervisord answered and spawned the programs
        self.process: Forked | None = None

    def run(self) -> int:
        """Run supervisord until it exits; return its exit status.

        The first SIGINT, SIGTERM or SIGHUP stops the programs as
        :func:`~djsupervisor.control.shutdown.stop_supervisord` does; a
        second one kills them all at once. Whatever the programs started and
        left running is stopped before returning.
        """
        config = self.config
        lock = prepare_start(config, self.report)
        console = Console(
            config.runtime.console_socket,
            Formatter(
                config.process_names, use_color(sys.stdout), conf.SUPERVISOR_CONSOLE_TIMESTAMPS
            ),
            sys.stdout,
            config.runtime.logs,
            on_broken=self.output_failed,
            internal=config.merged.internal,
        )
        if sys.stdin.isatty():
            console.take_input(sys.stdin.buffer, self.send_input)
        output, output_end = os.pipe()
        self.process = Forked(partial(run_supervisord, config.path, config.project_dir, output_end))
        os.close(output_end)
        # supervisord spawns its programs only after its first 1 s wait for
        # activity; talking to it makes that wait end at once (bench/startup.py
        # compares with a raw supervisord -n).
        threading.Thread(
            target=self.wake,
            args=(patient(config.client), self.process.pid, config.autostart),
            daemon=True,
        ).start()
        handlers = {sig: self.on_stop_signal for sig in STOP_SIGNALS}
        handlers.update({sig: self.forward for sig in FORWARDED_SIGNALS})
        if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
            del handlers[signal.SIGHUP]  # nohup: the user wants it to outlive the terminal
        previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
        try:
            with os.fdopen(output, "rb", buffering=0) as supervisord_output:
                console.relay(supervisord_output)
            status = self.process.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            console.close()
            os.close(lock)
        stop_leftovers(config.running.server_url, self.report)
        if status and not self.spawned.is_set() and not self.stop_requests:
            raise StartError(daemon_start_error("\n".join(console.supervisord_lines)))
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
        assert self.process is not None
        self.stop_requests += 1
        if self.stop_requests > 1:
            self.report("stopping everything now")
            marker = self.config.running.server_url
            stop_process_groups(project_processes(marker), (signal.SIGKILL,))
            self.process.kill()
        elif self.stop_requests == 1:
            # Not in the signal handler: the main thread must go on relaying output.
            threading.Thread(target=self.stop, daemon=True).start()

    def forward(self, signum: int, frame: Any) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self) -> None:
        """Shut supervisord down; signal it if it cannot be asked."""
        assert self.process is not None
        try:
            stop_supervisord(self.config.client, self.report)
        except DjsupervisorError:
            # Not answering yet, or already shutting down: its own way, then.
            self.process.send_signal(signal.SIGTERM)

    def wake(self, client: Client, supervisord: int, autostart: Collection[str]) -> None:
        """Poll the new supervisord until it has spawned the programs; report a refusal."""
        try:
            if wait_until_spawned(client, autostart, partial(is_alive, supervisord)):
                self.spawned.set()
        except CredentialsError as exc:
            self.report(str(exc))

    def send_input(self, name: str, text: str) -> None:
        """Pass ``text`` typed in the terminal to the process ``name`` (a debugger's prompt)."""
        namespecs = {
            spec.rpartition(":")[2]: spec
            for specs in self.config.processes.values()
            for spec in specs
        }
        try:
            self.config.client.call("supervisor.sendProcessStdin", namespecs.get(name, name), text)
        except DjsupervisorError as exc:
            self.report(f"could not pass the input to {name}: {exc}")

    def output_failed(self, exc: OSError) -> None:
        """Stop when nobody reads the output any more (``| head``); else say where it goes."""
        if is_closed_pipe(exc):
            self.request_stop()
        else:
            self.report(
                f"cannot print the programs' output ({exc.strerror}); "
                f"it goes on in the log files in {self.config.runtime.logs}"
            )


def run_foreground(config: Config, report: Reporter) -> int:
    """Run supervisord in the foreground until it exits; return its exit status."""
    return Foreground(config, report).run()


def run_supervisord(config_path: Path, project_dir: Path, output: int) -> None:
    """Run supervisord in the foreground, in this (forked) process, writing to ``output``."""
    # Out of the terminal's process group: a Ctrl-C must reach the command
    # alone, which stops the programs faster than supervisord's own shutdown
    # (and which supervisord would refuse once shutting down).
    os.setpgid(0, 0)
    stop_with_parent()
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(output, 1)
    os.dup2(output, 2)
    # supervisord closes every other inherited descriptor itself.
    os.environ.update(supervisord_environment(project_dir))
    from supervisor import options, supervisord

    from ..inside import output as program_output

    # supervisord's usage errors would end with "For help, use manage.py -h",
    # which is no help here: the command says what failed.
    options.ServerOptions.usage = _usage_error
    program_output.say_failed_log_writes_once()
    try:
        supervisord.main(["-n", "-c", str(config_path)])
    except Exception as exc:
        print(f"Error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    finally:
        program_output.flush(OUTPUT_FLUSH_TIMEOUT)


def _usage_error(self: Any, message: str) -> None:
    self.stderr.write(f"Error: {message}\n")
    self.exit(2)
