"""A program's schedule in the words of the platforms that run it: OnCalendar= and a cron line.

A cron schedule (schedules.py) is five fields read in the project's time
zone. systemd's calendar events say the same with other words (lists and
``..`` ranges, weekday names from Monday, the zone's name at the end), but
one event needs all its parts to match, where cron runs a job on either
day field when both are restricted: that is two events. Kubernetes takes
cron itself; ``every N`` only where a cron line has the same rhythm.
"""

from __future__ import annotations

from ..schedules import Schedule

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # systemd's, its ranges' order
MINUTE = 60  # seconds
HOUR = 60 * MINUTE
DAY = 24 * HOUR
# Kubernetes: an ``every`` schedule counts seconds, which UTC's clock has no
# daylight saving jump in: every 6h is 6 hours apart there, as under supervisord.
EVERY_ZONE = "Etc/UTC"


def on_calendar(schedule: Schedule, zone: str | None = None) -> list[str]:
    """Return the systemd OnCalendar= values that together elapse when the cron schedule is due.

    One value, unless both day fields are restricted (neither written
    ``*...``): then cron runs on a day either matches, and systemd gets a
    value for each (a timer's values add up). ``zone``, the time zone the
    fields are read in, ends each value when it has a name.
    """
    assert schedule.cron is not None
    minutes, hours, days, months, weekdays = schedule.field_values()
    day_field, weekday_field = schedule.cron.split()[2:5:2]
    moment = f"{_values(hours, 0, 23)}:{_values(minutes, 0, 59)}:00"

    def event(on_days: list[int], on_weekdays: list[int]) -> str:
        date = f"*-{_values(months, 1, 12)}-{_values(on_days, 1, 31)}"
        words = [_weekdays(on_weekdays), date, moment, zone or ""]
        return " ".join(word for word in words if word)

    if day_field.startswith("*") or weekday_field.startswith("*"):
        return [event(days, weekdays)]
    return [event(days, list(range(7))), event(list(range(1, 32)), weekdays)]


def as_cron(schedule: Schedule) -> str:
    """Return a cron line Kubernetes reads as due when the schedule is; ValueError says why not.

    Kubernetes reads cron with robfig/cron: days of the week 0-6 only (7,
    Sunday, is written 0), and a day field stepped from '*' ('*/2') beside a
    restricted other day field means either day there, where cron means
    both: such a line has no CronJob. ``every N``: a number of minutes that
    divides an hour, or of hours that divides a day (counted from the
    clock's full hour or midnight, not from the start).
    """
    if schedule.cron is not None:
        minute, hour, day, month, weekday = schedule.cron.split()
        stepped = [field for field in (day, weekday) if field.startswith("*") and field != "*"]
        if stepped and not all(field.startswith("*") for field in (day, weekday)):
            raise ValueError(
                f"Kubernetes reads {stepped[0]!r} beside the other day field as either day, "
                "where cron means both: it has no CronJob"
            )
        if not weekday.startswith("*"):  # '*...' reads the same, and keeps cron's meaning
            weekday = ",".join(str(value) for value in schedule.field_values()[4])
        return " ".join((minute, hour, day, month, weekday))
    seconds = schedule.every or 0
    if seconds < HOUR:
        minutes, rest = divmod(seconds, MINUTE)
        if not (rest or not minutes or HOUR % seconds):
            return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    else:
        hours, rest = divmod(seconds, HOUR)
        if not (rest or DAY % seconds):
            return {1: "0 * * * *", 24: "0 0 * * *"}.get(hours, f"0 */{hours} * * *")
    raise ValueError(
        "a CronJob's cron line has no such period (minutes that divide an hour, hours "
        "that divide a day): it has no CronJob"
    )


def _values(values: list[int], low: int, high: int) -> str:
    """Return a field's values as a systemd date or time component: '*', '00/15', '09..17'."""
    if values == list(range(low, high + 1)):
        return "*"
    first, last = values[0], values[-1]
    step = values[1] - first if len(values) > 1 else 0
    if len(values) > 2 and values == list(range(first, last + 1, step)):
        if step == 1:
            return f"{first:02}..{last:02}"
        # 'first/step' runs to the component's end; 'first..last/step' stops at last.
        return f"{first:02}/{step}" if last + step > high else f"{first:02}..{last:02}/{step}"
    return ",".join(
        f"{run[0]:02}..{run[-1]:02}" if len(run) > 2 else ",".join(f"{v:02}" for v in run)
        for run in _runs(values)
    )


def _weekdays(values: list[int]) -> str:
    """Return cron's days of the week (Sunday 0) as systemd names them, '' for every day."""
    monday_first = sorted((day - 1) % 7 for day in values)
    if len(monday_first) == len(WEEKDAYS):
        return ""
    return ",".join(
        f"{WEEKDAYS[run[0]]}..{WEEKDAYS[run[-1]]}"
        if len(run) > 2
        else ",".join(WEEKDAYS[day] for day in run)
        for run in _runs(monday_first)
    )


def _runs(values: list[int]) -> list[list[int]]:
    """Return sorted ``values`` cut into runs of consecutive numbers."""
    runs: list[list[int]] = []
    for value in values:
        if runs and runs[-1][-1] == value - 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return runs
