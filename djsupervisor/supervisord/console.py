"""Print supervisord's and its programs' output live, one prefixed line at a time."""

from __future__ import annotations

import codecs
import collections
import contextlib
import errno
import io
import os
import selectors
import socket
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from .output import NOTICE, SKIPPED, STDERR, FrameReader

SUPERVISORD = "supervisord"  # the prefix of supervisord's own log lines
DJSUPERVISOR = "djsupervisor"  # the prefix of the console's own notices
# A line still unfinished after this long is printed anyway (a prompt, a
# progress bar), so that nothing waits for a newline that never comes. Long
# enough not to cut a line that an unbuffered print() writes in pieces.
PARTIAL_LINE_WAIT = 1.0  # seconds
READ_SIZE = 1 << 20  # bytes
KEPT_LINES = 20  # of supervisord's own output, for the message if it fails to start
COLORS = (36, 33, 32, 35, 34, 96, 93, 92, 95, 94)  # ANSI foreground colours for names
STDERR_COLOR = 31  # red
SEPARATORS = {"stdout": "|", "stderr": "!"}  # what tells the two streams apart

OnBroken = Callable[[OSError], None]


def use_color(stream: IO[str]) -> bool:
    """Colour only a terminal, and only if the user has not asked for none (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


class Formatter:
    """Prefix lines with their program's name, aligned, and colour them on request."""

    def __init__(self, names: Iterable[str], color: bool) -> None:
        self.width = max(len(name) for name in [SUPERVISORD, DJSUPERVISOR, *names])
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


class Stream:
    """Cut one stream of bytes into whole lines of text.

    A multi-byte character split between two chunks is decoded whole, and
    bytes that are not UTF-8 become replacement characters in their line.
    """

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""
        self.since = 0.0  # when the unfinished line began

    def feed(self, data: bytes) -> list[str]:
        if not self.pending:
            self.since = time.monotonic()
        *lines, self.pending = (self.pending + self.decoder.decode(data)).split("\n")
        if lines and self.pending:
            self.since = time.monotonic()
        return lines

    def take_pending(self) -> str:
        pending, self.pending = self.pending, ""
        return pending


class Console:
    """Relay output to ``out``: supervisord's own (a pipe) and its programs' (a socket).

    The programs' output comes from supervisord in frames (see output.py).
    Everything is written as whole lines, so two programs' output never
    shares a line. If ``out`` fails (a closed pipe, a full disk), ``on_broken``
    hears it once, and the output goes on in the log files only.
    """

    def __init__(
        self,
        socket_path: Path,
        formatter: Formatter,
        out: IO[str],
        logs_dir: Path,
        on_broken: OnBroken | None = None,
    ) -> None:
        self.formatter = formatter
        self.out = out
        self.logs_dir = logs_dir
        self.on_broken = on_broken
        self.broken: OSError | None = None
        self.selector = selectors.DefaultSelector()
        self.streams: dict[tuple[str, str], Stream] = {}
        # supervisord's last lines: what it said before failing to start.
        self.supervisord_lines: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
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
            waiting = any(stream.pending for stream in self.streams.values())
            for key, _ in self.selector.select(PARTIAL_LINE_WAIT if waiting else None):
                key.data(key.fileobj)
            self._flush_partial(older_than=PARTIAL_LINE_WAIT)
        # supervisord sent the programs' last words before it exited: take all
        # that is there (a connection accepted now is read on the next round).
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
        self.selector.register(connection, selectors.EVENT_READ, self._frames(connection))

    def _frames(self, connection: socket.socket) -> Callable[[object], None]:
        """Return the reader of one connection from supervisord."""
        reader = FrameReader()

        def read(_: object) -> None:
            data = connection.recv(READ_SIZE)
            if not data:
                self.selector.unregister(connection)
                connection.close()
                return
            lines = []
            for kind, name, chunk in reader.feed(data):
                if kind == SKIPPED:
                    lines.append(self.formatter.line(DJSUPERVISOR, "stdout", self._skipped(chunk)))
                elif kind == NOTICE:
                    lines.append(self.formatter.line(DJSUPERVISOR, "stdout", chunk.decode()))
                else:
                    lines += self._lines(name, "stderr" if kind == STDERR else "stdout", chunk)
            self._print("".join(lines))

        return read

    def _skipped(self, count: bytes) -> str:
        return (
            f"skipped {int(count)} lines of output: the terminal could not keep up; "
            f"every line is in the log files in {self.logs_dir}"
        )

    def _supervisord(self, output: IO[bytes]) -> None:
        data = os.read(output.fileno(), READ_SIZE)
        if not data:
            self.selector.unregister(output)
            self._supervisord_open = False
            return
        stream = self.streams.setdefault((SUPERVISORD, "stdout"), Stream())
        lines = stream.feed(data)
        self.supervisord_lines.extend(lines)
        self._print("".join(self.formatter.line(SUPERVISORD, "stdout", line) for line in lines))

    def _lines(self, name: str, channel: str, data: bytes) -> list[str]:
        stream = self.streams.setdefault((name, channel), Stream())
        return [self.formatter.line(name, channel, line) for line in stream.feed(data)]

    def _flush_partial(self, older_than: float) -> None:
        now = time.monotonic()
        for (name, channel), stream in self.streams.items():
            if stream.pending and now - stream.since >= older_than:
                self._print(self.formatter.line(name, channel, stream.take_pending()))

    def _print(self, text: str) -> None:
        if not text or self.broken:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except OSError as exc:
            self.broken = exc
            _silence(self.out)
            if self.on_broken:
                self.on_broken(exc)


def _silence(stream: IO[str]) -> None:
    """Point ``stream``'s descriptor at /dev/null: later writes (Python's own at exit) succeed."""
    # Not possible for what is not a real file (a test's StringIO).
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def is_closed_pipe(exc: OSError) -> bool:
    """Tell whether ``exc`` says the reader of the output went away (``| head``)."""
    return exc.errno == errno.EPIPE
