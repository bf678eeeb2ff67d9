"""The systemd units run under systemd: docs/exporting.rst's "Deploy it", followed for real.

The example project is exported in production (gunicorn) for a server where
it lives in /srv/mysite with its virtualenv in /srv/mysite/.venv
(``--workdir``, ``--python``), then installed in a container whose PID 1 is
systemd (a Debian base image built here, no registry), with its packages
from wheels built on this machine (the container cannot reach the index).
"""

from __future__ import annotations

import itertools
import json
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..docker import (
    SystemdContainer,
    copy_example,
    docker_daemon,
    only_in_the_newest_full_environment,
    systemd_image,
    wheels,
)
from ..support import wait_for
from .conftest import Project

pytestmark = pytest.mark.integration
pytest.importorskip("django_tasks_db", reason="the example needs the [example] extra")
only_in_the_newest_full_environment()
__all__ = ["docker_daemon", "systemd_image", "wheels"]  # the fixtures this module uses

WORKDIR = "/srv/mysite"  # where the project is on the server (--workdir)
PYTHON = f"{WORKDIR}/.venv/bin/python"  # and its interpreter (--python)
UNITS = ("mysite-migrate.service", "mysite-web.service", "mysite-db_worker.service")
# A program on a schedule: its timer starts it every 2 s from the target's start.
TICK = "\n[program:tick]\ncommand=echo tick\nschedule=every 2s\n"
TICK_PERIOD = 2.0  # seconds
TICK_RUNS = 3  # runs seen, two gaps measured (and any run before them)
TICK_GAPS = (1.5, 2.6)  # seconds between two runs' lines: the issue's bounds for djsupervisor
START = 180.0  # seconds: migrate, then web until its check passes, then the worker
USER = "nobody"  # the programs' user= (their units' User=)
WORKER_GRACE = 60  # seconds: the db_worker preset's stopwaitsecs, its TimeoutStopSec=
PRODUCTION = "DJANGO_DEBUG=0\nDJANGO_SECRET_KEY=systemd-test-secret-4c1e\n"
# What a browser does with the example, run in the container (gunicorn binds
# its loopback): the page, a task handed to the worker through the form, its result.
CLIENT = """
import http.cookiejar, json, re, sys, time, urllib.parse, urllib.request
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
base = "http://127.0.0.1:8000"
page = opener.open(base + "/", timeout=5).read().decode()
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "text": "one two three"})
page = opener.open(base + "/", data=form.encode(), timeout=5).read().decode()
result = re.search(r"/result/([0-9a-f-]+)/", page)[1]
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    answer = json.loads(opener.open(f"{base}/result/{result}/", timeout=5).read())
    if answer["status"] == "SUCCESSFUL":
        print(json.dumps(answer))
        sys.exit(0)
    time.sleep(0.2)
sys.exit(f"the worker did not run the task: {answer}")
"""


@pytest.fixture
def deployed(
    project: Project, systemd_image: str, wheels: Path
) -> Iterator[tuple[SystemdContainer, Path, str]]:
    """Export the example as systemd units and install it all in a booted systemd container."""
    # The worker starts once the page that hands it work is served.
    copy_example(project.path, worker_waits_for_web=True)
    # Not root: every program runs as the server's nobody (systemd's User=),
    # which owns the SQLite database's directory.
    conf = project.path / "supervisord.conf"
    conf.write_text(conf.read_text() + TICK + f"\n[program:__overrides__]\nuser={USER}\n")
    production = project.path.parent / "production.env"
    production.write_text(PRODUCTION)
    project.env["DJANGO_DEBUG"] = "0"
    exported = project.run(
        *("export", "systemd", "--output", "deploy/systemd", "--name", "mysite"),
        *("--workdir", WORKDIR, "--python", PYTHON, "--env-file", str(production)),
    )
    assert exported.returncode == 0, exported.stderr
    output = project.path / "deploy" / "systemd"
    container = SystemdContainer.boot(systemd_image, f"djs-systemd-{uuid.uuid4().hex[:10]}")
    try:
        # The server: the project, its virtualenv from the wheels.
        container.exec("mkdir", "-p", WORKDIR)
        container.copy(f"{project.path}/.", WORKDIR)
        container.exec("chown", "-R", USER, f"{WORKDIR}/data")
        container.copy(wheels, "/tmp/wheels")
        container.exec("python3", "-m", "venv", f"{WORKDIR}/.venv")
        container.exec(
            *(PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check"),
            *("--no-index", "--find-links", "/tmp/wheels", "djsupervisor[example]"),
        )
        # The units; their environment files came with the project, where
        # EnvironmentFile= says: deploy/systemd below --workdir.
        for path in output.iterdir():
            if path.suffix in (".service", ".socket", ".timer", ".target"):
                container.copy(path, "/etc/systemd/system/")
        container.exec("systemctl", "daemon-reload")
        yield container, output, exported.stderr
    finally:
        container.remove()


def test_the_units_serve_the_example_in_order_and_stop(
    deployed: tuple[SystemdContainer, Path, str],
) -> None:
    container, output, warnings = deployed
    assert "ready" not in warnings, "the http check is the web unit's ExecStartPost="
    for env_file in output.glob("*.env"):
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600, env_file
        there = f"{WORKDIR}/deploy/systemd/{env_file.name}"
        assert container.exec("stat", "-c", "%a", there).stdout.strip() == "600"
    # The start returns once every unit has started (the target is ordered after them).
    container.exec("systemctl", "start", "mysite.target", timeout=START)
    state = {
        unit: container.show(unit, "ActiveState", "SubState", "Result", "ExecMainStatus")
        for unit in UNITS
    }
    assert all(shown["ActiveState"] == "active" for shown in state.values()), state
    assert state["mysite-migrate.service"]["ExecMainStatus"] == "0"
    for unit in UNITS[1:]:
        pid = container.show(unit, "MainPID")["MainPID"]
        user = container.exec("stat", "-c", "%U", f"/proc/{pid}").stdout.strip()
        assert user == USER, f"{unit} runs as {user}"
    # The page answers and the worker runs the task it hands out.
    served = container.exec(PYTHON, "-c", CLIENT, check=False, timeout=120)
    assert served.returncode == 0, served.stdout + served.stderr + journal(container)
    assert json.loads(served.stdout)["return_value"]["words"] == 3

    # The timer the target started runs tick every 2 s: one run at a time, each to its end.
    def ticked() -> list[int] | None:
        found = lines(container, "mysite-tick.service", "tick")
        return found if len(found) >= TICK_RUNS else None

    ticks = wait_for(ticked, f"{TICK_RUNS} runs of tick", timeout=TICK_PERIOD * TICK_RUNS + 30)
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(ticks)]
    assert all(TICK_GAPS[0] < gap < TICK_GAPS[1] for gap in gaps), gaps
    tick = container.show("mysite-tick.service", "Result", "ExecMainStatus")
    assert tick == {"Result": "success", "ExecMainStatus": "0"}, journal(container)
    # In order: migrate ran to completion before web started; the worker
    # started once web served (its ready check passed), not merely started.
    migrate = monotonic(container, "mysite-migrate.service", "ExecMainExitTimestamp")
    web = monotonic(container, "mysite-web.service", "ExecMainStartTimestamp")
    worker = monotonic(container, "mysite-db_worker.service", "ExecMainStartTimestamp")
    assert migrate <= web, journal(container)
    listening = first_line(container, "mysite-web.service", "Listening at: http://127.0.0.1:8000")
    assert web < listening < worker, journal(container)

    # The target stops first (it is ordered after the units), then each unit
    # in the reverse order of their start (PartOf=).
    started = time.monotonic()
    container.exec("systemctl", "stop", "mysite.target")

    def stopped() -> dict[str, dict[str, str]] | None:
        shown = {unit: container.show(unit, "ActiveState", "Result") for unit in UNITS}
        return (
            shown
            if all(s["ActiveState"] in ("inactive", "failed") for s in shown.values())
            else None
        )

    shown = wait_for(stopped, "the units to stop", timeout=WORKER_GRACE + 30)
    stopped_in = time.monotonic() - started
    # The timer stops with the target (PartOf=): no run after the project stopped.
    assert container.show("mysite-tick.timer", "ActiveState") == {"ActiveState": "inactive"}
    # Each stopped on its signal within its grace period: none timed out or was killed.
    assert all(s == {"ActiveState": "inactive", "Result": "success"} for s in shown.values()), shown
    assert stopped_in < WORKER_GRACE, f"the units took {stopped_in:.0f} s to stop"
    # The image has no ps: every process's command line from /proc.
    left = container.exec("sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '").stdout
    assert "/sbin/init" in left or "systemd" in left, left  # the listing works
    assert "gunicorn" not in left and "db_worker" not in left, left


def monotonic(container: SystemdContainer, unit: str, timestamp: str) -> int:
    """Return the unit's timestamp on the monotonic clock, in microseconds."""
    value = container.show(unit, f"{timestamp}Monotonic")[f"{timestamp}Monotonic"]
    assert value != "0", f"{unit} has no {timestamp}"
    return int(value)


def first_line(container: SystemdContainer, unit: str, text: str) -> int:
    """Return when the unit first wrote a line holding ``text`` (monotonic, microseconds)."""
    found = lines(container, unit, text)
    if not found:
        pytest.fail(f"{unit} never wrote {text!r}:\n{journal(container)}", pytrace=False)
    return found[0]


def lines(container: SystemdContainer, unit: str, text: str) -> list[int]:
    """Return when the unit wrote each line holding ``text`` (monotonic, microseconds).

    Its processes' lines, not systemd's about it ('Starting mysite-tick.service').
    """
    said = container.exec("journalctl", "-u", unit, "-o", "json", "--no-pager").stdout
    entries = [json.loads(line) for line in said.splitlines()]
    return [
        int(entry["__MONOTONIC_TIMESTAMP"])
        for entry in entries
        if entry.get("_SYSTEMD_UNIT") == unit and text in str(entry.get("MESSAGE", ""))
    ]


def journal(container: SystemdContainer) -> str:
    """Return the units' last journal lines, to say why a step failed."""
    units = [arg for unit in UNITS for arg in ("-u", unit)]
    return container.exec("journalctl", *units, "-n", "60", "--no-pager", check=False).stdout
