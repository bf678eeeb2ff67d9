"""The Compose export runs under Docker: docs/exporting.rst's "Deploy it", followed for real.

The example project is exported in production (gunicorn) without ``--image``:
``docker-compose up`` builds its image from the exported Dockerfile, on a
Debian base image built here (no registry), with the project's packages from
wheels built on this machine (the containers cannot reach the package index).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..docker import (
    ComposeProject,
    base_image,
    copy_example,
    docker_daemon,
    only_in_the_newest_full_environment,
    run,
    wheels,
)
from ..support import free_port, run_example_task
from .conftest import Project

pytestmark = pytest.mark.integration
pytest.importorskip("django_tasks_db", reason="the example needs the [example] extra")
only_in_the_newest_full_environment()
__all__ = ["base_image", "docker_daemon", "wheels"]  # the fixtures this module uses

START = 240.0  # seconds: building the image and starting the services, on a loaded machine
WORKER_GRACE = 60  # seconds: the db_worker preset's stopwaitsecs, its stop_grace_period
# How the project installs its packages in the image: the wheels built on this
# machine, as a project without access to the index would (docs: Deploy it).
REQUIREMENTS = "--no-index\n--find-links wheels\ndjsupervisor[example]\n"
DOCKERIGNORE = "deploy/compose/*.env\n.env\n.git\ndata/*.sqlite3\n"


@pytest.fixture
def deployed(
    project: Project, base_image: str, wheels: Path
) -> Iterator[tuple[Project, ComposeProject, str]]:
    """Export the example as Compose (in production, no --image); remove all it made after."""
    # The worker starts once the page that hands it work is served.
    copy_example(project.path, worker_waits_for_web=True)
    shutil.copytree(wheels, project.path / "wheels")
    project.write("requirements.txt", REQUIREMENTS)
    project.write(".dockerignore", DOCKERIGNORE)
    project.env.update(DJANGO_DEBUG="0", PORT=str(free_port()))
    name = f"djs-{uuid.uuid4().hex[:10]}"
    exported = project.run(
        *("export", "compose", "--output", "deploy/compose", "--name", name),
        *("--base-image", base_image),
    )
    assert exported.returncode == 0, exported.stderr
    compose = ComposeProject(project.path / "deploy" / "compose", name, (f"{name}:latest",))
    try:
        yield project, compose, exported.stderr
    finally:
        compose.remove()


def test_compose_up_serves_the_example_and_down_stops_it(
    deployed: tuple[Project, ComposeProject, str],
) -> None:
    project, compose, warnings = deployed
    port = project.env["PORT"]
    assert (
        f"listen=127.0.0.1:{port}: nothing holds its socket in its container: "
        f"gunicorn binds 0.0.0.0:{port} itself in Compose" in warnings
    )
    since = time.time()
    compose.compose("up", "-d", timeout=START)
    base = f"http://127.0.0.1:{port}"
    what = f"the page on the published port {port}"
    assert run_example_task(base, "one two three", what, timeout=START)["words"] == 3

    started = time.monotonic()
    compose.compose("down", timeout=WORKER_GRACE + 60)
    stopped_in = time.monotonic() - started
    assert not compose.ids("container"), "docker-compose down leaves no container"
    seen = events(compose.name, since)
    # migrate ran to completion before web started; the worker after web was healthy.
    assert seen.index(("migrate", "die", "0")) < seen.index(("web", "start", ""))
    assert seen.index(("web", "health_status: healthy", "")) < seen.index(
        ("db_worker", "start", "")
    )
    # Each stopped on its signal within its grace period: none was killed (137).
    dead = {service: code for service, action, code in seen if action == "die"}
    assert dead == {"migrate": "0", "web": "0", "db_worker": "0"}, seen
    assert stopped_in < WORKER_GRACE, f"docker-compose down took {stopped_in:.0f} s"


def events(project: str, since: float) -> list[tuple[str, str, str]]:
    """Return the project's containers' events since then: (service, action, exit code)."""
    listed = run(
        *("docker", "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}"),
        *("--filter", f"label=com.docker.compose.project={project}"),
        *("--filter", "type=container", "--format", "{{json .}}"),
    ).stdout
    seen = []
    for line in listed.splitlines():
        event = json.loads(line)
        labels = event["Actor"]["Attributes"]
        service = labels.get("com.docker.compose.service", "")
        seen.append((service, event["Action"], labels.get("exitCode", "")))
    return seen
