"""Print supervisord's and its programs' output live, and pass typed lines to a debugger.

The programs' output comes from supervisord as records (protocol.py, sent
by inside/output.py); supervisord's own log from its stdout, through a pipe.
Everything is written as whole lines, so two programs' output never shares a line, except a
debugger's prompt, shown at once. A line typed in the terminal goes to the
program whose debugger prompts for it (``breakpoint()`` in a view). A record
without output says that supervisord has spawned its programs (``on_started``).
"""

from __future__ import annotations

import collections
import os
import selectors
import socket
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import IO

from ..protocol import NOTICE, SKIPPED, STARTED, STDOUT, RecordReader
from .formatting import DJSUPERVISOR, SUPERVISORD, Formatter, Stream, quiet
from .stdout import silence

# A line still unfinished after this long is printed anyway (a progress bar),
# so that nothing waits for a newline that never comes. Long enough not to
# cut a line that an unbuffered print() writes in pieces.
PARTIAL_LINE_WAIT = 1.0  # seconds
READ_SIZE = 1 << 20  # bytes
KEPT_LINES = 20  # of supervisord's own output, for the message if it fails to start

OnBroken = Callable[[OSError], None]
OnStarted = Callable[[], None]
SendInput = Callable[[str, str], None]  # (process name, text)


def listen_at(path: Path) -> socket.socket:
    """Return a socket listening at ``path``, where supervisord sends the programs' output."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    return server


class Console:
    """Relay output to ``out``, and typed lines from ``typed`` to a prompting program.

    If ``out`` fails (a closed pipe, a full disk), ``on_broken`` hears it
    once, and the output goes on in the log files only. ``on_started`` hears
    each time supervisord has spawned the processes it starts by itself.
    """

    def __init__(
        self,
        server: socket.socket,
        formatter: Formatter,
        out: IO[str],
        logs_dir: Path,
        on_broken: OnBroken | None = None,
        internal: Collection[str] = (),
        on_started: OnStarted | None = None,
    ) -> None:
        self.formatter = formatter
        self.out = out
        self.logs_dir = logs_dir
        self.on_broken = on_broken
        self.on_started = on_started
        self.internal = internal  # programs whose coming and going is not shown
        self.broken: OSError | None = None
        self.selector = selectors.DefaultSelector()
        self.streams: dict[tuple[str, int], Stream] = {}  # by process name and stream
        self.prompting: str | None = None  # the process whose debugger waits for a line
        self.send_input: SendInput | None = None
        # supervisord's last lines: what it said before failing to start.
        self.supervisord_lines: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
        self.server = server  # listening (listen_at): supervisord connects to send the output
        self.socket_path = Path(server.getsockname())
        self.selector.register(self.server, selectors.EVENT_READ, self._accept)

    def take_input(self, typed: IO[bytes], send: SendInput) -> None:
        """Pass the lines read from ``typed`` (the terminal) to a prompting program."""
        self.send_input = send
        self.selector.register(typed, selectors.EVENT_READ, self._typed)

    def relay(self, supervisord_output: IO[bytes]) -> None:
        """Print until supervisord's output ends, i.e. until it has exited."""
        self.selector.register(supervisord_output, selectors.EVENT_READ, self._supervisord)
        self._supervisord_open = True
        while self._supervisord_open:
            waiting = any(stream.pending for stream in self.streams.values())
            for key, _ in self.selector.select(PARTIAL_LINE_WAIT if waiting else None):
                key.data(key.fileobj)
            self._flush_partial(older_than=PARTIAL_LINE_WAIT)
        # supervisord sent the programs' last words before it exited: take all
        # that is there (a connection accepted now is read on the next round).
        while ready := [key for key, _ in self.selector.select(0) if key.data != self._typed]:
            for key in ready:
                key.data(key.fileobj)
        self._flush_partial(older_than=0)

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            self.selector.unregister(key.fileobj)
            if key.data != self._typed:
                key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()
        self.socket_path.unlink(missing_ok=True)

    def _accept(self, server: socket.socket) -> None:
        connection, _ = server.accept()
        connection.setblocking(False)
        self.selector.register(connection, selectors.EVENT_READ, self._records(connection))

    def _records(self, connection: socket.socket) -> Callable[[object], None]:
        """Return the reader of one connection from supervisord."""
        reader = RecordReader()

        def read(_: object) -> None:
            data = connection.recv(READ_SIZE)
            if not data:
                self.selector.unregister(connection)
                connection.close()
                return
            lines = []
            for _, kind, name, chunk in reader.feed(data):
                if kind == SKIPPED:
                    lines.append(self.formatter.line(DJSUPERVISOR, self._skipped(chunk)))
                elif kind == NOTICE:
                    lines.append(self.formatter.line(DJSUPERVISOR, chunk.decode()))
                elif kind == STARTED:
                    if self.on_started:
                        self.on_started()
                else:
                    lines += self._program(name, kind, chunk)
            self._print("".join(lines))

        return read

    def _skipped(self, count: bytes) -> str:
        return (
            f"skipped {int(count)} lines of output: the terminal could not keep up; "
            f"every line is in the log files in {self.logs_dir}"
        )

    def _program(self, name: str, channel: int, data: bytes) -> list[str]:
        stream = self.streams.setdefault((name, channel), Stream())
        lines = [self.formatter.line(name, line) for line in stream.feed(data)]
        if stream.prompting():  # shown at once: it waits for the user
            self.prompting = name
            lines.append(self.formatter.line(name, stream.take_pending()))
        return lines

    def _supervisord(self, output: IO[bytes]) -> None:
        data = os.read(output.fileno(), READ_SIZE)
        if not data:
            self.selector.unregister(output)
            self._supervisord_open = False
            return
        lines = self.streams.setdefault((SUPERVISORD, STDOUT), Stream()).feed(data)
        self.supervisord_lines.extend(lines)
        shown = (quiet(line, self.internal) for line in lines)
        self._print("".join(self.formatter.line(SUPERVISORD, text) for text in shown if text))

    def _typed(self, typed: IO[bytes]) -> None:
        data = os.read(typed.fileno(), READ_SIZE)
        if not data:
            self.selector.unregister(typed)  # no more input: a closed terminal, /dev/null
            return
        if self.prompting is None or self.send_input is None:
            self._print(self.formatter.line(DJSUPERVISOR, "no program is waiting for input"))
            return
        self.send_input(self.prompting, data.decode(errors="replace"))
        if data.endswith(b"\n"):
            self.prompting = None  # until the debugger prompts again

    def _flush_partial(self, older_than: float) -> None:
        now = time.monotonic()
        for (name, _), stream in self.streams.items():
            if stream.pending and now - stream.since >= older_than:
                self._print(self.formatter.line(name, stream.take_pending()))

    def _print(self, text: str) -> None:
        if not text or self.broken:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except OSError as exc:
            self.broken = exc
            silence(self.out)
            if self.on_broken:
                self.on_broken(exc)
