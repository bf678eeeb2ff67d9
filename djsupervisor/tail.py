"""The programs' recent output for a page that refreshes: the journal, read on from a cursor.

A first read gives the last lines of each process; each later read, given
the cursor the previous one returned, only what was written since, even
across a rotation of the journal (journal.py). The output is raw bytes per process and
stream, in order: a line (or a UTF-8 character) split between two reads is
put together by the reader, which keeps its own unfinished line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .journal import read_on
from .protocol import records

TAIL_LINES = 100  # lines per process a read gives at most
# Of one line, a read gives the start: one line of 10 MB made every page load
# carry it all. The rest of the line is cut, and the cut is said.
MAX_LINE_BYTES = 10_000


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
    found = read_on(journal, cursor)
    output = _by_process(found.data, lines, restart=found.reset)
    return Tail(found.cursor, output, found.reset)


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
