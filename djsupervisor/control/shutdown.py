"""Stop every program at once, priority by priority, then shut supervisord down.

Left to itself, a shutting-down supervisord stops one process group per turn
of its main loop, which sleeps up to a second: 10 programs take 4 to 9 s
(bench/startstop.py). Asked over XML-RPC, it stops any number of processes in
one call, and a client polling it keeps its loop awake, so stop signals,
exits and stopwaitsecs' SIGKILLs are handled within milliseconds. The order
stays supervisord's: groups with a higher ``priority`` stop first, and each
priority only once the previous one is down; each process gets its own
``stopsignal``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..clock import Clock
from ..errors import Fault, StopError
from ..graph import dependents_first
from ..proctable import is_alive, read_pid
from ..protocol import BAD_NAME, SHUTDOWN_STATE, STOPPABLE, UNKNOWN_METHOD, UP, Supervisor, states
from .stale import stop_leftovers

if TYPE_CHECKING:
    from .connection import Running

POLL_INTERVAL = 0.02  # seconds between looks at stopping processes; wakes supervisord too
STOP_TIMEOUT = 300.0  # seconds; generous, as each program may use its stopwaitsecs
EXIT_TIMEOUT = 30.0  # seconds for supervisord to exit once its programs are stopped
REPORT_INTERVAL = 2.0  # seconds between reports of the processes still being waited for
DEFAULT_PRIORITY = 999  # supervisord's default; for a group left out of a reread config

Reporter = Callable[[str], None]


def stop_programs(supervisor: Supervisor, report: Reporter, clock: Clock = time) -> None:
    """Stop all processes, those of equal priority concurrently, and wait until they are down.

    ``report`` hears which processes are still being waited for, every
    REPORT_INTERVAL.
    """
    deadline = clock.monotonic() + STOP_TIMEOUT
    for names in priority_levels(supervisor):
        stop_and_wait(supervisor, names, deadline, report, clock)


def priority_levels(supervisor: Supervisor) -> list[list[str]]:
    """Return the names of supervisord's processes in the waves they stop in.

    A process stops after every process that depends on it; among those free
    to stop, the ones of the highest group priority go together, as in
    supervisord's own shutdown (the processes of one group have always been
    stopped together).
    """
    priorities = supervisor.group_priorities()
    dependencies = supervisor.dependencies()
    priority = {
        process.namespec: priorities.get(process.group, DEFAULT_PRIORITY)
        for process in supervisor.process_states()
    }
    dependents: dict[str, set[str]] = defaultdict(set)
    for name, needs in dependencies.items():
        for other in needs:
            dependents[other].add(name)

    def highest_priority(free: list[str]) -> list[str]:
        top = max(priority[name] for name in free)
        return [name for name in free if priority[name] == top]

    return dependents_first(priority, dependents, highest_priority)


def stop_and_wait(
    supervisor: Supervisor, names: list[str], deadline: float, report: Reporter, clock: Clock
) -> None:
    """Stop ``names`` in one call and return once none is up.

    All of them are told to stop, those down too: one waiting to start again
    (a restart under way) must not start once this wave is over. A process
    that starts again meanwhile all the same is stopped again.
    """
    next_report = clock.monotonic() + REPORT_INTERVAL
    _stop(supervisor, names)
    while True:
        current = states(supervisor)
        stoppable = [name for name in names if current.get(name) in STOPPABLE]
        if stoppable:
            _stop(supervisor, stoppable)
        up = [name for name in names if current.get(name) in UP]
        if not up:
            return
        now = clock.monotonic()
        if now > deadline:
            raise StopError(f"{', '.join(up)} still running after {STOP_TIMEOUT:.0f} s")
        if now > next_report:
            report(f"waiting for {', '.join(up)} to stop")
            next_report = now + REPORT_INTERVAL
        clock.sleep(POLL_INTERVAL)


def _stop(supervisor: Supervisor, names: list[str]) -> None:
    """Stop ``names`` through the orchestrator, which forgets any restart of them under way.

    A restart (a code change's, a crash's) would otherwise start again what
    is being stopped.
    """
    try:
        supervisor.stop_processes(names)
    except Fault as fault:
        if fault.code not in (UNKNOWN_METHOD, BAD_NAME):
            raise
        # A supervisord from before the orchestrator, or a group removed
        # meanwhile: one by one. Refusals are races with processes exiting
        # on their own: nothing to do.
        supervisor.call_each("stopProcess", [(name, False) for name in names])


def stop_supervisord(supervisor: Supervisor, report: Reporter, clock: Clock = time) -> None:
    """Stop the processes as :func:`stop_programs` does, then ask supervisord to exit.

    If supervisord is shutting down already, its own shutdown goes on.
    """
    try:
        stop_programs(supervisor, report, clock)
        supervisor.shutdown()
    except Fault as fault:
        if fault.code != SHUTDOWN_STATE:
            raise StopError(f"supervisord refused to stop: {fault.text}") from None


def shutdown(running: Running, report: Reporter, clock: Clock = time) -> None:
    """Stop the programs and supervisord (the ``shutdown`` command); return once it has exited."""
    pid = read_pid(running.pidfile)
    stop_supervisord(running.client, report, clock)
    deadline = clock.monotonic() + EXIT_TIMEOUT
    while pid is not None and is_alive(pid):
        if clock.monotonic() > deadline:
            raise StopError(
                f"supervisord (pid {pid}) stopped its programs but is still running after "
                f"{EXIT_TIMEOUT:.0f} s; see {running.logfile}"
            )
        clock.sleep(POLL_INTERVAL)
    stop_leftovers(running.server_url, report)
