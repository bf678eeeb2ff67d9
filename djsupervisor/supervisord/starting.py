"""``start`` and ``restart``: processes after what they depend on, reported like supervisorctl."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ..clock import Clock
from ..errors import Fault
from .client import STOPPABLE, UP, Client, states
from .running import Running
from .start import wait_until_started
from .status import select
from .stop import POLL_INTERVAL

BAD_NAME = 10  # supervisor.xmlrpc.Faults: no such process
FAILED = 1  # exit status when a process did not start


def start(
    running: Running,
    names: Sequence[str],
    output: Callable[[str], None],
    restart: bool = False,
    clock: Clock = time,
) -> int:
    """Start (or restart) ``names`` and what they depend on; print each one's outcome.

    Return supervisorctl's exit status: 0 if every process started.
    """
    client = running.client
    if not names:
        output(f"Error: {'restart' if restart else 'start'} requires a process name")
        return FAILED
    if restart:
        _stop(client, names, output, clock)
    up_before = {name for name, state in states(client).items() if state in UP}
    try:
        started = client.start_processes(names)
    except Fault as fault:
        if fault.code != BAD_NAME:
            raise  # UNKNOWN_METHOD: a supervisord from before dependencies
        output(f"{fault.text.partition(': ')[2] or fault.text}: ERROR (no such process)")
        return FAILED
    targets = [name for name in started if name not in up_before or restart]
    for name in sorted(set(started) - set(targets)):
        output(f"{name}: ERROR (already started)")
    startup = wait_until_started(client, targets, lambda: True, clock)
    for name in targets:
        outcome = startup.outcomes.get(name, "still starting")
        output(f"{name}: started" if outcome == "ok" else f"{name}: ERROR ({outcome})")
    failed = len(targets) != sum(startup.outcomes.get(n) == "ok" for n in targets)
    return FAILED if failed or len(targets) != len(started) else 0


def _stop(
    client: Client, names: Sequence[str], output: Callable[[str], None], clock: Clock
) -> None:
    """Stop ``names`` as ``restart`` does first, and wait until they are down."""
    processes, _ = select(client.process_states(), names)
    stoppable = [p.namespec for p in processes if p.statename in STOPPABLE]
    client.call_each("stopProcess", [(name, False) for name in stoppable])
    wanted = {p.namespec for p in processes}
    while any(state in UP for name, state in states(client).items() if name in wanted):
        clock.sleep(POLL_INTERVAL)
    for process in processes:
        output(f"{process.namespec}: stopped")
