"""The example project from README.rst: a web page that hands work to a worker."""

from __future__ import annotations

import http.cookiejar
import json
import re
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from ..support import REPO, free_port, wait_for
from .conftest import Project

pytestmark = pytest.mark.integration
pytest.importorskip("django_tasks_db", reason="the example needs the [example] extra")


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
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def page() -> str | None:
        try:
            body: bytes = opener.open(base + "/", timeout=5).read()
            return body.decode()
        except OSError:
            return None

    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', wait_for(page, "the page"))
    assert token
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token[1], "text": "one two three"}
    ).encode()
    opener.open(base + "/", data=form, timeout=5)
    result_id = re.search(r"/result/([0-9a-f-]+)/", page() or "")
    assert result_id, "the page lists the enqueued task"

    def result() -> dict[str, object] | None:
        answer = json.loads(opener.open(f"{base}/result/{result_id[1]}/", timeout=5).read())
        return answer if answer["status"] == "SUCCESSFUL" else None

    done = wait_for(result, "the worker to run the task")
    assert done["return_value"] == {"words": 3, "pid": pids["db_worker"]}
