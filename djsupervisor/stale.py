"""Recover from a supervisord that was killed: its pidfile and its orphaned programs."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from .control import served_url
from .ini import Sections

KILL_WAIT = 5.0  # seconds an orphan gets to exit on SIGTERM before SIGKILL
POLL_INTERVAL = 0.02  # seconds
PROC = Path("/proc")


def read_pid(pidfile: Path) -> int | None:
    """Return the pid in ``pidfile``, or None if there is no usable one."""
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def is_alive(pid: int) -> bool:
    """Tell whether process ``pid`` exists (zombies count as gone)."""
    try:
        status = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    # The state letter follows the parenthesised command name.
    return status.rpartition(")")[2].split()[0] != "Z"


def find_orphans(server_url: str) -> Iterator[int]:
    """Yield pids of this user's processes started by a supervisord at ``server_url``."""
    marker = f"SUPERVISOR_SERVER_URL={server_url}".encode()
    uid = os.getuid()
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if marker in environ and is_alive(int(entry.name)):
            yield int(entry.name)


def clear_stale_state(pidfile: Path, sections: Sections) -> list[int]:
    """Remove a dead supervisord's pidfile and stop the programs it left behind.

    Return the pids stopped. Call only once sure that no supervisord of this
    project answers on its control socket.
    """
    if not pidfile.exists():
        # supervisord removes its pidfile as it exits, once its programs are
        # stopped: none were left behind, so skip the walk through every
        # process of the machine (a few ms per hundred processes).
        return []
    pid = read_pid(pidfile)
    if pid is not None and is_alive(pid):
        return []  # a supervisord still starting up (or the pid was reused): leave it
    pidfile.unlink(missing_ok=True)
    orphans = project_processes(sections)
    stop_process_groups(orphans)
    return orphans


def project_processes(sections: Sections) -> list[int]:
    """Return the pids of the programs, and of what they started, of this project's supervisord."""
    # supervisord puts its own URL, with 'localhost' for an unspecified host,
    # into every program's environment as SUPERVISOR_SERVER_URL; children inherit it.
    server_url = served_url(sections, unspecified_host="localhost")
    if not server_url or not PROC.is_dir():
        return []
    return sorted(find_orphans(server_url))


def stop_process_groups(
    pids: list[int], signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGKILL)
) -> None:
    """Send each signal to each pid's process group, waiting up to KILL_WAIT after each."""
    for sig in signals:
        for pid in pids:
            _signal_group(pid, sig)
        deadline = time.monotonic() + KILL_WAIT
        while any(is_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
        pids = [pid for pid in pids if is_alive(pid)]
        if not pids:
            return


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
