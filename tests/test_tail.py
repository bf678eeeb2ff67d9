"""Reading the journal on from a cursor, as the admin's Processes page does."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from djsupervisor.inside.journal_writer import Journal
from djsupervisor.journal import Cursor
from djsupervisor.protocol import STDERR, STDOUT, records
from djsupervisor.tail import (
    MAX_LINE_BYTES,
    ProcessOutput,
    _cut_long_lines,
    read_tail,
)


@dataclass
class Config:
    name: str


@dataclass
class Process:
    config: Config


@dataclass
class OutputEvent:
    """What supervisord hands the journal for a chunk of output (a ProcessLogEvent's fields)."""

    process: Process
    channel: str
    data: bytes


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal")


def write(journal: Journal, name: str, data: bytes, channel: str = "stdout") -> None:
    journal(OutputEvent(Process(Config(name)), channel, data))


def joined(chunks: list[tuple[int, bytes]]) -> bytes:
    return b"".join(data for _, data in chunks)


def test_a_first_read_gives_each_process_its_last_lines(journal: Journal) -> None:
    for number in range(10):
        write(journal, "web", b"line %d\n" % number)
    write(journal, "worker", b"oops\n", "stderr")
    tail = read_tail(journal.path, None, lines=3)
    assert tail.reset
    assert joined(tail.output["web"].chunks) == b"line 7\nline 8\nline 9\n"
    assert tail.output["web"].restart
    assert tail.output["worker"].chunks == [(STDERR, b"oops\n")]


def test_later_reads_give_only_what_is_new(journal: Journal) -> None:
    write(journal, "web", b"one\n")
    first = read_tail(journal.path, None)
    assert read_tail(journal.path, first.cursor).output == {}
    write(journal, "web", b"two")  # a line in two writes: the reader joins them
    write(journal, "web", b" halves\n")
    second = read_tail(journal.path, first.cursor)
    assert not second.reset and not second.output["web"].restart
    assert second.output["web"].chunks == [(STDOUT, b"two"), (STDOUT, b" halves\n")]


def test_a_chunk_cut_in_the_middle_keeps_the_unfinished_line(journal: Journal) -> None:
    write(journal, "web", b"a\nb\nc\nd\nunfinished")
    tail = read_tail(journal.path, None, lines=2)
    assert joined(tail.output["web"].chunks) == b"c\nd\nunfinished"


def test_a_flood_since_the_last_read_is_cut_and_said_so(journal: Journal) -> None:
    first = read_tail(journal.path, None)
    write(journal, "web", b"".join(b"%d\n" % n for n in range(500)))
    tail = read_tail(journal.path, first.cursor, lines=2)
    assert tail.output["web"].restart
    assert joined(tail.output["web"].chunks) == b"498\n499\n"


def test_reads_go_on_across_a_rotation(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal", max_bytes=200)
    write(journal, "web", b"before\n")
    first = read_tail(journal.path, None)
    written = [b"after %d %s\n" % (number, b"x" * 20) for number in range(5)]
    for data in written:  # the fifth record goes to a new file
        write(journal, "web", data)
    assert (tmp_path / "journal.1").exists()
    tail = read_tail(journal.path, first.cursor)
    assert not tail.reset and joined(tail.output["web"].chunks) == b"".join(written)
    for _ in range(10):  # two more rotations: the cursor's file is gone
        write(journal, "web", written[0])
    assert read_tail(journal.path, tail.cursor).reset


def test_a_lost_cursor_starts_over(journal: Journal) -> None:
    write(journal, "web", b"one\n")
    for cursor in ("12.0011223344556677-3", "garbled"):
        tail = read_tail(journal.path, cursor)
        assert tail.reset and joined(tail.output["web"].chunks) == b"one\n"


def test_no_journal_yet(tmp_path: Path) -> None:
    tail = read_tail(tmp_path / "journal", None)
    assert tail.reset and tail.output == {} and Cursor.parse(tail.cursor) is None


def test_a_record_being_written_waits_for_the_next_read(journal: Journal) -> None:
    write(journal, "web", b"whole\n")
    with journal.path.open("ab") as file:
        file.write(b"\x00\x01")  # the start of a record's header
    tail = read_tail(journal.path, None)
    assert joined(tail.output["web"].chunks) == b"whole\n"
    cursor = Cursor.parse(tail.cursor)
    assert cursor is not None and cursor.offset == journal.path.stat().st_size - 2


def test_a_disk_that_fills_up_mid_record_leaves_no_half_record(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(journal, "web", b"whole\n")
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if fd != journal.fd:
            return real_write(fd, data)
        return real_write(fd, data[: len(data) // 2])  # what room there was left

    with monkeypatch.context() as patched:
        patched.setattr(os, "write", full_disk)
        write(journal, "web", b"cut short\n")
    write(journal, "web", b"after\n")  # there is room again
    assert [data for _, _, _, data in records(journal.path.read_bytes())] == [
        b"whole\n",
        b"after\n",
    ]


def test_a_long_line_is_cut_and_the_cut_said(journal: Journal) -> None:
    huge = b"x" * 10_000_000
    write(journal, "web", b"before\n")
    for start in range(0, len(huge), 65536):  # as supervisord reads it: in pieces
        write(journal, "web", huge[start : start + 65536])
    write(journal, "web", b"\nafter\n")
    write(journal, "web", b"y" * 20_000, "stderr")  # unfinished
    chunks = read_tail(journal.path, None).output["web"].chunks
    assert sum(len(data) for _, data in chunks) < 2 * MAX_LINE_BYTES + 200
    stdout = b"".join(data for stream, data in chunks if stream == STDOUT)
    cut = len(huge) - MAX_LINE_BYTES
    assert stdout == (
        b"before\n" + b"x" * MAX_LINE_BYTES + f" … ({cut} bytes cut)\n".encode() + b"after\n"
    )
    stderr = b"".join(data for stream, data in chunks if stream == STDERR)
    assert stderr == b"y" * MAX_LINE_BYTES + " … (10000 bytes cut)".encode()


def test_a_line_is_cut_between_characters() -> None:
    line = "é".encode() * MAX_LINE_BYTES + b"\n"  # two bytes each
    output = ProcessOutput([(STDOUT, line[:7]), (STDOUT, line[7:])])
    _cut_long_lines(output, 5)
    assert b"".join(data for _, data in output.chunks).decode() == (
        f"éé … ({len(line) - 5} bytes cut)\n"
    )


def test_short_lines_are_left_whole(journal: Journal) -> None:
    for number in range(50):
        write(journal, "web", b"line %d " % number + b"z" * (MAX_LINE_BYTES - 20) + b"\n")
    chunks = read_tail(journal.path, None).output["web"].chunks
    assert b"cut" not in b"".join(data for _, data in chunks)
