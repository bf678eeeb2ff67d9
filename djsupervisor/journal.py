"""The journal: every program's output in time order, and the one way to read it on.

supervisord keeps a log file per program and stream, with no time on its
lines: nothing can interleave them afterwards. Inside supervisord, each chunk
of output is also appended to the journal as it is read, as a record with
the time (protocol.py; the writer is inside/journal_writer.py). Past a size
the file becomes ``journal.1`` and a new one starts.

``logs`` and the admin page read it on from a cursor, across a rotation.
A file is named by its inode and the time of its first record: after two
rotations a new file may get the inode of one deleted, never both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .protocol import whole_length

NAME = "journal"
STAMP_BYTES = 8  # a record's time, first in its header: a file's first one names the file


def previous(journal: Path) -> Path:
    """Return where the journal's older records are once it has been rotated."""
    return journal.with_name(f"{NAME}.1")


@dataclass(frozen=True)
class Cursor:
    """Where a reader stopped: a journal file and an offset in it."""

    file: str
    offset: int

    def __str__(self) -> str:
        return f"{self.file}-{self.offset}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        """Return the cursor ``text`` names, or None if it names none (or is garbled)."""
        file, _, offset = (text or "").rpartition("-")
        if not file or not offset.isdigit():
            return None
        return cls(file, int(offset))


@dataclass(frozen=True)
class Reading:
    """What a read on found: whole records, where to read on from, whether it started over."""

    data: bytes
    cursor: str  # '' while the journal has no record
    reset: bool  # from the start (no cursor, or the file it named is gone)


def read_on(journal: Path, cursor: str | None) -> Reading:
    """Return the whole records written since ``cursor``; all there are for None.

    Records that went to ``journal.1`` since the cursor come first. A record
    being written is left for the next read.
    """
    current = file_name(journal)
    if current is None:
        return Reading(b"", "", reset=True)
    at = Cursor.parse(cursor)
    older = previous(journal)
    if at is not None and at.file == current:
        before, start, reset = b"", at.offset, False
    elif at is not None and at.file == file_name(older):
        before, start, reset = _read(older, at.offset), 0, False  # rotated since the last read
    else:
        before, start, reset = _read(older, 0), 0, True
    data = _read(journal, start)
    whole = whole_length(data)
    # The older file is complete: it is rotated after a whole record.
    records = before[: whole_length(before)] + data[:whole]
    return Reading(records, str(Cursor(current, start + whole)), reset)


def file_name(path: Path) -> str | None:
    """Return what names the journal file at ``path`` in a cursor; None before its first record."""
    try:
        with path.open("rb") as file:
            stamp = file.read(STAMP_BYTES)
            inode = os.fstat(file.fileno()).st_ino
    except FileNotFoundError:
        return None
    return f"{inode}.{stamp.hex()}" if len(stamp) == STAMP_BYTES else None


def _read(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read()
    except FileNotFoundError:
        return b""
