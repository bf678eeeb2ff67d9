"""What schedule= (a program run at set times) becomes in each export format."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from djsupervisor import schedules
from djsupervisor.export.arguments import parse
from djsupervisor.export.common import Export, Target
from djsupervisor.export.compose import compose
from djsupervisor.export.kubernetes import CRONJOB_NAME_ROOM, kubernetes
from djsupervisor.export.model import Service
from djsupervisor.export.procfile import procfile
from djsupervisor.export.systemd import systemd
from djsupervisor.export.timers import as_cron, on_calendar
from djsupervisor.export.writer import export, render
from djsupervisor.options import Options
from djsupervisor.schedules import parse_schedule
from tests.exporting import project_to_export

from .needs import require

yaml = pytest.importorskip("yaml")

TARGET = Target("mysite", "mysite:1", "/app", "python", "/out", zone="Europe/Riga")
ITERATIONS = 12  # elapses compared with systemd's for each schedule
TOOL_TIMEOUT = 60  # seconds


def service(name: str, schedule: str | None, *argv: str, **options: Any) -> Service:
    """Return a program as the export sees it: scheduled, it is a one-shot not started at once."""
    words = list(argv or ("python", "manage.py", name))
    options.setdefault("oneshot", bool(schedule))
    options.setdefault("autostart", not schedule)
    found = parse_schedule(schedule) if schedule else None
    directory = options.pop("directory", "/app")
    return Service(name, " ".join(words), words, directory, {}, {}, schedule=found, **options)


def rendered(done: Export) -> dict[str, str]:
    """Return the text of each file of an export, by name."""
    return {name: render(template, context) for name, (template, context, _) in done.files.items()}


@pytest.mark.parametrize(
    ("cron", "zone", "events"),
    [
        ("@daily", "Europe/Riga", ["*-*-* 00:00:00 Europe/Riga"]),
        ("@hourly", None, ["*-*-* *:00:00"]),
        ("@weekly", None, ["Sun *-*-* 00:00:00"]),
        ("@monthly", None, ["*-*-01 00:00:00"]),
        ("@yearly", "UTC", ["*-01-01 00:00:00 UTC"]),
        ("*/15 9-17 * * 1-5", None, ["Mon..Fri *-*-* 09..17:00/15:00"]),
        ("5/20 */6 * jan-jun sat,sun", None, ["Sat,Sun *-01..06-* 00/6:05/20:00"]),
        ("0 0 */2 * *", None, ["*-*-01/2 00:00:00"]),
        ("0,30 1,3,5-7 * 2,4 0,5,6", None, ["Fri..Sun *-02,04-* 01,03,05..07:00,30:00"]),
        ("0 12 * * 7", None, ["Sun *-*-* 12:00:00"]),  # 7 is Sunday, as 0
        ("10-40/10 * 1-21/10 * *", None, ["*-*-01..21/10 *:10..40/10:00"]),
        # Both days restricted: cron runs on either, systemd needs all of one event.
        ("0 9 1,15 * mon", None, ["*-*-01,15 09:00:00", "Mon *-*-* 09:00:00"]),
        ("0 0 13 * 5", "UTC", ["*-*-13 00:00:00 UTC", "Fri *-*-* 00:00:00 UTC"]),
        # A day written '*...' makes cron need both.
        ("0 0 */2 * 1", None, ["Mon *-*-01/2 00:00:00"]),
        ("0 0 1 * */2", None, ["Tue,Thu,Sat,Sun *-*-01 00:00:00"]),
    ],
)
def test_cron_is_systemds_calendar_events(cron: str, zone: str | None, events: list[str]) -> None:
    assert on_calendar(parse_schedule(cron), zone) == events


@pytest.mark.parametrize(
    ("every", "cron"),
    [
        ("every 1m", "* * * * *"),
        ("every 60s", "* * * * *"),
        ("every 5m", "*/5 * * * *"),
        ("every 30m", "*/30 * * * *"),
        ("every 60m", "0 * * * *"),
        ("every 2h", "0 */2 * * *"),
        ("every 12h", "0 */12 * * *"),
        ("every 24h", "0 0 * * *"),
        # No cron line keeps these apart by the same time each run.
        ("every 30s", None),
        ("every 90s", None),
        ("every 7m", None),
        ("every 45m", None),  # a day has 32 of them, an hour not a whole number
        ("every 90m", None),
        ("every 5h", None),
        ("every 48h", None),
    ],
)
def test_every_is_a_cron_line_where_cron_keeps_its_rhythm(every: str, cron: str | None) -> None:
    if cron is None:
        with pytest.raises(ValueError, match="a CronJob's cron line has no such period"):
            as_cron(parse_schedule(every))
    else:
        assert as_cron(parse_schedule(every)) == cron


def systemd_elapses(events: list[str], base: float) -> list[float]:
    """Return the first ITERATIONS times after ``base`` a timer with ``events`` elapses.

    Each event must be written as systemd writes it itself (no 'Original
    form' line): what a reader of the unit sees is what systemd takes.
    """
    stamp = datetime.fromtimestamp(base, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    tool = ["systemd-analyze", "calendar", f"--iterations={ITERATIONS}", f"--base-time={stamp}"]
    done = subprocess.run(
        [*tool, *events],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
        env={**os.environ, "TZ": "UTC"},  # its own zone: the elapses are printed in UTC
    )
    assert done.returncode == 0, done.stderr
    assert "Original form" not in done.stdout, done.stdout
    found = re.findall(r"(?:Next elapse|Iter\. #\d+): \w{3} (\S+ \S+) UTC", done.stdout)
    assert len(found) == ITERATIONS * len(events), done.stdout
    return sorted({utc(text) for text in found})[:ITERATIONS]


def our_elapses(cron: str, zone: str, base: float, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Return when djsupervisor runs the schedule, read in ``zone``, after ``base``."""
    monkeypatch.setattr(schedules, "local_zone", lambda: ZoneInfo(zone))  # undone after the test
    schedule = parse_schedule(cron)
    times = [base]
    for _ in range(ITERATIONS):
        times.append(schedule.next_after(times[-1], anchor=base))
    return times[1:]


def utc(text: str) -> float:
    """Return the time ``text`` ('2026-04-01 00:00:00') names in UTC, since the epoch."""
    return datetime.fromisoformat(f"{text}+00:00").timestamp()


@pytest.mark.parametrize(
    "cron",
    [
        "@daily",
        "@hourly",
        "@weekly",
        "@monthly",
        "*/15 9-17 * * 1-5",
        "5/20 */6 * * sat,sun",
        "0 0 */2 * *",
        "30 4 31 * *",
        "0 9 1,15 * mon",  # either day
        "0 0 13 * 5",
        "0 0 */2 * 1",  # both days
        "0,30 1,3,5-7 * 2,4,6,8,10,12 0,5,6",
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "Europe/Riga", "America/New_York", "Asia/Kolkata"])
def test_systemd_elapses_when_djsupervisor_runs_it(
    cron: str, zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timer's events, read by systemd itself, come when djsupervisor's schedule does."""
    require(shutil.which("systemd-analyze"), "systemd-analyze")
    # After March's clock change; none of the times compared is one a clock change skips
    # or repeats (the next test).
    base = utc("2026-04-01 00:00:00")
    events = on_calendar(parse_schedule(cron), None if zone == "UTC" else zone)
    assert systemd_elapses(events, base) == our_elapses(cron, zone, base, monkeypatch)


def test_systemd_skips_a_time_the_clock_jumps_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """As docs/exporting.rst says: a time the clock skips is none to systemd; cron runs it."""
    require(shutil.which("systemd-analyze"), "systemd-analyze")
    base = utc("2026-03-28 00:00:00")
    events = on_calendar(parse_schedule("0 3 * * *"), "Europe/Riga")
    ours = our_elapses("0 3 * * *", "Europe/Riga", base, monkeypatch)
    theirs = systemd_elapses(events, base)
    assert ours[1] == utc("2026-03-29 01:00:00")  # 04:00 summer time, right after the jump
    assert [ours[0], *ours[2:]] == theirs[: ITERATIONS - 1]
    # October's 03:00 comes twice: each runs it once, at the first.
    base = utc("2026-10-24 12:00:00")
    assert systemd_elapses(events, base) == our_elapses(
        "0 3 * * *", "Europe/Riga", base, monkeypatch
    )


def test_a_scheduled_program_is_a_timer_and_its_oneshot_service() -> None:
    migrate = service("migrate", None, oneshot=True)
    report = service("report", "0 9 1,15 * mon", depends_on=[("migrate", "done")])
    files = rendered(systemd([migrate, report], TARGET))
    assert sorted(files) == [
        "mysite-migrate.service",
        "mysite-report.service",
        "mysite-report.timer",
        "mysite.target",
    ]
    timer = files["mysite-report.timer"]
    assert "\n[Timer]\nOnCalendar=*-*-01,15 09:00:00 Europe/Riga\n" in timer
    assert "\nOnCalendar=Mon *-*-* 09:00:00 Europe/Riga\nAccuracySec=1s\n" in timer
    assert "\nPartOf=mysite.target\n" in timer
    assert timer.endswith("\n[Install]\nWantedBy=mysite.target\n")
    unit = files["mysite-report.service"]
    # Inactive after each run, for its timer to start it again; restarted by nothing else.
    assert "\nType=oneshot\nExecStart=" in unit
    assert "RemainAfterExit" not in unit
    assert "\nRestart=no\n" in unit
    assert "\nRequires=mysite-migrate.service\nAfter=mysite-migrate.service\n" in unit
    assert "[Install]" not in unit  # started by its timer alone
    # The target starts the timer, not the service: no run at the project's start.
    target = files["mysite.target"]
    assert "\nWants=mysite-migrate.service mysite-report.timer\n" in target
    # The one-shot that is not scheduled is as before.
    assert "\nType=oneshot\nRemainAfterExit=yes\n" in files["mysite-migrate.service"]


def test_an_every_schedule_is_a_timer_from_each_start() -> None:
    files = rendered(systemd([service("tick", "every 2s")], TARGET))
    timer = files["mysite-tick.timer"]
    assert "\n[Timer]\nOnActiveSec=2s\nOnUnitActiveSec=2s\nAccuracySec=1ms\n" in timer
    assert "OnCalendar" not in timer


def test_each_process_of_a_scheduled_numprocs_program_has_its_timer() -> None:
    tick = service("tick", "every 10m", "run", "--slot", "%i", numprocs=2)
    tick.template_command = "run --slot \0"
    files = rendered(systemd([tick], TARGET))
    assert {"mysite-tick@.service", "mysite-tick@.timer"} <= set(files)
    assert "\nWants=mysite-tick@0.timer mysite-tick@1.timer\n" in files["mysite.target"]


def test_systemd_says_a_zone_it_cannot_name() -> None:
    unzoned = Target("mysite", "mysite:1", "/app", "python", "/out")
    done = systemd([service("report", "0 3 * * *"), service("tick", "every 5m")], unzoned)
    assert "\nOnCalendar=*-*-* 03:00:00\n" in rendered(done)["mysite-report.timer"]
    assert done.warnings == [
        "program 'report': schedule=0 3 * * * is read in this machine's time zone, which has "
        "no name: systemd reads it in the server's; set TIME_ZONE in the settings"
    ]
    assert systemd([service("report", "0 3 * * *")], TARGET).warnings == []


@pytest.mark.parametrize("numprocs", [1, 2])
def test_systemd_accepts_the_timers_and_their_services(tmp_path: Path, numprocs: int) -> None:
    require(shutil.which("systemd-analyze"), "systemd-analyze")
    command = f"{sys.executable} -c pass"
    migrate = Service("migrate", command, command.split(), str(tmp_path), {}, {}, oneshot=True)
    scheduled = [
        service(name, schedule, *command.split(), directory=str(tmp_path), numprocs=numprocs,
                template_command=command, depends_on=[("migrate", "done")])
        for name, schedule in (("report", "0 9 1,15 * mon"), ("tick", "every 2s"))
    ]  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    for name, text in rendered(systemd([migrate, *scheduled], TARGET)).items():
        (out / name).write_text(text)
    units = sorted(str(path) for path in out.iterdir())
    instances = [
        f"{out}/mysite-{name}@{n}.{kind}"
        for name in ("report", "tick")
        for kind in ("service", "timer")
        for n in range(numprocs)
        if numprocs > 1
    ]
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=false", *units, *instances],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT,
    )
    said = verified.stdout + verified.stderr
    assert verified.returncode == 0, said
    assert not any(word in said.lower() for word in ("ignoring", "unknown", "invalid", "error"))


def manifests(
    services: list[Service], target: Target = TARGET
) -> tuple[dict[tuple[str, str], Any], list[str]]:
    """Return the Kubernetes export's objects by (kind, name), and its warnings."""
    done = kubernetes(services, target)
    documents = [d for d in yaml.safe_load_all(rendered(done)["kubernetes.yaml"]) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in documents}, done.warnings


def test_a_scheduled_program_is_a_cronjob() -> None:
    migrate = service("migrate", None, "python", "manage.py", "migrate", oneshot=True)
    report = service("report", "0 9 1,15 * mon", depends_on=[("migrate", "done")])
    report.secrets = {"API_KEY": "k"}
    objects, warnings = manifests([migrate, report])
    assert {kind for kind, name in objects if name == "mysite-report"} == {"CronJob"}
    spec = objects["CronJob", "mysite-report"]["spec"]
    assert spec["schedule"] == "0 9 1,15 * 1"  # cron, days of the week as robfig/cron reads them
    assert spec["timeZone"] == "Europe/Riga"  # the project's TIME_ZONE
    assert spec["concurrencyPolicy"] == "Forbid"  # never two runs at once
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0  # a failed run is not run again; the schedule goes on
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["command"] == ["python", "manage.py", "report"]
    assert container["envFrom"] == [{"secretRef": {"name": "mysite-report-env"}}]
    assert [wait["name"] for wait in pod["initContainers"]] == ["wait-for-migrate"]
    assert ("Secret", "mysite-report-env") in objects
    assert warnings == []  # autostart does not apply: no 'a Job runs'


def test_an_every_schedule_is_a_cronjob_where_cron_keeps_its_rhythm() -> None:
    objects, warnings = manifests([service("tick", "every 5m"), service("odd", "every 90s")])
    spec = objects["CronJob", "mysite-tick"]["spec"]
    assert (spec["schedule"], spec["timeZone"]) == ("*/5 * * * *", "Etc/UTC")
    assert not [name for _, name in objects if name == "mysite-odd"]
    assert warnings == [
        "program 'odd': schedule=every 90s cannot be expressed in Kubernetes; a CronJob's cron "
        "line has no such period (minutes that divide an hour, hours that divide a day): it has "
        "no CronJob"
    ]


def test_a_cronjob_has_a_name_its_jobs_can_be_named_after() -> None:
    name = "clear_expired_sessions_of_every_site_every_night"
    objects, warnings = manifests([service(name, "@daily")])
    ((kind, resource),) = objects
    assert kind == "CronJob" and len(resource) == CRONJOB_NAME_ROOM
    assert resource.startswith("mysite-clear-expired-sessions")
    assert warnings == [
        f"program {name!r} is named {resource!r} in Kubernetes: names take lower case letters, "
        "digits and '-', a CronJob's 52 at most"
    ]


def test_kubernetes_says_a_zone_it_cannot_name() -> None:
    unzoned = Target("mysite", "mysite:1", "/app", "python", "/out")
    objects, warnings = manifests([service("report", "0 3 * * *")], unzoned)
    assert "timeZone" not in objects["CronJob", "mysite-report"]["spec"]
    assert warnings == [
        "program 'report': schedule=0 3 * * * is read in this machine's time zone, which has "
        "no name: Kubernetes reads it in the cluster's (UTC mostly); set TIME_ZONE in the "
        "settings"
    ]


def test_a_dependency_on_a_scheduled_program_is_said() -> None:
    report = service("report", "@daily")
    web = service("web", None, "python", "manage.py", "work", depends_on=[("report", "done")])
    _, warnings = manifests([report, web])
    assert warnings == [
        "program 'web': depends_on=report:done cannot be expressed in Kubernetes; it runs on "
        "its schedule"
    ]
    done = compose([report, web], TARGET)
    web_service = yaml.safe_load(rendered(done)["compose.yaml"])["services"]["web"]
    assert "depends_on" not in web_service
    assert (
        "program 'web': depends_on=report:done cannot be expressed in Compose; report runs on a "
        "schedule, which Compose has not: it is left out"
    ) in done.warnings


def test_kubernetes_accepts_the_cronjobs(tmp_path: Path) -> None:
    validate = pytest.importorskip("kubernetes_validate")
    migrate = service("migrate", None, "python", "manage.py", "migrate", oneshot=True)
    report = service("report", "0 9 1,15 * mon", depends_on=[("migrate", "done")])
    path = tmp_path / "kubernetes.yaml"
    done = kubernetes([migrate, report, service("tick", "every 1m")], TARGET)
    path.write_text(rendered(done)["kubernetes.yaml"])
    validated = subprocess.run(
        [sys.executable, "-m", validate.__name__, "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    said = validated.stdout + validated.stderr
    assert validated.returncode == 0, said
    assert "cronjob/mysite-report" in said and "cronjob/mysite-tick" in said


PROCFILE_INSTEAD = "the platform's scheduler (Heroku Scheduler, a crontab)"
COMPOSE_INSTEAD = "the host's crontab running it in the image (docker run --rm)"


@pytest.mark.parametrize(
    ("fmt", "name", "instead", "file"),
    [
        (procfile, "a Procfile", PROCFILE_INSTEAD, "Procfile"),
        (compose, "Compose", COMPOSE_INSTEAD, "compose.yaml"),
    ],
    ids=["procfile", "compose"],
)
def test_formats_without_a_scheduler_leave_it_out_saying_what_to_use(
    fmt: Any, name: str, instead: str, file: str
) -> None:
    # Its other options (user=) are not said: it is not there.
    report = service("report", "0 3 * * *", user="nobody")
    done = fmt([service("worker", None), report], TARGET)
    assert "report" not in rendered(done)[file]
    assert done.warnings == [
        f"program 'report': schedule=0 3 * * * cannot be expressed in {name}; it is left out: "
        "run it with a systemd timer or a Kubernetes CronJob (export systemd or kubernetes) or "
        f"{instead}"
    ]


CONF = """
[program:web]
command=gunicorn w

[program:clearsessions]
command={{ PYTHON }} manage.py clearsessions
schedule=@daily
"""


@pytest.fixture
def project(tmp_path: Path, short_dir: Path) -> Iterator[Path]:
    # Django makes TIME_ZONE the process's zone (TZ), as in manage.py; put back after.
    with project_to_export(tmp_path / "shop", CONF, short_dir, TIME_ZONE="Asia/Tokyo") as path:
        yield path


def test_the_export_reads_the_schedule_and_the_projects_time_zone(project: Path) -> None:
    out = project.parent / "out"
    parsed = parse(["systemd", "--output", str(out), "--workdir", "/srv/shop"], "shop")
    export(Options(project_dir=str(project)), parsed)
    timer = (out / "shop-clearsessions.timer").read_text()
    assert "\nOnCalendar=*-*-* 00:00:00 Asia/Tokyo\n" in timer
    parsed = parse(["kubernetes", "--output", str(out), "--image", "shop:1"], "shop")
    export(Options(project_dir=str(project)), parsed)
    documents = yaml.safe_load_all((out / "kubernetes.yaml").read_text())
    (cronjob,) = [d for d in documents if d and d["kind"] == "CronJob"]
    assert (cronjob["spec"]["schedule"], cronjob["spec"]["timeZone"]) == ("0 0 * * *", "Asia/Tokyo")


DOCS = Path(__file__).parents[1] / "docs" / "exporting.rst"
DOCS_SETTINGS = "mysite.settings"  # the documented project's settings module
DOCS_ZONE = "Europe/Riga"  # and its TIME_ZONE


def code_blocks(text: str) -> list[str]:
    """Return the text of each ``code-block`` of a reStructuredText page, dedented."""
    blocks = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.lstrip().startswith(".. code-block::"):
            indent = len(line) - len(line.lstrip()) + 3
            body = []
            for following in lines[number + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) < indent:
                    break
                body.append(following[indent:])
            blocks.append("\n".join(body).strip("\n") + "\n")
    return blocks


def documented(blocks: list[str], start: str) -> str:
    (found,) = [block for block in blocks if block.startswith(start)]
    return found


@pytest.fixture
def documented_project(tmp_path: Path, short_dir: Path) -> Iterator[tuple[Path, list[str]]]:
    """Return the project docs/exporting.rst exports its scheduled programs from, and the blocks."""
    blocks = code_blocks(DOCS.read_text())
    conf = documented(blocks, "[program:clearsessions]")
    with project_to_export(tmp_path / "mysite", conf, short_dir, TIME_ZONE=DOCS_ZONE) as path:
        yield path, blocks


def export_documented(project: Path, fmt: str, *args: str) -> tuple[Path, list[str]]:
    out = project / "deploy" / fmt
    parsed = parse([fmt, "--output", str(out), "--settings", DOCS_SETTINGS, *args], "mysite")
    _, warnings = export(Options(project_dir=str(project)), parsed)
    return out, warnings


def test_the_documented_timer_and_cronjob_are_what_the_export_writes(
    documented_project: tuple[Path, list[str]],
) -> None:
    project, blocks = documented_project
    server = ("--workdir", "/srv/mysite", "--python", "/srv/mysite/.venv/bin/python")
    out, _ = export_documented(project, "systemd", *server)
    for name in ("mysite-digest.timer", "mysite-digest.service"):
        text = (out / name).read_text()
        assert documented(blocks, f"# {name.removesuffix('.service')}:") == text, name
    out, _ = export_documented(project, "kubernetes", "--image", "mysite:1.0")
    cronjob = documented(blocks, "apiVersion: batch/v1\nkind: CronJob\n")
    assert f"---\n{cronjob}" in (out / "kubernetes.yaml").read_text()
    # What a Procfile and Compose say instead.
    said = documented(blocks, "djsupervisor: warning: program 'clearsessions'").splitlines()
    warnings = [
        warning for fmt in ("procfile", "compose") for warning in export_documented(project, fmt)[1]
    ]
    assert [line.removeprefix("djsupervisor: warning: ") for line in said] == [
        warning for warning in warnings if warning.startswith("program 'clearsessions': schedule=")
    ]


@pytest.mark.parametrize(
    ("cron", "line"),
    [
        ("0 3 * * 7", "0 3 * * 0"),  # robfig/cron knows no 7
        ("0 3 * * 5-7", "0 3 * * 0,5,6"),
        ("0 3 * * */2", "0 3 * * */2"),
        ("0 3 */2 * *", "0 3 */2 * *"),
        ("0 3 1,15 * MON", "0 3 1,15 * 1"),  # both restricted: either day, as in cron
    ],
)
def test_kubernetes_gets_a_cron_line_it_reads_as_cron_does(cron: str, line: str) -> None:
    assert as_cron(parse_schedule(cron)) == line


@pytest.mark.parametrize("cron", ["0 3 */2 * MON", "0 3 1 * */2"])
def test_a_stepped_day_beside_the_other_day_has_no_cronjob(cron: str) -> None:
    with pytest.raises(ValueError, match="as either day, where cron means both"):
        as_cron(parse_schedule(cron))
