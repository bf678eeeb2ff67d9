"""Helpers shared by the tests and the bench scripts: waiting, HTTP, ports, the process tree.

The process table itself is djsupervisor's (``djsupervisor.proctable``):
pids are checked against their start time before anything is signalled, since
the kernel reuses them.
"""

from __future__ import annotations

import contextlib
import http.client
import http.cookiejar
import json
import os
import re
import signal
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

from djsupervisor.proctable import ProcessId, every_process, is_alive, parents

REPO = Path(__file__).resolve().parents[1]
WAIT = 30.0  # seconds: the most a test waits for something it expects to happen
POLL = 0.005  # seconds between looks while waiting
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")  # units of utime/stime in /proc/<pid>/stat
T = TypeVar("T")

__all__ = ["ProcessId"]  # re-exported for the bench scripts

# Settings and URLs that add Django's admin (and so djsupervisor's Processes
# page) to a generated project whose settings define BASE_DIR.
ADMIN_SETTINGS = """
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "djsupervisor",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
"""
# A Redis server for a task queue's tests, as a program ({redis}: its port).
REDIS_PROGRAM = """
[program:redis]
command=redis-server --port {redis} --bind 127.0.0.1 --save "" --appendonly no
ready=tcp:{redis}
"""
ADMIN_URLS = """
from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
"""
# manage.py arguments that create the superuser 'admin' (DJANGO_SUPERUSER_PASSWORD: its password).
CREATE_SUPERUSER = [
    *("createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com")
]


def wait_for(
    predicate: Callable[[], T | Literal[False] | None], what: str, timeout: float = WAIT
) -> T:
    """Poll ``predicate`` until it returns something true and return that; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(port: int, path: str = "/") -> str | None:
    """Return the body served on ``port`` at ``path``, or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
            body: bytes = answer.read()
            return body.decode()
    except (OSError, http.client.HTTPException):  # refused, or cut short by a restart
        return None


def children(pid: int) -> list[int]:
    """Return the pids whose parent is ``pid``."""
    return [child for child, parent in parents().items() if parent == pid]


def descendants(pid: int) -> list[int]:
    """Return the pids below ``pid``: its children, their children and so on."""
    by_parent: dict[int, list[int]] = {}
    for child, parent in parents().items():
        by_parent.setdefault(parent, []).append(child)
    found: list[int] = []
    todo = [pid]
    while todo:
        below = by_parent.get(todo.pop(), [])
        found += below
        todo += below
    return found


def alive(pids: Iterable[int]) -> list[int]:
    """Return those of ``pids`` still running (zombies count as gone)."""
    return [pid for pid in pids if is_alive(pid)]


def command_lines() -> dict[int, list[str]]:
    """Return the command line (argv) of every process, by pid."""
    return {
        pid: argv.decode(errors="replace").split("\0")[:-1]
        for pid, argv in every_process("cmdline")
    }


def cpu_seconds(pids: Iterable[int]) -> float:
    """Return the CPU time (user + system) the processes have used so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def rss_mb(pids: Iterable[int]) -> float:
    """Return the resident memory of the processes, in MB."""
    total_kb = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def kill_all(processes: Iterable[ProcessId], timeout: float = WAIT) -> None:
    """SIGKILL those of ``processes`` still running (not later owners of their pids); wait."""
    left = [process for process in processes if process.is_alive()]
    for process in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    wait_for(lambda: not any(p.is_alive() for p in left), "killed processes to end", timeout)


def run_example_task(base: str, text: str, what: str = "the page", timeout: float = WAIT) -> Any:
    """Use the example project's page at ``base`` as a person would; return the task's result.

    Submit ``text`` in its form (with its CSRF token and cookie), then wait
    for the worker's answer on the result page the form links to: the task's
    return value, ``{"words": N, "pid": the worker's pid}``.
    """
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def page() -> str | None:
        try:
            body: bytes = opener.open(base + "/", timeout=5).read()
            return body.decode()
        except OSError:
            return None

    served = wait_for(page, what, timeout=timeout)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', served)
    assert token, served
    form = {"csrfmiddlewaretoken": token[1], "text": text}
    opener.open(base + "/", data=urllib.parse.urlencode(form).encode(), timeout=5)
    result_id = re.search(r"/result/([0-9a-f-]+)/", page() or "")
    assert result_id, "the page lists the enqueued task"

    def result() -> Any:
        answer = json.loads(opener.open(f"{base}/result/{result_id[1]}/", timeout=5).read())
        return answer if answer["status"] == "SUCCESSFUL" else None

    return wait_for(result, "the worker to run the task", timeout=timeout)["return_value"]
