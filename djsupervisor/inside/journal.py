"""One time-ordered journal of every program's output, for ``manage.py supervisor logs``.

supervisord keeps a log file per program and stream, with no time on its
lines: nothing can interleave them afterwards. Inside supervisord, each chunk
of output is also appended here, as it is read, with the time: a frame of
``!dBHI`` (time, stream, name length, data length), the process name and the
raw bytes. The file is bounded: past MAX_BYTES it becomes ``journal.1``.

The writer runs inside supervisord (standard library only); the reader is
the ``logs`` command.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HEADER = struct.Struct("!dBHI")
STDOUT, STDERR = 0, 1
CHANNELS = {"stdout": STDOUT, "stderr": STDERR}
MAX_BYTES = 8 * 1024 * 1024  # a journal file's size before it is rotated
NAME = "journal"


class Journal:
    """Append programs' output to the journal file (in supervisord's main loop)."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.fd = -1
        self.size = 0

    def __call__(self, event: Any) -> None:
        """Take a ``ProcessLogEvent`` (supervisord calls this for each chunk)."""
        data: bytes = event.data if isinstance(event.data, bytes) else event.data.encode()
        name = event.process.config.name.encode()
        record = HEADER.pack(time.time(), CHANNELS[event.channel], len(name), len(data))
        self.write(record + name + data)

    def write(self, record: bytes) -> None:
        try:
            if self.fd < 0 or self.size + len(record) > self.max_bytes:
                self._open(rotate=self.fd >= 0)
            written = os.write(self.fd, record)
            if written < len(record):  # the disk filled up: leave no half record behind
                os.ftruncate(self.fd, self.size)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.size += written
        except OSError:
            self.close()  # a full disk: the programs' own log files still have it all

    def _open(self, rotate: bool) -> None:
        self.close()
        if rotate:
            os.replace(self.path, previous(self.path))
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.size = os.fstat(self.fd).st_size

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1


def records(data: bytes) -> Iterator[tuple[float, int, str, bytes]]:
    """Yield (time, stream, process name, data) of each whole record in ``data``."""
    offset = 0
    while offset + HEADER.size <= len(data):
        stamp, channel, name_length, data_length = HEADER.unpack_from(data, offset)
        end = offset + HEADER.size + name_length + data_length
        if end > len(data):
            return  # being written
        name = data[offset + HEADER.size : offset + HEADER.size + name_length].decode()
        yield stamp, channel, name, data[offset + HEADER.size + name_length : end]
        offset = end


def record_length(data: bytes, offset: int) -> int:
    """Return the length of the record at ``offset``, or 0 if it is not whole yet."""
    if offset + HEADER.size > len(data):
        return 0
    _, _, name_length, data_length = HEADER.unpack_from(data, offset)
    length = HEADER.size + name_length + data_length
    return length if offset + length <= len(data) else 0


def whole_length(data: bytes) -> int:
    """Return how many bytes at the start of ``data`` are whole records."""
    offset = 0
    while length := record_length(data, offset):
        offset += length
    return offset


def previous(journal: Path) -> Path:
    """Return where the journal's older records are once it has been rotated."""
    return journal.with_name(f"{NAME}.1")


def identity(path: Path) -> tuple[int, int] | None:
    """Return the file's (device, inode), which stay with it when it is rotated; None if absent."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return info.st_dev, info.st_ino
