"""schedule=: read once, refused by name when malformed, kept in the graph; when each run is due."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim

from djsupervisor import schedules
from djsupervisor.config.dependencies import build_graph
from djsupervisor.config.merge import Layer, apply_program_rules, merge_layers
from djsupervisor.errors import ScheduleError
from djsupervisor.graph import Graph
from djsupervisor.options import Options
from djsupervisor.schedules import Schedule, parse_schedule

ANCHOR = 1_800_000_000.0  # seconds since the epoch


def graph_of(programs: dict[str, dict[str, str]]) -> Graph:
    sections = {f"program:{name}": {"command": "run", **opts} for name, opts in programs.items()}
    merged = apply_program_rules(merge_layers([Layer(sections, origin="conf")]), Options())
    return build_graph(merged, debug=False)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("0 3 * * *", "0 3 * * *"),
        ("  */15  9-17 * *   mon-fri ", "*/15 9-17 * * MON-FRI"),
        ("@daily", "0 0 * * *"),
        ("@HOURLY", "0 * * * *"),
        ("every 30s", "every 30s"),
        ("every 90s", "every 90s"),
        ("Every 10 m", "every 10m"),
        ("every 120m", "every 2h"),
        ("0 0 29 2 *", "0 0 29 2 *"),  # in leap years
        ("0 0 31 2 mon", "0 0 31 2 MON"),  # Mondays of February: either field will do
    ],
)
def test_a_schedule_is_read_once_into_one_spelling(written: str, read: str) -> None:
    assert str(parse_schedule(written)) == read


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("0 3 * *", "has 4 fields; use five cron fields"),
        ("0 3 * * * *", "has 6 fields"),
        ("", "has 0 fields"),
        ("60 * * * *", "has 60 in its minute field ('60'); use 0-59"),
        ("0 24 * * *", "has 24 in its hour field ('24'); use 0-23"),
        ("0 0 0 * *", "has 0 in its day-of-month field ('0'); use 1-31"),
        ("0 0 * 13 *", "has 13 in its month field ('13'); use 1-12"),
        ("0 0 * * 8", "has 8 in its day-of-week field ('8'); use 0-7"),
        ("*/0 * * * *", "has a step of 0 in its minute field ('*/0')"),
        ("5-1 * * * *", "has a backwards range in its minute field ('5-1')"),
        ("0 0 L * *", "has 'L' in its day-of-month field ('L')"),
        ("0 0 * * MON#2", "has 'MON#2' in its day-of-week field"),
        ("0 0 31 2 *", "never comes: no month has that day"),
        ("0 0 30,31 2 *", "never comes"),
        ("every 0s", "never comes: the period must be at least 1s"),
        ("every -5m", "is not a period"),
        ("every 1.5m", "is not a period"),
        ("every 10", "is not a period"),
        ("every 10 min", "is not a period"),
        ("every day", "is not a period"),
        ("every 9000h", "is longer than a year; use five cron fields"),
        ("every ²s", "is not a period"),
        ("\u0661 * * * *", "has '\u0661' in its minute field"),  # an Arabic-Indic one
    ],
)
def test_a_malformed_schedule_says_what_is_wrong(written: str, why: str) -> None:
    with pytest.raises(schedules.ScheduleSyntaxError, match=re.escape(why)):
        parse_schedule(written)


def test_the_config_refuses_it_by_program_and_the_graph_carries_it() -> None:
    with pytest.raises(
        ScheduleError, match=re.escape("program 'job' (from conf): schedule='61 * * * *' has 61")
    ) as error:
        graph_of({"job": {"schedule": "61 * * * *"}})
    assert error.value.check_id == "djsupervisor.E018"
    graph = graph_of({"job": {"schedule": "@hourly"}, "web": {}})
    job = graph.programs["job"]
    assert (job.schedule, job.oneshot, job.autostart) == ("0 * * * *", True, False)
    assert graph.programs["web"].schedule is None
    assert Graph.from_json(graph.to_json()) == graph


def test_every_keeps_its_rhythm_from_its_anchor() -> None:
    every = parse_schedule("every 10s")
    assert every.next_after(ANCHOR, ANCHOR) == ANCHOR + 10
    assert every.next_after(ANCHOR + 10, ANCHOR) == ANCHOR + 20  # strictly after
    assert every.next_after(ANCHOR + 37.5, ANCHOR) == ANCHOR + 40  # late: the grid, not +10


def test_the_fields_values_for_the_exports() -> None:
    assert parse_schedule("*/20 9-11 1,15 * sun,7").field_values() == [
        [0, 20, 40],
        [9, 10, 11],
        [1, 15],
        list(range(1, 13)),
        [0],  # 7 is Sunday too
    ]


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run in Europe/Riga (daylight saving time from the last Sunday of March, 03:00)."""
    monkeypatch.setenv("TZ", "Europe/Riga")
    time.tzset()
    schedules.local_zone.cache_clear()
    yield "Europe/Riga"
    monkeypatch.undo()
    time.tzset()
    schedules.local_zone.cache_clear()


@pytest.mark.parametrize(
    "cron", ["30 3 * * *", "0 * * * *", "*/7 2-4 * * *", "0 0 * * SUN", "15 3 28 3 *"]
)
def test_cron_times_are_local_and_cross_daylight_saving_as_cron_does(zone: str, cron: str) -> None:
    riga = ZoneInfo(zone)
    start = datetime(2027, 3, 27, 12, 0, tzinfo=riga)  # the day before the clocks go forward
    when, expected = start.timestamp(), CronSim(cron, start)
    for _ in range(30):
        when = parse_schedule(cron).next_after(when, ANCHOR)
        assert when == next(expected).timestamp()
    assert schedules.zone_name() == zone


def test_a_time_zone_rule_without_a_name_still_gives_local_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "EST5")  # a POSIX rule: no zone file of that name
    time.tzset()
    schedules.local_zone.cache_clear()
    try:
        assert schedules.zone_name() is None
        noon = Schedule(cron="0 12 * * *").next_after(ANCHOR, ANCHOR)
        assert time.localtime(noon)[3:6] == (12, 0, 0)
    finally:
        monkeypatch.undo()
        time.tzset()
        schedules.local_zone.cache_clear()


def test_a_time_in_the_hour_repeated_in_autumn_comes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    schedules.local_zone.cache_clear()
    try:
        new_york = ZoneInfo("America/New_York")
        second_pass = datetime(2027, 11, 7, 1, 10, fold=1, tzinfo=new_york).timestamp()
        due = parse_schedule("45 1 * * *").next_after(second_pass, ANCHOR)
        assert datetime.fromtimestamp(due, new_york) == datetime(
            2027, 11, 8, 1, 45, tzinfo=new_york
        )
    finally:
        monkeypatch.undo()
        schedules.local_zone.cache_clear()
