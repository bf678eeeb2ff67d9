"""``start``, ``restart`` and ``stop`` through supervisord's orchestrator, said like supervisorctl.

Starts come after what the processes depend on; a restart takes their
dependents along; a stop cancels a restart under way, a crash's included.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from ..clock import Clock
from ..errors import Fault, StopError
from ..protocol import BAD_NAME, NOT_RESTARTED, UP, states
from .connection import Running
from .launch import wait_until_started
from .shutdown import POLL_INTERVAL, STOP_TIMEOUT

FAILED = 1  # exit status when a process did not start
Output = Callable[[str], None]


def start(
    running: Running,
    names: Sequence[str],
    output: Callable[[str], None],
    restart: bool = False,
    clock: Clock = time,
) -> int:
    """Start (or restart) ``names`` and what they depend on; print each one's outcome.

    A restart also restarts what runs depending on ``names``, dependents
    stopping first; supervisord's orchestrator does it all, and this waits
    until each process has started again, or failed to. Return
    supervisorctl's exit status: 0 if every process started.
    """
    client = running.client
    if not names:
        output(f"Error: {'restart' if restart else 'start'} requires a process name")
        return FAILED
    up_before = {name for name, state in states(client).items() if state in UP}
    started = _ask(client.restart_processes if restart else client.start_processes, names, output)
    if started is None:
        return FAILED
    targets = [name for name in started if name not in up_before or restart]
    for name in sorted(set(started) - set(targets)):
        output(f"{name}: ERROR (already started)")
    # A restart's processes come dependents first: they stop in that order
    # and start in the other. Each is said once the orchestrator is done.
    startup = wait_until_started(client, targets, lambda: True, clock)
    for name in targets:
        # A process whose new code failed its trial was not stopped: it serves on.
        if name in up_before and not startup.outcomes.get(name, "").startswith(NOT_RESTARTED):
            output(f"{name}: stopped")
    if restart:
        targets.reverse()
    for name in targets:
        outcome = startup.outcomes.get(name, "still starting")
        output(f"{name}: started" if outcome == "ok" else f"{name}: ERROR ({outcome})")
    failed = len(targets) != sum(startup.outcomes.get(n) == "ok" for n in targets)
    return FAILED if failed or len(targets) != len(started) else 0


def stop(running: Running, names: Sequence[str], output: Output, clock: Clock = time) -> int:
    """Stop ``names``, cancelling any restart of them under way; wait until they are down.

    Return supervisorctl's exit status: 0 unless a name is unknown (stopping
    what does not run is no failure, as for supervisorctl).
    """
    client = running.client
    if not names:
        output("Error: stop requires a process name")
        return FAILED
    before = client.process_states()
    up_before = {state.namespec for state in before if state.statename in UP}
    scheduled = {state.namespec for state in before if state.schedule}
    stopped = _ask(client.stop_processes, names, output)
    if stopped is None:
        return FAILED
    deadline = clock.monotonic() + STOP_TIMEOUT
    while up := [name for name, state in states(client).items() if name in stopped and state in UP]:
        if clock.monotonic() > deadline:
            raise StopError(f"{', '.join(up)} still running after {STOP_TIMEOUT:.0f} s")
        clock.sleep(POLL_INTERVAL)
    for name in stopped:
        if name in scheduled:
            output(f"{name}: stopped; no run until started")  # its schedule is paused
        else:
            output(f"{name}: stopped" if name in up_before else f"{name}: ERROR (not running)")
    return 0


def _ask(
    request: Callable[[list[str]], list[str]], names: Sequence[str], output: Output
) -> list[str] | None:
    """Return the processes ``request`` acted on, or None (said) if a name is unknown."""
    try:
        return request(list(names))
    except Fault as fault:
        if fault.code != BAD_NAME:
            raise  # UNKNOWN_METHOD: a supervisord from before dependencies
        output(f"{fault.text.partition(': ')[2] or fault.text}: ERROR (no such process)")
        return None
