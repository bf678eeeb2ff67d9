"""Stop every program at once, priority by priority, then shut supervisord down.

Left to itself, a shutting-down supervisord stops one process group per turn
of its main loop, which sleeps up to a second: 10 programs take 4 to 9 s. Asked
over XML-RPC, it stops any number of processes in one call, and a client
polling it keeps its loop awake, so stop signals, exits and stopwaitsecs'
SIGKILLs are handled within milliseconds. The order stays supervisord's:
groups with a higher ``priority`` stop first, and each priority only once the
previous one is down; each process gets its own ``stopsignal``.
"""

from __future__ import annotations

import time
import xmlrpc.client
from collections import defaultdict
from collections.abc import Callable

from .control import SHUTDOWN_STATE, Server
from .errors import ConfigError

POLL_INTERVAL = 0.02  # seconds between looks at stopping processes; wakes supervisord too
STOP_TIMEOUT = 300.0  # seconds; generous, as each program may use its stopwaitsecs
# Process states (supervisor.states) by what stopping does with them.
STOPPABLE = frozenset({"STARTING", "RUNNING", "BACKOFF"})
UP = STOPPABLE | {"STOPPING"}
REPORT_INTERVAL = 2.0  # seconds between reports of the processes still being waited for
DEFAULT_PRIORITY = 999  # supervisord's default; for a group left out of a reread config


Reporter = Callable[[str], None]


def stop_in_priority_order(server: Server, report: Reporter) -> None:
    """Stop all processes, those of equal priority concurrently, and wait until they are down.

    ``report`` hears which processes are still being waited for, every
    REPORT_INTERVAL.
    """
    deadline = time.monotonic() + STOP_TIMEOUT
    for names in priority_levels(server):
        stop_and_wait(server, names, deadline, report)


def priority_levels(server: Server) -> list[list[str]]:
    """Return the names of supervisord's processes grouped by priority, highest first.

    supervisord orders a shutdown by group priority; the processes of one
    group have always been stopped together.
    """
    priorities = server.group_priorities()
    levels: dict[int, list[str]] = defaultdict(list)
    for process in server.process_states():
        levels[priorities.get(process.group, DEFAULT_PRIORITY)].append(process.namespec)
    return [levels[priority] for priority in sorted(levels, reverse=True)]


def stop_and_wait(server: Server, names: list[str], deadline: float, report: Reporter) -> None:
    """Stop ``names`` in one call and return once none is up.

    A process that starts again meanwhile (a restart someone else asked for)
    is stopped again.
    """
    next_report = time.monotonic() + REPORT_INTERVAL
    while True:
        states = server.states()
        stoppable = [name for name in names if states.get(name) in STOPPABLE]
        # Refusals are races with processes exiting on their own: nothing to do.
        server.call_each("stopProcess", [(name, False) for name in stoppable])
        up = [name for name in names if states.get(name) in UP]
        if not up:
            return
        now = time.monotonic()
        if now > deadline:
            raise ConfigError(f"{', '.join(up)} still running after {STOP_TIMEOUT:.0f} s")
        if now > next_report:
            report(f"waiting for {', '.join(up)} to stop")
            next_report = now + REPORT_INTERVAL
        time.sleep(POLL_INTERVAL)


def shut_down(server: Server, report: Reporter) -> None:
    """Stop the processes as :func:`stop_in_priority_order` does, then supervisord itself.

    If supervisord is shutting down already, its own shutdown goes on.
    """
    try:
        stop_in_priority_order(server, report)
        server.proxy().supervisor.shutdown()
    except xmlrpc.client.Fault as fault:
        if fault.faultCode != SHUTDOWN_STATE:
            raise ConfigError(f"supervisord refused to stop: {fault.faultString}") from None
