"""A program stopped as it spawns: the stop is not lost between fork and exec."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

# In a process of its own, as fork hooks cannot be unregistered. It handles
# SIGTERM as supervisord does (noted for its loop); the child takes a while
# after the fork (as under coverage.py), and is stopped meanwhile as
# supervisord stops a program: its group (stopasgroup, killasgroup) or itself.
SPAWN_AND_STOP = textwrap.dedent(
    """
    import os, signal, sys, time
    from djsupervisor.inside.spawning import fork_for_a_program
    noted = []
    signal.signal(signal.SIGTERM, lambda signum, frame: noted.append(signum))
    os.register_at_fork(after_in_child=lambda: time.sleep(0.3))
    fork = fork_for_a_program if sys.argv[1] == "guarded" else os.fork
    pid = fork()
    if pid == 0:
        os.setpgrp()  # as supervisord's child does
        os._exit(0)  # the exec, had the stop been lost
    try:
        os.kill(-pid if sys.argv[2] == "group" else pid, signal.SIGTERM)
    except ProcessLookupError:
        print("no such group", end=" ")
    _, status = os.waitpid(pid, 0)
    os.kill(os.getpid(), signal.SIGTERM)  # supervisord's own handler still notes it
    print(os.waitstatus_to_exitcode(status), noted)
    """
)


def spawn_and_stop(how: str, target: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SPAWN_AND_STOP, how, target],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.parametrize("target", ["group", "process"])
def test_a_stop_sent_between_fork_and_exec_ends_the_child(target: str) -> None:
    assert spawn_and_stop("guarded", target) == f"{-signal.SIGTERM} [{signal.SIGTERM}]"


def test_a_plain_fork_loses_that_stop() -> None:
    """What supervisord does alone: the group does not exist yet; the child only notes it."""
    assert spawn_and_stop("plain", "group") == f"no such group 0 [{signal.SIGTERM}]"
    assert spawn_and_stop("plain", "process") == f"0 [{signal.SIGTERM}]"
