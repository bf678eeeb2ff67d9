"""Keep one CPU for the serving processes while a trial starts (trials.py).

A trial starts a whole new server (for gunicorn, a master and its workers,
each importing Django) while the old one goes on serving. On a small
machine that start takes every CPU, and the old workers' answers wait for
one: with ``bench/restart.py`` on two cores, in runs side by side, the p99
of the requests during restarts was 2.2x to 2.9x the p99 outside them, and
1.7x to 2.35x with the trial kept off one CPU until it passed
(docs/zero-downtime.rst). The trial then gets every CPU back: each thread
of its processes (its process group and its descendants), but one whose
command chose CPUs of its own (``taskset``, ``os.sched_setaffinity``).

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from ..proctable import GROUP_FIELD, PARENT_FIELD, every_process

LOOKS = 5  # at most: each look finds the processes forked before their parent was given back


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


def give_back(trial: int, kept: frozenset[int]) -> None:
    """Give each thread of the ``trial``'s processes that has ``kept`` all of supervisord's CPUs."""
    if kept:
        give_back_to(lambda: threads_of(trial), kept)


def give_back_to(look: Callable[[], list[int]], kept: frozenset[int]) -> None:
    """Give the threads ``look()`` lists all of supervisord's CPUs, if they have ``kept``.

    Looked again until a look changes nothing: a process forked before its
    parent got them back inherited ``kept``, and is only on a later look.
    """
    cpus = os.sched_getaffinity(0)
    for _ in range(LOOKS):
        given = 0
        for thread in look():
            with contextlib.suppress(OSError):  # it has exited meanwhile
                if os.sched_getaffinity(thread) == kept:
                    os.sched_setaffinity(thread, cpus)
                    given += 1
        if not given:
            return


def threads_of(trial: int) -> list[int]:
    """Return the thread ids of ``trial``, its process group and its descendants.

    One read of every process's stat gives both: a process that left the
    group (a daemonizing server) is still a descendant, and one whose parent
    exited (re-parented to init) is still in the group.
    """
    children: dict[int, list[int]] = {}
    family = {trial}
    for pid, stat in every_process("stat"):
        fields = stat.rpartition(b")")[2].split()
        children.setdefault(int(fields[PARENT_FIELD]), []).append(pid)
        if int(fields[GROUP_FIELD]) == trial:
            family.add(pid)
    waiting = list(family)  # the group's members, then whatever each started
    while waiting:
        for child in children.get(waiting.pop(), []):
            if child not in family:
                family.add(child)
                waiting.append(child)
    found: list[int] = []
    for pid in family:
        with contextlib.suppress(OSError):  # it has exited meanwhile
            found.extend(int(thread) for thread in os.listdir(f"/proc/{pid}/task"))
    return found
