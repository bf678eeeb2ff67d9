"""``top``'s data and layout, without curses or a running supervisord."""

from __future__ import annotations

import os
from pathlib import Path

from djsupervisor.inside.journal_writer import Journal
from djsupervisor.protocol import STDERR, STDOUT, ProcessState, record
from djsupervisor.terminal.top import HEADINGS, Row, Watch, format_uptime, lay_out
from tests.fakes import FakeClock, FakeProcess, FakeSupervisord


def test_uptimes_read_like_supervisords_in_short() -> None:
    assert [format_uptime(s) for s in (0, 62, 3600 * 25 + 5, 86400 * 3)] == [
        "0:00:00",
        "0:01:02",
        "1d 1:00:05",
        "3d 0:00:00",
    ]


def test_the_table_has_a_column_each_and_the_last_line_takes_the_rest() -> None:
    running = ProcessState("web", "web", "RUNNING", "pid 7", "ready", pid=7, started=100)
    stopped = ProcessState("pool", "pool_0", "STOPPED", "Not started", "waiting for db (ready)")
    rows = [Row(running, 12.34, 50 * 1024 * 1024, "GET / 200"), Row(stopped, None, None, "")]
    heading, web, pool = lay_out(rows, now=162, width=200)
    assert heading.split() == [word for heading in HEADINGS for word in heading.split()]
    assert web.split() == [
        "web",
        "RUNNING",
        "7",
        "0:01:02",
        "12.3",
        "50.0M",
        "0",
        "ready",
        "GET",
        "/",
        "200",
    ]
    assert pool.split()[:4] == ["pool:pool_0", "STOPPED", "0", "waiting"]
    assert heading.index("STATE") == web.index("RUNNING") == pool.index("STOPPED")
    assert all(len(line) <= 40 for line in lay_out(rows, now=162, width=40))


def test_a_look_reads_each_process_its_last_line_and_its_cpu_since_the_last(
    tmp_path: Path,
) -> None:
    supervisord = FakeSupervisord([FakeProcess("web", "web")])
    journal = Journal(tmp_path / "journal")
    journal.write(record(STDOUT, "web", b"first\nsecond\n"))
    watch = Watch(supervisord, journal.path, FakeClock(supervisord))
    (row,) = watch.look()
    assert (row.state.name, row.last, row.cpu) == ("web", "second", None)  # no pid: no usage
    journal.write(record(STDERR, "web", b"third\n"))
    (row,) = watch.look()
    assert row.last == "third"
    assert watch.followed("web") == ["first", "second", "third"]


def test_this_process_own_usage_is_read_by_its_group() -> None:
    # The test runner leads no group of its own, but its group's leader runs.
    supervisord = FakeSupervisord([])
    watch = Watch(supervisord, Path("/nonexistent/journal"), FakeClock(supervisord))
    group = os.getpgid(0)
    state = ProcessState("me", "me", "RUNNING", "", pid=group, started=0)
    watch.supervisor = type("One", (), {"process_states": lambda self: [state]})()  # type: ignore[assignment]
    (first,) = watch.look()
    (second,) = watch.look()
    assert first.memory and first.memory > 1024 * 1024
    assert first.cpu is None and second.cpu is not None and second.cpu >= 0
