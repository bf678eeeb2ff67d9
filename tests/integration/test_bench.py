"""Smoke runs of the bench scripts with tiny sizes, so that they never rot.

Only that they run and print their table is checked: timings are never
asserted in the test suite.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from ..needs import TOOLS_REQUIRED
from ..support import REPO

pytestmark = pytest.mark.integration

BENCH_TIMEOUT = 300  # seconds


@pytest.mark.parametrize(
    ("script", "tiny", "rows"),
    [
        (
            "autoreload",
            ["--edits", "2", "--idle", "1", "--burst", "20", "--tree", "3", "--settle", "0.5"],
            [
                "edit -> new HTTP answer",
                "idle watcher CPU",
                "restarts after rewriting 20",
                "djsupervisor, chain db -> migrate -> web -> worker",
                "Every restart of the chain, checked",
            ],
        ),
        ("control", ["--runs", "1"], ["manage.py supervisor status", "manage.py help"]),
        (
            "readiness",
            ["--runs", "1", "--crash-seconds", "3"],
            ["honcho, wait loops", "floor (one script)", "raw supervisord"],
        ),
        ("console", ["--programs", "5", "--lines", "20"], ["djsupervisor  100/100", "honcho"]),
        (
            "admin",
            ["--programs", "4", "--talkers", "2", "--runs", "2"],
            ["5 processes", "page refresh, server time", "manage.py supervisor status"],
        ),
        ("startup", ["--runs", "1"], ["supervisord -n (raw)", "honcho start", "Django twice"]),
        (
            "top",
            [
                "--programs",
                "4",
                "--talkers",
                "2",
                "--redraws",
                "2",
                "--seconds",
                "1",
                "--runs",
                "1",
            ],
            ["redraw, p95", "the view's CPU", "status --json / status"],
        ),
        (
            "scale",
            ["--apps", "2", "--programs", "2", "--runs", "1"],
            ["render and merge the config", "start until all 4 RUNNING", "status"],
        ),
        (
            "startstop",
            ["--runs", "1", "--programs", "1,2", "--settle", "0.2"],
            [
                "2 programs",
                "launch -> all spawned",
                "stop (SIGTERM) -> all gone",
                "stop (Ctrl-C) -> all gone",
                "launch -> first HTTP 200",
            ],
        ),
        (
            "memory",
            ["--runs", "1", "--settle", "0.2"],
            [
                "PSS per process",
                "autoreload watcher",
                "honcho, for web",
                "program: worker",
                "<= 2.5x honcho",
                "<= 1.2x honcho",
            ],
        ),
        (
            "schedule",
            ["--runs", "3", "--slow-dues", "4"],
            [
                "djsupervisor, every 1s ",
                "raw supervisord, loop + sleep 1",
                "djsupervisor, every 1s, 2.5 s job",
                "0 overlaps, 0 missed, p99 <= 250 ms",
                "timer thread",
            ],
        ),
        pytest.param(
            "restart",
            ["--rate", "50", "--restarts", "2", "--gap", "0.5", "--seconds", "3"],
            [
                "djsupervisor, listen=",
                "raw supervisord, --bind",
                "gunicorn alone, kill -HUP",
                "p99 during <= 2x p99 outside",
            ],
            # Skipped without gunicorn, except in CI (see tests/needs.py).
            marks=pytest.mark.skipif(
                importlib.util.find_spec("gunicorn") is None and not TOOLS_REQUIRED,
                reason="needs gunicorn (pip install gunicorn)",
            ),
        ),
        pytest.param(
            "restart",
            ["--tasks", "40", "--restarts", "2"],
            ["db_worker (djsupervisor.contrib.django_tasks)", "done once", "0 lost, 0 run twice"],
            # django-tasks-db needs Django 5.2 or later: not installed with Django 4.2.
            marks=pytest.mark.skipif(
                importlib.util.find_spec("django_tasks_db") is None,
                reason="needs django-tasks-db (Django 5.2 or later)",
            ),
            id="restart-tasks",
        ),
    ],
)
def test_bench_script_prints_its_table(script: str, tiny: list[str], rows: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, f"bench/{script}.py", *tiny],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=BENCH_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    for row in rows:
        assert row in done.stdout
