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

from .inside.journal import previous, records, whole_length

TAIL_LINES = 100  # lines per process a read gives at most
# Of one line, a read gives the start: one line of 10 MB made every page load
# carry it all. The rest of the line is cut, and the cut is said.
MAX_LINE_BYTES = 10_000


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
        _cut_long_lines(output, MAX_LINE_BYTES)
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


def _cut_long_lines(output: ProcessOutput, limit: int) -> None:
    """Keep the first ``limit`` bytes of each line of ``output``; mark where the rest was cut.

    A line is counted from where this read starts: a line that goes on in
    the next read is cut there again.
    """
    length: dict[int, int] = {}  # of the current line so far, by stream
    cut: dict[int, int] = {}  # bytes cut from the current line, by stream
    kept: list[tuple[int, bytes]] = []
    for stream, chunk in output.chunks:
        if len(chunk) + length.get(stream, 0) <= limit and not cut.get(stream):
            # The common case, whole or not: nothing to cut.
            last_newline = chunk.rfind(b"\n")
            length[stream] = (
                length.get(stream, 0) + len(chunk)
                if last_newline < 0
                else len(chunk) - last_newline - 1
            )
            kept.append((stream, chunk))
            continue
        shown = bytearray()
        parts = chunk.split(b"\n")
        for number, part in enumerate(parts):
            room = max(limit - length.get(stream, 0), 0)
            if len(part) > room:
                keep = _character_start(part, room)
                shown += part[:keep]
                cut[stream] = cut.get(stream, 0) + len(part) - keep
                length[stream] = limit
            else:
                shown += part
                length[stream] = length.get(stream, 0) + len(part)
            if number < len(parts) - 1:  # the line ends here
                if cut.get(stream):
                    shown += _cut_marker(cut.pop(stream))
                shown += b"\n"
                length[stream] = 0
        if shown:
            kept.append((stream, bytes(shown)))
    # Lines still unfinished where the read ends: say what was cut of them so far.
    kept += [(stream, _cut_marker(count)) for stream, count in cut.items() if count]
    output.chunks = kept


def _character_start(data: bytes, offset: int) -> int:
    """Return ``offset``, moved back to the start of the UTF-8 character it falls in."""
    start = offset
    # A continuation byte is 0b10xxxxxx; a character has at most 3 of them.
    while offset - start < 3 and 0 < start < len(data) and data[start] & 0xC0 == 0x80:
        start -= 1
    return start


def _cut_marker(count: int) -> bytes:
    return f" … ({count} bytes cut)".encode()
