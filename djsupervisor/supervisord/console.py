"""Print supervisord's and its programs' output live, one prefixed line at a time."""

from __future__ import annotations

import codecs
import json
import os
import selectors
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

SOCKET_NAME = "console.sock"  # in the runtime directory, while a foreground command runs
SUPERVISORD = "supervisord"  # the prefix of supervisord's own log lines
# A line still unfinished after this long is printed anyway (a prompt, a
# progress bar), so that nothing waits for a newline that never comes. Long
# enough not to cut a line that an unbuffered print() writes in pieces.
PARTIAL_LINE_WAIT = 1.0  # seconds
READ_SIZE = 65536  # bytes
COLORS = (36, 33, 32, 35, 34, 96, 93, 92, 95, 94)  # ANSI foreground colours for names
STDERR_COLOR = 31  # red
SEPARATORS = {"stdout": "|", "stderr": "!"}  # what tells the two streams apart


def use_color(stream: IO[str]) -> bool:
    """Colour only a terminal, and only if the user has not asked for none (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


class Formatter:
    """Prefix lines with their program's name, aligned, and colour them on request."""

    def __init__(self, names: Iterable[str], color: bool) -> None:
        self.width = max(len(name) for name in [SUPERVISORD, *names])
        self.color = color
        self._colors: dict[str, int] = {}

    def line(self, name: str, channel: str, text: str) -> str:
        label = f"{name:<{self.width}}"
        separator = SEPARATORS.get(channel, "|")
        if self.color:
            color = self._colors.setdefault(name, COLORS[len(self._colors) % len(COLORS)])
            label = _colored(label, color)
            if channel == "stderr":
                separator = _colored(separator, STDERR_COLOR)
        return f"{label} {separator} {text}\n"


def _colored(text: str, color: int) -> str:
    return f"\033[{color}m{text}\033[0m"


class LineBuffer:
    """Cut a stream of chunks into whole lines."""

    def __init__(self) -> None:
        self.pending = ""
        self.since = 0.0  # when the unfinished line began

    def feed(self, data: str) -> list[str]:
        if not self.pending:
            self.since = time.monotonic()
        *lines, self.pending = (self.pending + data).split("\n")
        if lines and self.pending:
            self.since = time.monotonic()
        return lines

    def take_pending(self) -> str | None:
        pending, self.pending = self.pending, ""
        return pending or None


class Console:
    """Relay output to ``out``: supervisord's own (a pipe) and its programs' (a socket).

    The programs' output comes from the ``console`` event listener
    (``djsupervisor.listener``) as JSON lines ``[process, channel, text]``.
    Everything is written as whole lines, so two programs' output never
    shares a line.
    """

    def __init__(self, socket_path: Path, formatter: Formatter, out: IO[str]) -> None:
        self.formatter = formatter
        self.out = out
        self.selector = selectors.DefaultSelector()
        self.buffers: dict[tuple[str, str], LineBuffer] = {}
        # A multi-byte character may be split between two reads of the pipe.
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(socket_path))
        self.server.listen()
        self.socket_path = socket_path
        self.selector.register(self.server, selectors.EVENT_READ, self._accept)

    def relay(self, supervisord_output: IO[bytes]) -> None:
        """Print until supervisord's output ends, i.e. until it has exited."""
        self.selector.register(supervisord_output, selectors.EVENT_READ, self._supervisord)
        self._supervisord_open = True
        while self._supervisord_open:
            waiting = any(buffer.pending for buffer in self.buffers.values())
            for key, _ in self.selector.select(PARTIAL_LINE_WAIT if waiting else None):
                key.data(key.fileobj)
            self._flush_partial(older_than=PARTIAL_LINE_WAIT)
        # The listener may still hold programs' last words: take all that is
        # there (a connection accepted now is read on the next round).
        while ready := self.selector.select(0):
            for key, _ in ready:
                key.data(key.fileobj)
        self._flush_partial(older_than=0)

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            self.selector.unregister(key.fileobj)
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()
        self.socket_path.unlink(missing_ok=True)

    def _accept(self, server: socket.socket) -> None:
        connection, _ = server.accept()
        connection.setblocking(False)
        self.selector.register(connection, selectors.EVENT_READ, self._records(connection))

    def _records(self, connection: socket.socket) -> Callable[[object], None]:
        """Return the reader of one listener connection.

        Its JSON lines are ASCII, so a read never splits a character.
        """
        received = LineBuffer()

        def read(_: object) -> None:
            data = connection.recv(READ_SIZE)
            if not data:
                self.selector.unregister(connection)
                connection.close()
                return
            for record in received.feed(data.decode("utf-8", errors="replace")):
                name, channel, text = json.loads(record)
                self._write(name, channel, text)

        return read

    def _supervisord(self, output: IO[bytes]) -> None:
        data = os.read(output.fileno(), READ_SIZE)
        if not data:
            self.selector.unregister(output)
            self._supervisord_open = False
            return
        self._write(SUPERVISORD, "stdout", self._decoder.decode(data))

    def _write(self, name: str, channel: str, text: str) -> None:
        buffer = self.buffers.setdefault((name, channel), LineBuffer())
        lines = buffer.feed(text)
        if lines:
            self.out.write("".join(self.formatter.line(name, channel, line) for line in lines))
            self.out.flush()

    def _flush_partial(self, older_than: float) -> None:
        now = time.monotonic()
        for (name, channel), buffer in self.buffers.items():
            if buffer.pending and now - buffer.since >= older_than:
                self.out.write(self.formatter.line(name, channel, buffer.take_pending() or ""))
                self.out.flush()
