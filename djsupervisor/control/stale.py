"""Recover from a supervisord that was killed: its pidfile and its orphaned programs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..proctable import PROC, ProcessId, is_alive, read_pid, stop_process_groups, with_environment

# supervisord puts its own URL, with 'localhost' for an unspecified host, into
# every program's environment; what the programs start inherits it.
SERVER_URL_VARIABLE = "SUPERVISOR_SERVER_URL"


def clear_stale_state(pidfile: Path, server_url: str | None) -> list[ProcessId]:
    """Remove a dead supervisord's pidfile and stop the programs it left behind.

    Return the processes stopped. Call only once sure that no supervisord of this
    project answers on its control socket.
    """
    if not pidfile.exists():
        # supervisord removes its pidfile as it exits, once its programs are
        # stopped: none were left behind, so skip the walk through every
        # process of the machine.
        return []
    pid = read_pid(pidfile)
    if pid is not None and is_alive(pid):
        return []  # a supervisord still starting up (or the pid was reused): leave it
    pidfile.unlink(missing_ok=True)
    orphans = project_processes(server_url)
    stop_process_groups(orphans)
    return orphans


def project_processes(server_url: str | None) -> list[ProcessId]:
    """Return the programs, and what they started, of the supervisord at ``server_url``.

    ``server_url`` is what supervisord puts into its programs' environment
    (see :attr:`~djsupervisor.control.connection.Running.server_url`).
    """
    if not server_url or not PROC.is_dir():
        return []
    return with_environment(SERVER_URL_VARIABLE, server_url)


def stop_leftovers(server_url: str | None, report: Callable[[str], None]) -> None:
    """Stop what a stopped supervisord's programs started and left running (setsid escapees)."""
    leftovers = project_processes(server_url)
    if leftovers:
        stop_process_groups(leftovers)
        report(
            "stopped processes the programs had started and left running "
            f"(pids {', '.join(str(leftover.pid) for leftover in leftovers)})"
        )
