"""``wait [--timeout S] [NAME ...]``: wait until processes are up, for scripts (docs: scripting).

Up is what ``start`` waits for: ready where the program has a check, done
for a one-shot, running otherwise. A process that fails, is blocked by a
failed dependency, or is stopped with nothing to start it, ends the wait
at once. A supervisord that does not answer yet is waited for too.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from ..clock import Clock
from ..errors import ConfigError, Fault, NotRunningError
from ..options import parse_words
from ..protocol import BAD_NAME, Supervisor
from .connection import Running

DEFAULT_TIMEOUT = 60.0  # seconds
REACH_INTERVAL = 0.1  # seconds between looks for a supervisord that is not up yet
# A script waits for seconds, a minute: asking supervisord ten times a
# second is soon enough, and costs it next to nothing over a long wait.
WAIT_INTERVAL = 0.1  # seconds between questions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``wait`` to ``parser`` (also the one its ``--help`` shows)."""
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"Give up after S seconds (default: {DEFAULT_TIMEOUT:g}).",
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="The processes to wait for (default: every one that should run).",
    )


def parse(args: list[str]) -> argparse.Namespace:
    """Return the options of ``wait``, or raise naming what is wrong with them."""
    parser = argparse.ArgumentParser(
        prog="manage.py supervisor wait", add_help=False, allow_abbrev=False
    )
    add_arguments(parser)
    parsed = parse_words(
        parser,
        args,
        "--timeout takes a number of seconds, e.g. 'wait --timeout 30 web'",
        "use --timeout S and process names",
    )
    if not parsed.timeout > 0:  # NaN included
        raise ConfigError(
            f"wait: --timeout must be a positive number of seconds, not {parsed.timeout:g}"
        )
    return parsed


def reach(find: Callable[[], Running], timeout: float, clock: Clock = time) -> Running:
    """Return the supervisord ``find`` finds answering, waiting up to ``timeout`` for one.

    A script may start supervisord in the background and wait at once: it
    may not answer yet.
    """
    deadline = clock.monotonic() + timeout
    while True:
        try:
            running = find()
            running.client.ensure_running()
            return running
        except NotRunningError:
            if clock.monotonic() + REACH_INTERVAL > deadline:
                raise
        clock.sleep(REACH_INTERVAL)


def wait(
    supervisor: Supervisor,
    names: Sequence[str],
    timeout: float,
    clock: Clock = time,
    waited: float = 0.0,
) -> list[str]:
    """Wait until ``names`` (every process of an autostart program if none) are up.

    Give up ``timeout`` seconds after the wait began, ``waited`` seconds ago.
    Return what stands in the way, one line per process: empty when all are up.
    A failure ends the wait at once, whatever the others are doing.
    """
    deadline = clock.monotonic() + timeout - waited
    try:
        while True:
            startup = supervisor.startup(names)
            if startup.settled or startup.failures or clock.monotonic() >= deadline:
                break
            clock.sleep(WAIT_INTERVAL)
    except Fault as fault:
        if fault.code != BAD_NAME:
            raise
        raise ConfigError(f"wait: no such process: {fault.text.partition(': ')[2]}") from None
    if startup.failures:
        return list(startup.failures)
    shown = {state.namespec: state for state in supervisor.process_states()}
    problems = []
    for name in startup.pending:
        state = shown.get(name)
        now = f"{state.statename} {state.readiness}".strip() if state else "gone"
        problems.append(f"{name}: not up after {timeout:g} s ({now})")
    return problems


def run_wait(find: Callable[[], Running], args: list[str], say: Callable[[str], None]) -> int:
    """Run ``wait ARGS`` on the supervisord ``find`` finds; say what is not up; return a status."""
    parsed = parse(args)
    began = time.monotonic()
    running = reach(find, parsed.timeout)
    # supervisord reads the names, a program's included, as start's.
    problems = wait(running.client, parsed.names, parsed.timeout, waited=time.monotonic() - began)
    for problem in problems:
        say(problem)
    return 1 if problems else 0
