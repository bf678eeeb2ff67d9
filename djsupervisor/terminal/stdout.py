"""The command's standard output, and how a closed pipe or a full disk ends the command.

Writing to ``| head`` after it has exited, or to a full disk, raises OSError
wherever the command happens to be writing: in Django's ``self.stdout``, in
supervisorctl, in the foreground's console. :class:`WatchedOutput` stands in
for ``sys.stdout`` and remembers the first failure; the management command
then ends as a pipeline expects (:func:`end_if_failed`): killed by SIGPIPE,
silently, when the reader went away, like ``cat`` or ``grep``; with one line
on stderr and status 1 when the output cannot be written (a full disk).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import select
import signal
from typing import IO, Any, TextIO

CLOSED_PIPE_STATUS = 128 + signal.SIGPIPE  # what a shell reports for a process killed by SIGPIPE


class WatchedOutput(io.TextIOBase):
    """Write to ``stream`` and remember the first OSError that writing or flushing it raised.

    The error is raised as usual: whoever writes stops there. A text stream
    itself: supervisord, forked from the foreground command, writes its log
    to it, and writes bytes to anything else.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.failed: OSError | None = None
        # Set once the command has ended well (end_if_failed): a reader that
        # goes away later, as Python flushes at exit, missed nothing.
        self.ended = False
        # Under ``python -u`` (PYTHONUNBUFFERED) text goes straight to the raw
        # file, and what a write to a pipe left unwritten when the reader went
        # away is dropped without an error: write it all, or fail.
        buffer = getattr(stream, "buffer", None)
        self.raw = buffer if isinstance(buffer, io.RawIOBase) else None

    def write(self, text: str) -> int:
        try:
            if self.raw is None:
                return self.stream.write(text)
            self.stream.flush()
            data = memoryview(text.encode(self.stream.encoding, self.stream.errors or "strict"))
            while data:
                written = self.raw.write(data)
                if written is None:  # a non-blocking descriptor that is full
                    raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
                data = data[written:]
            return len(text)
        except OSError as exc:
            self.failed = self.failed or exc
            raise

    def flush(self) -> None:
        """Flush the stream; fail, as a write would, once the reader of a pipe has gone."""
        try:
            self.stream.flush()
            if not self.ended and _reader_gone(self.stream):
                raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
        except OSError as exc:
            self.failed = self.failed or exc
            raise

    # What io.TextIOBase answers for itself, answered by the stream.
    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.stream, "errors", None)

    def fileno(self) -> int:
        return self.stream.fileno()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        """Leave the stream open: it is sys.stdout's (closed already at exit, at times)."""
        with contextlib.suppress(OSError, ValueError):
            self.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def end_if_failed(output: WatchedOutput, say: IO[str]) -> None:
    """End the process if ``output`` failed: by SIGPIPE for a closed pipe, else saying why."""
    with contextlib.suppress(OSError):
        output.flush()  # here rather than at exit, where Python would print "Exception ignored"
    if output.failed is None:
        output.ended = True
        return
    silence(output.stream)
    if is_closed_pipe(output.failed):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
        raise SystemExit(CLOSED_PIPE_STATUS)  # not reached: the signal ends the process
    with contextlib.suppress(OSError):
        say.write(f"CommandError: cannot write to standard output: {output.failed.strerror}\n")
        say.flush()
    raise SystemExit(1)


def _reader_gone(stream: IO[str]) -> bool:
    """Tell whether ``stream`` is a pipe whose reader has gone, without writing to it."""
    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False  # not a real file (a test's StringIO)
    # Linux says POLLERR for a pipe that nobody reads any more.
    return any(events & select.POLLERR for _, events in poller.poll(0))


def silence(stream: IO[str]) -> None:
    """Point ``stream``'s descriptor at /dev/null: later writes (Python's own at exit) succeed."""
    # Not possible for what is not a real file (a test's StringIO).
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def is_closed_pipe(exc: OSError) -> bool:
    """Tell whether ``exc`` says the reader of the output went away (``| head``)."""
    return exc.errno == errno.EPIPE
