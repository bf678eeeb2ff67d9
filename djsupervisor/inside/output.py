"""Carry programs' output from inside supervisord to the foreground command's console.

supervisord notifies its subscribers of every chunk a program writes
(``ProcessLogEvent``) as it reads it. An event listener would get each
chunk through supervisord's event pool, one handshake per chunk and one
chunk per main-loop turn: 200 programs printing 100 lines a second each
overflowed it, and supervisord logged one error per dropped chunk. Here the
chunks are queued in supervisord's own process, as raw bytes, and a thread
sends them to the console socket as records (protocol.py); if the terminal
is slower than the programs, the queue is bounded, and the console is told
once how many lines it did not get (they are in the log files). See
bench/console.py. The console also hears, as a record, when supervisord has
spawned the processes it starts by itself: it needs no XML-RPC client to
know that supervisord started (bench/memory.py).

This module runs inside supervisord (djsupervisor/inside/: no Django).
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import socket
import sys
import threading
from collections.abc import Mapping
from typing import Any

from ..protocol import CHANNELS, NOTICE, SKIPPED, STARTED, record

MAX_QUEUED = 16 * 1024 * 1024  # bytes of output held for a console that lags behind
CLOSE_WAIT = 0.5  # seconds for the sending thread to close its socket once told


class Forwarder:
    """Queue output events in supervisord and send them to the console from a thread."""

    def __init__(self, console_path: str, max_queued: int = MAX_QUEUED) -> None:
        self.console_path = console_path
        self.max_queued = max_queued
        self.queue: collections.deque[bytes] = collections.deque()
        self.queued = 0  # bytes in the queue
        self.skipped = 0  # lines dropped since the console last heard of it
        self.sending = False  # a batch has left the queue but not the socket yet
        self.closed = False
        self.condition = threading.Condition()
        self.thread = threading.Thread(target=self._send, name="djsupervisor-console", daemon=True)
        self.thread.start()

    def __call__(self, event: Any) -> None:
        """Take a ``ProcessLogEvent`` (supervisord calls this for each chunk)."""
        data: bytes = event.data if isinstance(event.data, bytes) else event.data.encode()
        chunk = record(CHANNELS[event.channel], event.process.config.name, data)
        with self.condition:
            if self.closed:
                return
            if self.queued + len(chunk) > self.max_queued:
                # Never block supervisord: what the console cannot take now
                # stays in the log files, and the console hears how much.
                self.skipped += max(data.count(b"\n"), 1)
                return
            self.queue.append(chunk)
            self.queued += len(chunk)
            self.condition.notify_all()

    def notice(self, text: str) -> None:
        """Queue a line of djsupervisor's own for the console."""
        self._put(record(NOTICE, "", text.encode()))

    def started(self) -> None:
        """Queue the news that supervisord has spawned the processes it starts by itself."""
        self._put(record(STARTED, "", b""))

    def _put(self, chunk: bytes) -> None:
        with self.condition:
            if not self.closed:
                self.queue.append(chunk)
                self.condition.notify_all()

    def flush(self, timeout: float) -> None:
        """Wait until everything queued has been sent, then close the connection.

        Its socket is closed on return, unless sending is stuck: supervisord
        may reload next, and reuse the descriptor's number.
        """
        with self.condition:
            self.condition.wait_for(lambda: not (self.queue or self.sending), timeout)
            self.closed = True
            self.condition.notify_all()
        if self.thread is not threading.current_thread():
            self.thread.join(timeout + CLOSE_WAIT)

    def _send(self) -> None:
        console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            console.connect(self.console_path)
        except OSError:
            self._close()  # no console: nobody to show the output to
            return
        with console:
            while True:
                with self.condition:
                    self.condition.wait_for(lambda: self.queue or self.skipped or self.closed)
                    if self.closed:
                        return
                    batch = list(self.queue)
                    if self.skipped:
                        batch.append(record(SKIPPED, "", str(self.skipped).encode()))
                    self.queue.clear()
                    self.queued = self.skipped = 0
                    self.sending = True
                try:
                    console.sendall(b"".join(batch))
                except OSError:
                    self._close()  # the foreground command is gone: output stays in the logs
                    return
                with self.condition:
                    self.sending = False
                    self.condition.notify_all()

    def _close(self) -> None:
        with self.condition:
            self.closed = True
            self.queue.clear()
            self.condition.notify_all()


_current: Forwarder | None = None  # the forwarder of this supervisord, if it has a console


def forward_to(console_path: str | None, timeout: float = 0) -> None:
    """Send programs' output to the console socket at ``console_path`` (None: nowhere).

    What the current forwarder holds is sent first, for up to ``timeout``
    seconds. supervisord calls this each time it reads its config (start and
    reload), and before it reloads.
    """
    from supervisor import events

    global _current
    if _current is not None:
        # A reload has cleared supervisord's subscriptions already; an
        # update has not.
        with contextlib.suppress(ValueError):
            events.unsubscribe(events.ProcessLogEvent, _current)
        _current.flush(timeout)
        _current = None
    if console_path:
        _current = Forwarder(console_path)
        events.subscribe(events.ProcessLogEvent, _current)


def announce_start(process_groups: Mapping[str, Any]) -> None:
    """Tell the console once every process supervisord starts by itself has been spawned.

    ``process_groups`` are supervisord's, made and not spawned yet.
    supervisord calls this with :func:`forward_to`, as it (re)reads its
    config. A process has been spawned once it has left STOPPED, even if it
    has failed since; with none to start, at supervisord's first loop turn.
    """
    from supervisor import events
    from supervisor.states import ProcessStates

    forwarder = _current
    if forwarder is None:
        return
    pending = {
        id(process)
        for group in process_groups.values()
        for process in group.processes.values()
        if process.config.autostart and process.state == ProcessStates.STOPPED
    }
    announced = False

    # Subscribed until supervisord clears its subscribers (a reload): taking
    # one off while supervisord notifies them would skip the next one.
    def heard(event: Any) -> None:
        nonlocal announced
        if isinstance(event, events.ProcessStateEvent):
            pending.discard(id(event.process))
        if not pending and not announced:
            announced = True
            forwarder.started()

    for kind in (events.SupervisorRunningEvent, events.ProcessStateEvent):
        events.subscribe(kind, heard)


def notice(text: str) -> bool:
    """Show ``text`` on the console; return False if there is none to show it on."""
    if _current is None or _current.closed:
        return False
    _current.notice(text)
    return True


def say_failed_log_writes_once() -> None:
    """Have supervisord say once that it cannot write its log files, in one line.

    Its loggers print a traceback for every line they fail to write: on a
    full disk, one for each line any program prints. A log file dropped
    with data still buffered (a stopped program's) fails again as Python
    finalizes it, which Python reports as an ignored exception, with a
    traceback, unless told otherwise.
    """
    from supervisor import loggers

    said: set[int | None] = set()  # the errors said already, by errno

    def say_once(exc: OSError, path: str | None) -> None:
        if exc.errno in said:
            return
        said.add(exc.errno)
        text = (
            f"cannot write the log files in {os.path.dirname(path)}: {exc.strerror}; "
            "the programs go on, and their output shows here but is not logged until the "
            "disk has room"
            if path
            else f"cannot write supervisord's output: {exc.strerror}"
        )
        if not notice(text):
            with contextlib.suppress(OSError):
                print(f"Error: {text}", file=sys.stderr, flush=True)

    handle_error = loggers.Handler.handleError

    def handle_error_once(handler: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            say_once(exc, getattr(handler, "baseFilename", None))
        else:
            handle_error(handler)

    loggers.Handler.handleError = handle_error_once
    unraisable_hook = sys.unraisablehook

    def finalized_once(unraisable: Any) -> None:
        exc = unraisable.exc_value
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            say_once(exc, getattr(unraisable.object, "name", None))
        else:
            unraisable_hook(unraisable)

    sys.unraisablehook = finalized_once


def flush(timeout: float) -> None:
    """Send what is queued before supervisord exits: the programs' last words."""
    if _current is not None:
        _current.flush(timeout)
