"""Keep one CPU for the serving processes while a trial starts (trials.py).

A trial starts a whole new server (for gunicorn, a master and its workers,
each importing Django) while the old one goes on serving. On a small
machine that start takes every CPU, and the old workers' answers wait for
one: with ``bench/restart.py`` on two cores, the p99 of the requests
during restarts was 2.2x to 2.9x the p99 outside them, and 1.7x to 2.35x
with the trial kept off one CPU until it passed (docs/zero-downtime.rst).
The trial then gets every CPU back, but in processes whose command chose
CPUs of its own (``taskset``, ``os.sched_setaffinity``).

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable


def spare_one(pid: int) -> frozenset[int]:
    """Keep process ``pid`` off one of supervisord's CPUs; return the CPUs it keeps.

    Empty when there is only one CPU, or ``pid`` could not be moved.
    """
    cpus = os.sched_getaffinity(0)
    if len(cpus) < 2:
        return frozenset()
    kept = frozenset(cpus - {min(cpus)})
    try:
        os.sched_setaffinity(pid, kept)
    except OSError:  # it has exited already, or a cpuset forbids it
        return frozenset()
    return kept


def give_back(members: Callable[[], list[int]], kept: frozenset[int]) -> None:
    """Give every process ``members()`` lists all of supervisord's CPUs, if it has ``kept``.

    Asked twice: a process forked before its parent got them back, but after
    the first list, inherited ``kept`` and is on the second.
    """
    if not kept:
        return
    cpus = os.sched_getaffinity(0)
    for _ in range(2):
        for pid in members():
            with contextlib.suppress(OSError):  # it has exited meanwhile
                if os.sched_getaffinity(pid) == kept:
                    os.sched_setaffinity(pid, cpus)
