"""Append every program's output to the journal as supervisord reads it (see journal.py).

Each chunk is one record (protocol.py) with the time. The file is bounded:
past MAX_BYTES it becomes ``journal.1``.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import Any

from ..journal import previous
from ..protocol import CHANNELS, record

MAX_BYTES = 8 * 1024 * 1024  # a journal file's size before it is rotated


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
        self.write(record(CHANNELS[event.channel], event.process.config.name, data))

    def write(self, data: bytes) -> None:
        """Append ``data`` (whole records), rotating the file first if it would grow too big."""
        try:
            if self.fd < 0 or self.size + len(data) > self.max_bytes:
                self._open(rotate=self.fd >= 0)
            written = os.write(self.fd, data)
            if written < len(data):  # the disk filled up: leave no half record behind
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
