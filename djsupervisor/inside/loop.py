"""Run work in supervisord's main loop, at once or at a given time, from any thread.

supervisord's main loop sleeps in ``poll()`` for up to a second, and wakes
early only for activity on the descriptors it watches; its signal handlers
(SIGCHLD included) do not wake it, so a program that exits is noticed up to
a second late. A pipe among those descriptors ends every such wait at once:
a byte written to it from another thread, or by the kernel when a signal
arrives (``signal.set_wakeup_fd``), makes the loop turn, handle what it
was waiting for, and run the work queued here. supervisord's state is
touched only by its own thread.

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import os
import signal
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any

Task = Callable[[], object]  # what it returns is ignored


class MainLoop:
    """Queue work for supervisord's main loop, and wake it when there is some."""

    def __init__(self, socket_map: MutableMapping[int, Any], log_error: Callable[[str], None]):
        self.socket_map = socket_map
        self.log_error = log_error
        self.reader, self.writer = os.pipe()
        os.set_blocking(self.reader, False)
        os.set_blocking(self.writer, False)
        self.tasks: collections.deque[Task] = collections.deque()
        self.timers: list[tuple[float, int, Task]] = []
        self.order = itertools.count()  # ties between timers run in the order they were set
        self.condition = threading.Condition()
        self.timer_thread: threading.Thread | None = None
        self.closed = False
        socket_map[self.reader] = _Waker(self)
        # Signals too: supervisord reaps an exited program as soon as it is told.
        signal.set_wakeup_fd(self.writer, warn_on_full_buffer=False)

    def call_soon(self, task: Task) -> None:
        """Run ``task`` in the main loop as soon as it turns (from any thread)."""
        self.tasks.append(task)
        # Under the lock close() takes: once closed, the pipe's numbers may be
        # supervisord's new log or server (a reload), and must not be written.
        with self.condition, contextlib.suppress(BlockingIOError, OSError):
            if not self.closed:
                os.write(self.writer, b"\0")

    def call_later(self, delay: float, task: Task) -> None:
        """Run ``task`` in the main loop ``delay`` seconds from now."""
        with self.condition:
            heapq.heappush(self.timers, (time.monotonic() + delay, next(self.order), task))
            if self.timer_thread is None:
                # Started on first use, not at supervisord's start-up: a thread
                # would not survive its daemonizing fork.
                self.timer_thread = threading.Thread(
                    target=self._time, name="djsupervisor-timers", daemon=True
                )
                self.timer_thread.start()
            self.condition.notify()

    def run_tasks(self) -> None:
        """Run the queued tasks (in the main loop)."""
        while self.tasks:
            task = self.tasks.popleft()
            try:
                task()
            except Exception as exc:
                self.log_error(f"djsupervisor: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        """Stop waking the loop: supervisord reloads or exits."""
        self.socket_map.pop(self.reader, None)
        with contextlib.suppress(ValueError):  # not the main thread: nothing to undo there
            previous = signal.set_wakeup_fd(-1)
            if previous != self.writer:
                signal.set_wakeup_fd(previous)  # someone else's since: leave it
        with self.condition:
            self.closed = True
            self.timers.clear()
            self.condition.notify()
            for fd in (self.reader, self.writer):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _time(self) -> None:
        while True:
            with self.condition:
                while not self.closed and (not self.timers or self.timers[0][0] > time.monotonic()):
                    timeout = self.timers[0][0] - time.monotonic() if self.timers else None
                    self.condition.wait(timeout)
                if self.closed:
                    return
                _, _, task = heapq.heappop(self.timers)
            self.call_soon(task)


class _Waker:
    """The pipe's end in supervisord's poll set: what supervisord's loop asks of a dispatcher."""

    def __init__(self, loop: MainLoop) -> None:
        self.loop = loop

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def handle_read_event(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.loop.reader, 4096):
                pass
        self.loop.run_tasks()

    def handle_write_event(self) -> None:  # pragma: no cover - never writable
        pass

    def handle_error(self) -> None:  # pragma: no cover - run_tasks catches everything
        pass
