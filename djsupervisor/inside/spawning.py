"""Close the window in which a program stopped as it spawns does not hear the stop.

supervisord spawns a program with ``fork()``, then, in the child, makes it
the leader of a process group of its own and ``exec()``s the command. A stop
sent in between (the program stopped, or Ctrl-C pressed, just as it spawns)
is lost: supervisord signals the process group, which does not exist yet, or
the child, whose copy of supervisord's handler only notes the signal. It then
waits ``stopwaitsecs`` and kills a program that never heard the stop. The
window is short, but whatever runs in the child after the fork widens it
(coverage.py's ``patch = fork`` made it a third of a second).

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any

# The signals supervisord handles (supervisor.options.ServerOptions.setsignals).
SUPERVISORD_SIGNALS = frozenset(
    {
        signal.SIGTERM,
        signal.SIGINT,
        signal.SIGQUIT,
        signal.SIGHUP,
        signal.SIGCHLD,
        signal.SIGUSR2,
    }
)


_taken_over: list[int] = []  # the pid the next spawn takes instead of forking (take_over_next)


def take_over_next(pid: int | None) -> None:
    """Have the next spawn take process ``pid`` (a passed trial, trials.py) instead of forking.

    ``None`` withdraws it. supervisord spawns one process at a time, in its
    main loop, as startProcess asks: the one asked for next is that one.
    """
    _taken_over[:] = [] if pid is None else [pid]


def fork_for_a_program() -> int:
    """Fork as ``os.fork`` does, for a child that takes a stop as the program would.

    The parent puts the child in a process group of its own at once, as the
    child itself will (and as a shell does): a stop sent to the group reaches
    it from the start. supervisord's signals are blocked across the fork; the
    child gives them back their default actions before unblocking them, so a
    stop sent meanwhile ends it.
    """
    if _taken_over:
        return _taken_over.pop()  # supervisord takes it for its child, as spawned
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SUPERVISORD_SIGNALS)
    try:
        pid = os.fork()
        if pid == 0:
            for signum in SUPERVISORD_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
        else:
            # Refused only if the child has run ahead (it exec'd, or exited).
            with contextlib.suppress(OSError):
                os.setpgid(pid, pid)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return pid


def guard_spawns(options: Any) -> None:
    """Have supervisord (its ``ServerOptions``) spawn programs with :func:`fork_for_a_program`."""
    # ServerOptions.fork serves spawning only; daemonizing calls os.fork itself.
    options.fork = fork_for_a_program
