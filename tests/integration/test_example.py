"""The example project from README.rst: a web page that hands work to a worker."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from ..support import REPO, WAIT, free_port, http_get, run_example_task, wait_for
from .conftest import Project
from .test_foreground import Lines

pytestmark = pytest.mark.integration
pytest.importorskip("django_tasks_db", reason="the example needs the [example] extra")

RESTARTS = 2  # of web in production, under load


@pytest.fixture
def example(project: Project, tmp_path: Path) -> Project:
    # A copy, so the test never touches the repository's example database.
    shutil.rmtree(project.path)
    shutil.copytree(
        REPO / "example_project", project.path, ignore=shutil.ignore_patterns("db.sqlite3")
    )
    project.env["PORT"] = str(free_port())
    return project


@pytest.mark.smoke
def test_web_enqueues_and_worker_runs_the_task(example: Project) -> None:
    # No migrate beforehand: the example's one-shot migrate program runs it first.
    started = example.run("--daemonize")
    assert started.returncode == 0, started.stderr
    assert "done" in example.run("status", "migrate").stdout
    pids = example.wait_running("web", "db_worker")
    base = f"http://127.0.0.1:{example.env['PORT']}"
    assert run_example_task(base, "one two three") == {"words": 3, "pid": pids["db_worker"]}


def test_in_production_web_restarts_on_its_held_socket_refusing_nothing(
    example: Project,
) -> None:
    # DEBUG off: gunicorn with listen=, as a deploy runs it (docs: zero-downtime).
    example.env.update(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="example-test-key")
    started = example.run("--daemonize")
    assert started.returncode == 0, started.stderr
    first = example.wait_running("web")["web"]
    environ = Path(f"/proc/{first}/environ").read_bytes().split(b"\0")
    assert b"LISTEN_FDS=1" in environ and f"LISTEN_PID={first}".encode() in environ
    port = int(example.env["PORT"])
    answers: list[str | None] = []
    done = threading.Event()

    def ask() -> None:  # about 50 requests a second, each on a new connection
        while not done.wait(0.02):
            answers.append(http_get(port))

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    try:
        for _ in range(RESTARTS):
            restarted = example.run("restart", "web")
            assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    finally:
        done.set()
        asking.join(WAIT)
    refused = answers.count(None)
    assert refused == 0, f"{refused} of {len(answers)} requests got no page during the restarts"
    assert len(answers) > RESTARTS * 10
    assert example.wait_running("web")["web"] != first


def test_the_daily_loop_in_the_foreground_follows_the_graph(example: Project) -> None:
    command = example.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    output.wait_for(r"^supervisord +\| db_worker is running")
    output.wait_for(r"^autoreload +\| watching ")
    port = example.env["PORT"]

    def events(since: int) -> list[str]:
        """Return the programs' starts, stops and the one-shot's runs after line ``since``."""
        found = re.compile(r"^supervisord +\| (\w+ (?:started|stopped|exited))")
        return [m[1] for line in output.lines[since:] if (m := found.match(line))]

    # A view: the worker stops before the web it depends on; migrate stays done.
    mark = len(output.lines)
    with (example.path / "jobs" / "views.py").open("a") as views:
        views.write("\n# edited\n")
    output.wait_for(r"^supervisord +\| db_worker is running", count=2)
    assert events(mark) == ["db_worker stopped", "web stopped", "web started", "db_worker started"]

    # A migration: migrate runs once, after both stopped and before the web starts.
    mark = len(output.lines)
    migrations = example.path / "jobs" / "migrations"
    migrations.mkdir()
    (migrations / "__init__.py").write_text("")
    (migrations / "0001_initial.py").write_text(MIGRATION)
    output.wait_for(r"^supervisord +\| db_worker is running", count=3)
    assert events(mark) == [
        "db_worker stopped",
        "web stopped",
        "migrate started",
        "migrate exited",
        "web started",
        "db_worker started",
    ]
    assert "Applying jobs.0001_initial... OK" in "\n".join(output.lines[mark:])

    # A template: the next request shows it, once the web has restarted.
    template = example.path / "jobs" / "templates" / "jobs" / "index.html"
    template.write_text(template.read_text().replace("</body>", "<p>edited template</p></body>"))
    wait_for(lambda: "edited template" in (http_get(int(port)) or "") or None, "the edit")
    # The worker restarts after the web: let it settle before Ctrl-C, so the
    # stop is the worker's usual one, not one at its start-up.
    output.wait_for(r"^supervisord +\| db_worker is running", count=4)
    command.send_signal(signal.SIGINT)
    assert command.wait(WAIT) == 0


MIGRATION = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = []
    operations = []
"""
