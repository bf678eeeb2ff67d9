"""Scheduled programs on a real supervisord: when each run starts, never two at once, start now."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from ..support import wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

WATCHED = 10.0  # seconds an every-2s job is watched
# A job that appends when it starts and ends to a file, taking SECONDS.
STAMPING = (
    "{{{{ PYTHON }}}} -c \"import sys, time; f = open(sys.argv[1], 'a'); "
    "f.write('start %f\\\\n' % time.time()); f.flush(); time.sleep({seconds}); "
    "f.write('end %f\\\\n' % time.time())\" {{{{ PROJECT_DIR }}}}/{name}.stamps"
)


def stamps(project: Project, name: str, kind: str) -> list[float]:
    path = project.path / f"{name}.stamps"
    text = path.read_text() if path.exists() else ""
    return [float(line.split()[1]) for line in text.splitlines() if line.startswith(kind)]


def schedule_of(project: Project, name: str) -> dict[str, object]:
    (state,) = json.loads(project.run("status", "--json", name).stdout)
    assert isinstance(state["schedule"], dict)
    return state["schedule"]


def test_every_2s_runs_in_rhythm_and_a_longer_job_never_overlaps_itself(
    project: Project,
) -> None:
    project.write(
        "supervisord.conf",
        f"[program:quick]\ncommand={STAMPING.format(seconds=0.1, name='quick')}\n"
        "schedule=every 2s\n\n"
        f"[program:long]\ncommand={STAMPING.format(seconds=2.5, name='long')}\n"
        "schedule=every 1s\n",
    )
    assert project.run("-d").returncode == 0
    time.sleep(WATCHED)
    starts = stamps(project, "quick", "start")
    assert 3 <= len(starts) <= 6, starts
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(1.5 <= gap <= 2.6 for gap in gaps), gaps
    long_starts, long_ends = stamps(project, "long", "start"), stamps(project, "long", "end")
    assert len(long_starts) >= 2
    for ended, next_start in zip(long_ends, long_starts[1:], strict=False):
        assert next_start >= ended  # each run after the previous one ended
    assert schedule_of(project, "long")["skipped"]  # the due times it was still going
    assert schedule_of(project, "quick")["failures"] == 0


def test_start_runs_a_nightly_job_now_and_logs_show_each_run(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[program:nightly]\ncommand=sh -c 'echo report sent; exit 2'\nschedule=0 3 * * *\n",
    )
    assert project.run("-d").returncode == 0
    status = project.run("status", "nightly").stdout
    assert "next run " in status and " 03:00:00" in status
    assert project.processes()["nightly"]["statename"] == "STOPPED"  # not run at launch
    started = project.run("start", "nightly")
    assert started.returncode == 1  # the run failed: start says so
    assert started.stdout.strip() == "nightly: ERROR (exited with status 2)"
    logs = project.run("logs", "nightly").stdout
    assert "run 1 starts (asked for)" in logs and "report sent" in logs
    assert logs.index("run 1 starts") < logs.index("report sent")
    schedule = schedule_of(project, "nightly")
    assert (schedule["runs"], schedule["failures"]) == (1, 1)
    assert schedule["last_result"] == "exited with status 2"
    assert project.run("stop", "nightly").stdout.strip() == "nightly: stopped; no run until started"
    assert "stopped: no run until started" in project.run("status", "nightly").stdout


def test_a_malformed_schedule_is_a_check_error_and_nothing_starts(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[program:job]\ncommand=sleep 1\nschedule=0 25 * * *\n",
    )
    check = project.run_manage("check")
    assert check.returncode == 1
    assert "djsupervisor.E018" in check.stderr
    assert "schedule='0 25 * * *' has 25 in its hour field ('25'); use 0-23" in check.stderr
    refused = project.run("-d")
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert project.config_or_none() is None  # nothing written, nothing started


def test_update_takes_a_changed_schedule_at_once(project: Project) -> None:
    job = STAMPING.format(seconds=0, name="job")
    project.write("supervisord.conf", f"[program:job]\ncommand={job}\nschedule=every 1h\n")
    assert project.run("-d").returncode == 0
    project.write("supervisord.conf", f"[program:job]\ncommand={job}\nschedule=every 1s\n")
    assert project.run("update").returncode == 0  # no group changed: only the schedule
    wait_for(lambda: stamps(project, "job", "start") or None, "a run by the new schedule")


def test_after_a_reload_the_schedule_goes_on(project: Project) -> None:
    job = STAMPING.format(seconds=0, name="job")
    project.write("supervisord.conf", f"[program:job]\ncommand={job}\nschedule=every 1s\n")
    assert project.run("-d").returncode == 0
    wait_for(lambda: stamps(project, "job", "start") or None, "a first run")
    assert project.run("reload").returncode == 0
    reloaded = time.time()
    wait_for(
        lambda: [t for t in stamps(project, "job", "start") if t > reloaded] or None,
        "a run after the reload",
    )
    assert project.processes()["job"]["statename"] in ("EXITED", "RUNNING", "STARTING")
