"""The programs' recent output for a page that refreshes: the journal, read on from a cursor.

A first read gives the last lines of each process; each later read, given
the cursor the previous one returned, only what was written since, even
across a rotation of the journal. The output is raw bytes per process and
stream, in order: a line (or a UTF-8 character) split between two reads is
put together by the reader, which keeps its own unfinished line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .journal import previous, records, whole_length

TAIL_LINES = 100  # lines per process a read gives at most


STAMP_BYTES = 8  # a record's time, first in its header: a file's first one names the file


@dataclass(frozen=True)
class Cursor:
    """Where a reader stopped: a journal file and an offset in it.

    The file is named by its inode and the time of its first record: after
    two rotations a new file may get the inode of one deleted, never both.
    """

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


@dataclass
class ProcessOutput:
    """One process's output in a read: its chunks, and whether the reader must start over."""

    chunks: list[tuple[int, bytes]] = field(default_factory=list)  # (stream, data)
    # Older output was left out (a first read, or more than TAIL_LINES since
    # the last): the reader drops what it had of this process, unfinished
    # lines included.
    restart: bool = False


@dataclass
class Tail:
    """What a read returns: the output by process name, and the cursor to read on from."""

    cursor: str
    output: dict[str, ProcessOutput]
    reset: bool  # a first read (or the cursor was lost): drop everything shown before


def read_tail(journal: Path, cursor: str | None, lines: int = TAIL_LINES) -> Tail:
    """Read the journal on from ``cursor`` (from the start for None); keep ``lines`` per process."""
    current = file_name(journal)
    if current is None:
        return Tail("", {}, reset=True)
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
    output = _by_process(before[: whole_length(before)] + data[:whole], lines, restart=reset)
    return Tail(str(Cursor(current, start + whole)), output, reset)


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


def _by_process(data: bytes, lines: int, restart: bool) -> dict[str, ProcessOutput]:
    found: dict[str, ProcessOutput] = {}
    for _, stream, name, chunk in records(data):
        found.setdefault(name, ProcessOutput(restart=restart)).chunks.append((stream, chunk))
    for output in found.values():
        _keep_last_lines(output, lines)
    return found


def _keep_last_lines(output: ProcessOutput, lines: int) -> None:
    """Drop all but the last ``lines`` lines (and an unfinished one) of ``output``."""
    excess = sum(chunk.count(b"\n") for _, chunk in output.chunks) - lines
    if excess <= 0:
        return
    output.restart = True
    kept: list[tuple[int, bytes]] = []
    for stream, chunk in output.chunks:
        if excess > 0:
            newlines = chunk.count(b"\n")
            if newlines < excess:
                excess -= newlines
                continue
            cut = -1
            for _ in range(excess):
                cut = chunk.index(b"\n", cut + 1)
            chunk, excess = chunk[cut + 1 :], 0
            if not chunk:
                continue
        kept.append((stream, chunk))
    output.chunks = kept
