"""``logs [-f] [-n N]``: the journal's lines in time order, followed across rotations."""

from __future__ import annotations

import io
import json
from collections.abc import Collection
from pathlib import Path

import pytest

from djsupervisor.inside.journal_writer import Journal
from djsupervisor.protocol import NOTICE, STDERR, STDOUT, record
from djsupervisor.terminal.logs import Render, json_lines, show, text_lines

ROTATE_AT = 120  # bytes: a journal this small rotates every few records
LINES_PER_SLEEP = 3


def plain(names: Collection[str]) -> Render:
    return text_lines(names, timestamps=False)  # not a terminal: no colors


def said(out: io.StringIO) -> list[tuple[str, str]]:
    """Return the (program, text) of each line printed."""
    return [
        (name.strip(), text)
        for name, text in (line.split(" | ", 1) for line in out.getvalue().splitlines())
    ]


class Writer:
    """A clock whose every sleep is a program writing a few lines: some rotate the journal.

    Lines written before a rotation, since the last read, are in ``journal.1``.
    """

    def __init__(self, journal: Journal, lines: list[tuple[str, int, bytes]]) -> None:
        self.journal = journal
        self.lines = lines

    def sleep(self, _: float) -> None:
        if not self.lines:
            raise KeyboardInterrupt  # Ctrl-C once everything was written and read
        for name, kind, data in self.lines[:LINES_PER_SLEEP]:
            self.journal.write(record(kind, name, data))
        del self.lines[:LINES_PER_SLEEP]

    def monotonic(self) -> float:
        return 0.0


def test_the_last_lines_of_both_files_in_time_order(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal", max_bytes=ROTATE_AT // 2)
    for number in range(6):
        journal.write(record(STDOUT if number % 2 else STDERR, f"p{number % 2}", b"%d\n" % number))
    assert (tmp_path / "journal.1").exists()  # some lines are in the rotated file
    out = io.StringIO()
    show(journal.path, None, 3, follow=False, render_for=plain, out=out)
    assert said(out) == [("p1", "3"), ("p0", "4"), ("p1", "5")]
    out = io.StringIO()
    show(journal.path, {"p0"}, 10, follow=False, render_for=plain, out=out)
    assert said(out) == [("p0", "0"), ("p0", "2"), ("p0", "4")]


def test_following_reads_every_line_once_across_rotations(tmp_path: Path) -> None:
    """A record split between reads, and files rotated between reads, lose and repeat nothing."""
    journal = Journal(tmp_path / "journal", max_bytes=ROTATE_AT)
    journal.write(record(STDOUT, "web", b"before\n"))
    coming = [("web", STDOUT, b"line %d\n" % number) for number in range(40)]
    coming.insert(5, ("web", STDOUT, b"half a "))  # a line written in two chunks
    coming.insert(6, ("web", STDOUT, b"line\n"))
    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        show(journal.path, None, 5, True, plain, out, clock=Writer(journal, coming))
    expected = ["before", *(f"line {n}" for n in range(5)), "half a line"]
    expected += [f"line {n}" for n in range(5, 40)]
    assert said(out) == [("web", text) for text in expected]
    assert journal.size < ROTATE_AT  # it rotated on the way


def test_json_gives_each_line_its_time_program_process_and_stream(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal")
    journal.write(record(STDOUT, "pool_0", "caf\u00e9\nhalf".encode(), stamp=1000.5))
    journal.write(record(STDERR, "web", b"oops\n", stamp=1001.0))
    journal.write(record(STDOUT, "pool_0", b" a line\n", stamp=1002.0))
    journal.write(record(NOTICE, "web", b"run 2 starts (asked for)\n", stamp=1003.0))
    out = io.StringIO()
    programs = {"pool_0": "pool", "web": "web"}

    def as_json(names: Collection[str]) -> Render:
        return json_lines(names, programs)

    show(journal.path, None, 10, follow=False, render_for=as_json, out=out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {
            "time": 1000.5,
            "program": "pool",
            "process": "pool_0",
            "stream": "stdout",
            "line": "caf\u00e9",
        },
        {"time": 1001.0, "program": "web", "process": "web", "stream": "stderr", "line": "oops"},
        # A line written in two chunks has the time it was finished.
        {
            "time": 1002.0,
            "program": "pool",
            "process": "pool_0",
            "stream": "stdout",
            "line": "half a line",
        },
        {
            "time": 1003.0,
            "program": "web",
            "process": "web",
            "stream": "djsupervisor",
            "line": "run 2 starts (asked for)",
        },
    ]
