"""Child: a child's status, seen by running() in one thread and wait() in another."""

from __future__ import annotations

import os
import signal
import threading
import time

from djsupervisor.control.child import Child

from .support import wait_for


def forked(seconds: float = 0, status: int = 0) -> Child:
    """Return a child that sleeps ``seconds`` and exits with ``status``."""
    pid = os.fork()
    if pid == 0:
        time.sleep(seconds)
        os._exit(status)
    return Child(pid)


def test_running_sees_the_exit_and_leaves_the_status_to_wait() -> None:
    child = forked(status=3)
    assert wait_for(lambda: not child.running(), "the child's exit")
    assert not child.running()
    assert child.wait() == 3
    assert child.wait() == 3


def test_a_signalling_thread_never_takes_the_waiters_status() -> None:
    # The foreground command waits for supervisord in its main thread while
    # other threads check it before signalling it: none may take its status.
    statuses: list[int] = []
    failures: list[BaseException] = []
    for _ in range(100):
        child = forked(0.002)
        waited = threading.Event()

        def check_until_waited(child: Child = child, waited: threading.Event = waited) -> None:
            try:
                while not waited.is_set():
                    child.running()
                assert not child.running()
            except BaseException as exc:
                failures.append(exc)

        checkers = [threading.Thread(target=check_until_waited) for _ in range(2)]
        for checker in checkers:
            checker.start()
        try:
            statuses.append(child.wait())
        finally:
            waited.set()
        for checker in checkers:
            checker.join()
    assert not failures
    assert set(statuses) == {0}


def test_a_killed_child() -> None:
    child = forked(30)
    assert child.running()
    child.kill()
    assert child.wait() == -signal.SIGKILL
    child.kill()  # already gone: nothing is signalled
    assert not child.running()
