"""Start supervisord in the background and return once it has spawned the programs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ..clock import Clock
from ..errors import CredentialsError, StartError
from ..proctable import is_alive, read_pid
from .connection import running_of
from .launch import (
    SETTLE_TIMEOUT,
    START_TIMEOUT,
    patient,
    prepare_start,
    wait_until_spawned,
    wait_until_started,
)
from .shutdown import Reporter
from .starting import supervisord_environment

if TYPE_CHECKING:
    from ..config.build import Config

PIDFILE_POLL_INTERVAL = 0.02  # seconds
LOG_TAIL_LINES = 5  # lines of supervisord's log quoted when it fails to start


def supervisord_command(config: Config) -> list[str]:
    """Return the command line that runs supervisord (as a daemon) on ``config``."""
    return [sys.executable, "-m", "supervisor.supervisord", "-c", str(config.path)]


def start_daemon(config: Config, report: Reporter, clock: Clock = time) -> int:
    """Start supervisord in the background; return its pid once it has spawned the programs."""
    lock = prepare_start(config, report)
    try:
        return _launch(config, clock)
    finally:
        os.close(lock)


def _launch(config: Config, clock: Clock) -> int:
    launcher = subprocess.run(
        supervisord_command(config),
        env=supervisord_environment(config.project_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if launcher.returncode != 0:
        raise StartError.of_output(launcher.stdout)
    # supervisord writes its pidfile once daemonized, before it answers.
    pid = wait_for_pidfile(running_of(config).pidfile, clock)
    if pid is not None:
        alive = partial(is_alive, pid)
        try:
            spawned = wait_until_spawned(patient(config.client), config.autostart, alive, clock)
        except CredentialsError:
            # It runs, but neither this command nor the next may control it.
            os.kill(pid, signal.SIGTERM)
            raise
        if spawned:
            startup = wait_until_started(patient(config.client), (), alive, clock)
            if startup.failures or not startup.settled:
                problems = startup.failures or [f"still starting after {SETTLE_TIMEOUT:.0f} s"]
                raise StartError(
                    f"supervisord is running (pid {pid}), but not every program started: "
                    f"{'; '.join(problems)}; see 'manage.py supervisor status'"
                )
            return pid
    logfile = running_of(config).logfile
    raise StartError(
        f"supervisord did not come up within {START_TIMEOUT:.0f} s; its log "
        f"({logfile}) ends with: {_log_tail(logfile)}"
    )


def wait_for_pidfile(pidfile: Path, clock: Clock) -> int | None:
    deadline = clock.monotonic() + START_TIMEOUT
    while (pid := read_pid(pidfile)) is None and clock.monotonic() < deadline:
        clock.sleep(PIDFILE_POLL_INTERVAL)
    return pid


def _log_tail(logfile: Path) -> str:
    try:
        lines = logfile.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-LOG_TAIL_LINES:]) or "(empty log)"
