"""``top``'s data and layout, without curses or a running supervisord."""

from __future__ import annotations

import curses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from djsupervisor.inside.journal_writer import Journal
from djsupervisor.proctable import GroupUsage
from djsupervisor.protocol import STDERR, STDOUT, ProcessState, record
from djsupervisor.terminal.top import (
    HEADINGS,
    Row,
    View,
    Watch,
    fit,
    format_uptime,
    lay_out,
    printable,
)
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


@dataclass
class OneProcess:
    """A supervisord that runs one process."""

    state: ProcessState

    def process_states(self) -> list[ProcessState]:
        return [self.state]


def test_this_process_own_usage_is_read_by_its_group() -> None:
    # The test runner leads no group of its own, but its group's leader runs.
    group = os.getpgid(0)
    state = ProcessState("me", "me", "RUNNING", "", pid=group, started=0)
    clock = FakeClock(FakeSupervisord([]))
    watch = Watch(OneProcess(state), Path("/nonexistent/journal"), clock)
    (first,) = watch.look()
    clock.sleep(0.5)
    (second,) = watch.look()
    assert first.memory and first.memory > 1024 * 1024
    assert first.cpu is None and second.cpu is not None and second.cpu >= 0


def test_what_programs_write_is_drawn_on_its_own_line_and_width() -> None:
    assert printable("a\tb\0c\rd\x1b[2Je") == "a   b?c?d?[2Je"
    assert fit("世界abc", 3) == "世"  # two columns each
    assert fit("abcdef", 3) == "abc"
    failed = ProcessState(
        "job", "job", "FATAL", "Exited too quickly (process log may have details)"
    )
    up = ProcessState("web", "web", "RUNNING", "", pid=7, started=1)
    rows = [Row(failed, None, None, "boom"), Row(up, None, None, "GET /")]
    heading, _, web = lay_out(rows, now=86400 * 12 + 1, width=200)
    assert "12d 0:00:00" in web  # ten days and more fit their column
    assert len(heading) - heading.index("LAST LINE") < 200 - 60  # a failure leaves room


@dataclass
class Asked:
    """The client's actions, recorded."""

    calls: list[str] = field(default_factory=list)

    def act(self, action: str, name: str) -> None:
        self.calls.append(f"{action} {name}")


def test_keys_act_on_the_process_shown_selected_even_as_rows_come_and_go() -> None:
    supervisord = FakeSupervisord([])
    watch = Watch(supervisord, Path("/nonexistent/journal"), FakeClock(supervisord))
    asked = Asked()
    view = View(cast("curses.window", None), watch, asked)
    view.look()
    assert view.handle(curses.KEY_DOWN)  # nothing to select
    supervisord.add("a")
    supervisord.add("b")
    view.look()
    view.handle(ord("x"))
    view.handle(ord("j"))
    supervisord.processes.insert(0, FakeProcess("new", "new"))
    view.look()  # the selection stays on b, now the third row
    view.handle(ord("r"))
    assert asked.calls == ["stop a", "restart b"]
    assert not view.handle(ord("q"))


def test_usage_of_a_group_first_seen_before_it_was_asked_for() -> None:
    usage = GroupUsage()
    group = os.getpgid(0)
    assert usage.read([]) == {}  # every process seen, none asked for
    assert usage.read([group])[group].resident > 0
