"""Run supervisord in the foreground, printing every program's output, until it exits."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Collection
from functools import partial
from pathlib import Path

from ..config.build import Config
from ..errors import CredentialsError, DjsupervisorError
from .client import Client
from .console import Console, Formatter, use_color
from .forked import Forked, stop_with_parent
from .proctable import is_alive, stop_process_groups
from .stale import project_processes
from .start import prepare_start, supervisord_environment, wait_until_spawned
from .stop import Reporter, stop_supervisord

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # a second one kills everything at once
FORWARDED_SIGNALS = (*STOP_SIGNALS, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR2)


def run_foreground(config: Config, report: Reporter) -> int:
    """Run supervisord in the foreground, printing all output, until it exits.

    Return supervisord's exit status. The first SIGINT or SIGTERM stops the
    programs as :func:`~djsupervisor.supervisord.stop.stop_supervisord` does;
    a second one kills them all at once. Whatever the programs started and
    left running is stopped before returning.
    """
    prepare_start(config, report)
    console = Console(
        config.runtime.console_socket,
        Formatter(config.process_names, use_color(sys.stdout)),
        sys.stdout,
    )
    output, output_end = os.pipe()
    process = Forked(partial(run_supervisord, config.path, output_end))
    os.close(output_end)
    # supervisord spawns its programs only after its first 1 s wait for
    # activity; talking to it makes that wait end at once (bench/startup.py
    # compares with a raw supervisord -n).
    threading.Thread(
        target=_wake,
        args=(config.client, process.pid, config.autostart, report),
        daemon=True,
    ).start()
    stop_requests = 0

    def forward(signum: int, frame: object) -> None:
        nonlocal stop_requests
        if signum in STOP_SIGNALS:
            stop_requests += 1
        if stop_requests > 1:
            report("stopping everything now")
            stop_process_groups(project_processes(config.merged.sections), (signal.SIGKILL,))
            process.kill()
        elif signum in STOP_SIGNALS:
            # Not in the handler: the main thread must go on relaying output.
            threading.Thread(
                target=_stop, args=(config.client, process, report), daemon=True
            ).start()
        else:
            process.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        with os.fdopen(output, "rb", buffering=0) as supervisord_output:
            console.relay(supervisord_output)
        status = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.close()
    leftovers = project_processes(config.merged.sections)
    if leftovers:
        stop_process_groups(leftovers)
        report(
            "stopped processes the programs had started and left running "
            f"(pids {', '.join(str(leftover.pid) for leftover in leftovers)})"
        )
    return 0 if stop_requests > 1 else status


def _wake(client: Client, supervisord: int, autostart: Collection[str], report: Reporter) -> None:
    """Poll the new supervisord until it has spawned its programs; report refused credentials."""
    try:
        wait_until_spawned(client, autostart, partial(is_alive, supervisord))
    except CredentialsError as exc:
        report(str(exc))


def _stop(client: Client, process: Forked, report: Reporter) -> None:
    """Shut the foreground supervisord down; signal it if it cannot be asked."""
    try:
        stop_supervisord(client, report)
    except DjsupervisorError:
        # Not answering yet, or already shutting down: its own way, then.
        process.send_signal(signal.SIGTERM)


def run_supervisord(config_path: Path, output: int) -> None:
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
    os.environ.update(supervisord_environment())
    from supervisor import supervisord

    supervisord.main(["-n", "-c", str(config_path)])
