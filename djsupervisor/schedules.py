"""Programs run on a schedule (``schedule=``): what a schedule says, and when it is next due.

A schedule is five cron fields in local time (``0 3 * * *``, a macro such as
``@daily``), or ``every N(s|m|h)``. The config build reads it (a malformed
one is refused, djsupervisor.E018), the orchestrator inside supervisord asks
it when each run is due, and the exports turn it into systemd timers and
Kubernetes CronJobs. When a cron schedule is next due is cronsim's answer
(docs: scheduling says why it and not croniter); this module reads the
fields itself only to refuse what cron on the other platforms would not
take (cronsim's own extensions: seconds, ``L``, ``W``, ``#``).

It runs inside supervisord too: standard library only, cronsim imported
when a cron schedule is first asked when it is due.
"""

from __future__ import annotations

import functools
import math
import os
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
UNITS = {"s": 1, "m": 60, "h": 3600}  # seconds each
LONGEST_PERIOD = 366 * 24 * 3600  # seconds: a longer 'every' is a cron schedule's job
DIGITS = re.compile(r"[0-9]+")  # not str.isdigit: it takes other scripts' digits too
EVERY = re.compile(r"every\s+(?P<count>\S+?)\s*(?P<unit>[a-z]*)", re.IGNORECASE)
FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))  # day-of-week 7 is Sunday, as 0
NAMES = {
    "month": ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
    "day-of-week": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
}
FORMS = (
    "five cron fields (e.g. '0 3 * * *' or '@daily') or 'every N' with s, m or h (e.g. 'every 10m')"
)
ZONEINFO = Path("/usr/share/zoneinfo")
DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February of leap years


class ScheduleSyntaxError(ValueError):
    """What is wrong with a schedule, in a phrase that follows its value."""


@dataclass(frozen=True)
class Schedule:
    """A program's schedule: five cron fields, or a period in seconds."""

    cron: str | None = None  # five fields, macros written out, single spaces
    every: int | None = None  # seconds

    def __str__(self) -> str:
        return self.cron if self.cron is not None else f"every {describe_period(self.every or 0)}"

    def next_after(self, when: float, anchor: float) -> float:
        """Return the first time it is due after ``when`` (seconds since the epoch).

        ``every`` counts from ``anchor`` (when supervisord took the schedule):
        the runs keep their rhythm whatever each takes.
        """
        if self.every is not None:
            return anchor + (math.floor((when - anchor) / self.every) + 1) * self.every
        from cronsim import CronSim

        # cronsim reads a fixed time in the hour an autumn change repeats as
        # its first pass: from the second pass, that is behind; the next one on.
        due = CronSim(self.cron or "", datetime.fromtimestamp(when, local_zone()))
        return next(moment.timestamp() for moment in due if moment.timestamp() > when)

    def field_values(self) -> list[list[int]]:
        """Return the values each of the five cron fields takes, in order (day-of-week 0-6)."""
        assert self.cron is not None
        values = [_values(text, n) for n, text in enumerate(self.cron.split())]
        values[4] = sorted({day % 7 for day in values[4]})
        return values


def parse_schedule(text: str) -> Schedule:
    """Return the schedule ``text`` says; raise ScheduleSyntaxError saying what is wrong."""
    written = " ".join(text.split())
    every = EVERY.fullmatch(written)
    if every:
        count, unit = every["count"], every["unit"].lower()
        if not DIGITS.fullmatch(count) or unit not in UNITS:
            raise ScheduleSyntaxError(f"is not a period; use {FORMS}")
        seconds = int(count) * UNITS[unit]
        if seconds == 0:
            raise ScheduleSyntaxError("never comes: the period must be at least 1s")
        if seconds > LONGEST_PERIOD:
            raise ScheduleSyntaxError("is longer than a year; use five cron fields")
        return Schedule(every=seconds)
    cron = MACROS.get(written.lower(), written)
    fields = cron.split()
    if len(fields) != len(FIELDS):
        raise ScheduleSyntaxError(
            f"has {len(fields)} field{'s' if len(fields) != 1 else ''}; use {FORMS}"
        )
    for n, field in enumerate(fields):
        _values(field, n)
    schedule = Schedule(cron=cron.upper())
    if not _comes(schedule):
        raise ScheduleSyntaxError("never comes: no month has that day")
    return schedule


def describe_period(seconds: int) -> str:
    """Return a period the way ``every`` takes it: '90s', '10m', '2h'."""
    for unit, size in reversed(UNITS.items()):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"  # pragma: no cover - every size divides by 1


@functools.cache
def local_zone() -> tzinfo:
    """Return the machine's time zone, with its daylight saving rules: TZ, else /etc/localtime."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = os.environ.get("TZ", "").removeprefix(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # a POSIX rule such as 'EST5EDT,M3.2.0,M11.1.0': the offset it has now
    else:
        try:
            with open("/etc/localtime", "rb") as zone_file:
                return ZoneInfo.from_file(zone_file, key=zone_name())
        except (OSError, ValueError):
            pass
    return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")


def zone_name() -> str | None:
    """Return the machine's time zone's name ('Europe/Riga'), where it has one."""
    name = os.environ.get("TZ", "").removeprefix(":")
    if name:
        return name if (ZONEINFO / name).is_file() else None
    try:
        target = Path(os.readlink("/etc/localtime"))
    except OSError:
        return None
    parts = target.parts
    return "/".join(parts[parts.index("zoneinfo") + 1 :]) if "zoneinfo" in parts else None


def _values(text: str, index: int) -> list[int]:
    """Return the values cron field number ``index`` written ``text`` takes."""
    name = FIELDS[index]
    low, high = RANGES[index]
    found: set[int] = set()
    for term in text.split(","):
        span, slash, step_text = term.partition("/")
        step = _number(step_text, name, text) if slash else 1
        if step < 1:
            raise ScheduleSyntaxError(f"has a step of 0 in its {name} field ({text!r})")
        if span == "*":
            first, last = low, high if index != 4 else 6
        elif "-" in span:
            first_text, _, last_text = span.partition("-")
            first, last = _number(first_text, name, text), _number(last_text, name, text)
        else:
            first = _number(span, name, text)
            last = high if slash else first  # '5/15': from 5 on, as cron reads it
        for value in (first, last):
            if not low <= value <= high:
                raise ScheduleSyntaxError(
                    f"has {value} in its {name} field ({text!r}); use {low}-{high}"
                )
        if first > last:
            raise ScheduleSyntaxError(f"has a backwards range in its {name} field ({text!r})")
        found.update(range(first, last + 1, step))
    return sorted(found)


def _number(text: str, name: str, field: str) -> int:
    names = NAMES.get(name, [])
    if text.upper() in names:
        return names.index(text.upper()) + (1 if name == "month" else 0)
    if not DIGITS.fullmatch(text):
        raise ScheduleSyntaxError(f"has {text!r} in its {name} field ({field!r})")
    return int(text)


def _comes(schedule: Schedule) -> bool:
    """Tell whether the cron schedule is ever due.

    Only a day of the month cron must match alone (the day of the week
    written as '*...') can be one no month has; written beside a day of the
    week, either matching is enough.
    """
    day_field, weekday_field = (schedule.cron or "").split()[2:5:2]
    if day_field.startswith("*") or not weekday_field.startswith("*"):
        return True
    _, _, days, months, _ = schedule.field_values()
    return any(day <= DAYS_IN_MONTH[month] for month in months for day in days)
