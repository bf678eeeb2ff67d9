"""What the bench scripts share: throwaway projects, process accounting, tables."""

from __future__ import annotations

import configparser
import contextlib
import datetime
import os
import platform
import signal
import statistics
import subprocess
import sys
import textwrap
import time
import zoneinfo
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import django
from django.conf import global_settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the helpers the tests share, and djsupervisor itself

from tests.support import (  # noqa: E402
    ADMIN_SETTINGS,
    ADMIN_URLS,
    CLOCK_TICKS,
    CREATE_SUPERUSER,
    ProcessId,
    children,
    command_lines,
    cpu_seconds,
    descendants,
    free_port,
    http_get,
    kill_all,
    rss_mb,
    wait_for,
)

__all__ = [
    "ADMIN_SETTINGS",
    "ADMIN_URLS",
    "CLOCK_TICKS",
    "CREATE_SUPERUSER",
    "ProcessId",
    "children",
    "command_lines",
    "cpu_seconds",
    "descendants",
    "free_port",
    "http_get",
    "kill_all",
    "rss_mb",
]
TIMEOUT = 60.0  # seconds; the most any single wait may take
T = TypeVar("T")

MANAGE = """
import os, sys
if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""

SETTINGS = """
SECRET_KEY = "bench"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["djsupervisor"]
ROOT_URLCONF = "urls"
DATABASES = {}
USE_TZ = True
"""

# What the peers (honcho, raw supervisord, runserver's reloader) run: the
# project as it would be without djsupervisor, whose app and system check
# every Django command would otherwise load.
PEER_SETTINGS = """
from settings import *
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "djsupervisor"]
"""
PEER = "--settings=peer_settings"  # the option that makes a Django command use them

VIEW = """
from django.http import HttpResponse
from django.urls import path

def answer(request):
    return HttpResponse({body!r})

urlpatterns = [path("", answer)]
"""


# A database stand-in: 'python db.py PORT [DELAY]' listens on PORT after DELAY
# seconds (0 by default), as a real one does once it has recovered its files.
DB = """
import socket, sys, time
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
while True:
    server.accept()[0].close()
"""


def make_project(path: Path, supervisord_conf: str, settings: str = "") -> Path:
    """Write a minimal Django project (one view) with ``supervisord_conf``.

    Its ``peer_settings`` module (see PEER) leaves djsupervisor out.
    """
    path.mkdir(parents=True)
    (path / "manage.py").write_text(MANAGE)
    # The runtime directory inside the bench's own directory: removing that cleans up.
    runtime = f"SUPERVISOR_RUNTIME_DIR = {str(path.parent / 'run')!r}\n"
    (path / "settings.py").write_text(SETTINGS + runtime + textwrap.dedent(settings))
    (path / "peer_settings.py").write_text(PEER_SETTINGS)
    (path / "supervisord.conf").write_text(textwrap.dedent(supervisord_conf))
    write_view(path, "start")
    return path


def write_view(project: Path, body: str) -> None:
    (project / "urls.py").write_text(VIEW.format(body=body))


def project_env() -> dict[str, str]:
    """Return the environment for commands run in a bench project."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # Measure what users get: Python caches compiled modules unless told not to.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def manage(
    project: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a manage.py command in ``project`` (with ``env`` added to its environment)."""
    return python(project, "manage.py", *args, check=check, env=env)


def python(
    cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run this Python with ``args`` in ``cwd``, its output captured."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=project_env() | (env or {}),
        capture_output=True,
        text=True,
        check=check,
        timeout=TIMEOUT,
    )


def getconfig(project: Path) -> configparser.RawConfigParser:
    """Return the merged config ``manage.py supervisor getconfig`` prints."""
    parser = configparser.RawConfigParser(interpolation=None)
    parser.read_string(manage(project, "supervisor", "getconfig").stdout)
    return parser


def raw_supervisorctl(project: Path) -> list[str]:
    """Return the command that runs raw supervisorctl against the project's supervisord.

    Its config holds the [supervisorctl] section alone, as a hand-written
    one would, so supervisorctl does not parse every program to find it.
    """
    config = getconfig(project)
    path = Path(config["supervisord"]["pidfile"]).parent / "supervisorctl.conf"
    path.write_text(
        "[supervisorctl]\n" + "".join(f"{k}={v}\n" for k, v in config["supervisorctl"].items())
    )
    path.chmod(0o600)  # it holds the socket's password
    return [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(path)]


def start(project: Path, command: list[str]) -> subprocess.Popen[str]:
    """Start ``command`` in ``project``, in a session of its own (so it can be stopped whole)."""
    return subprocess.Popen(
        command,
        cwd=project,
        env=project_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        text=True,
    )


def stop_everything(project: Path, supervisord: int | None) -> None:
    """Stop supervisord and its programs by pid, without waiting for a slow shutdown."""
    if supervisord is None:
        return
    status = manage(project, "supervisor", "--noreload", "status", check=False).stdout
    pids = [int(word.rstrip(",")) for word in status.split() if word.rstrip(",").isdigit()]
    os.kill(supervisord, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def stop_session(process: subprocess.Popen[str]) -> None:
    """End ``process`` and everything in its session."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def time_in_turns(
    commands: dict[str, list[str]], project: Path, runs: int
) -> dict[str, list[float]]:
    """Run each command ``runs`` times, taking turns, in ``project``; return the seconds by name.

    Taking turns spreads the machine's ups and downs over all of them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in commands}
    for turn in range(runs):
        for name, command in rotated(list(commands.items()), turn):
            started = time.perf_counter()
            subprocess.run(
                command,
                cwd=project,
                env=project_env(),
                check=True,
                capture_output=True,
                timeout=TIMEOUT,
            )
            times[name].append(time.perf_counter() - started)
    return times


def rotated(items: Sequence[T], turn: int) -> list[T]:
    """Return ``items`` in the order of turn ``turn``: each goes first in its turn.

    Whatever one run leaves behind (a warm cache, a busy CPU) then falls on
    every contestant alike rather than always on the one after it.
    """
    start = turn % len(items)
    return [*items[start:], *items[:start]]


def wait_until(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> float:
    """Poll ``predicate`` until true; return the time it took, in seconds."""
    started = time.perf_counter()
    try:
        wait_for(predicate, what, timeout)
    except TimeoutError as exc:
        raise SystemExit(f"bench: {exc}") from None
    return time.perf_counter() - started


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, Django {django.get_version()}"
    )


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print an aligned plain-text table."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}\n{machine()}\n")
    for row in [header, ["-" * w for w in widths], *rows]:
        cells = (str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def read_log(
    path: Path, offset: int = 0, zone: str = global_settings.TIME_ZONE
) -> list[tuple[float, str]]:
    """Return supervisord's log lines from byte ``offset`` on, as (time.time(), message).

    supervisord runs in a fork of ``manage.py supervisor``, after Django has
    set the process's time zone to the project's TIME_ZONE (Django's default
    unless its settings say otherwise): its log shows local times in
    ``zone``, whatever the machine's own zone is. Lines that do not start
    with a time (a traceback's) are left out.
    """
    with path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    lines = []
    for line in text.splitlines():
        words = line.split(" ", 3)  # date, time, level, message
        try:
            when = datetime.datetime.strptime(" ".join(words[:2]), "%Y-%m-%d %H:%M:%S,%f")
        except ValueError:
            continue
        message = words[3] if len(words) == 4 else ""
        lines.append((when.replace(tzinfo=zoneinfo.ZoneInfo(zone)).timestamp(), message))
    return lines
