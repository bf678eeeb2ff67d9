"""listen=: supervisord holds a program's listening socket, so a restart refuses no connection.

gunicorn (two workers) serves a trivial Django view while a client sends
about 100 requests a second and ``manage.py supervisor restart web`` runs
three times: with ``listen=`` no request fails with gunicorn, nor with
uvicorn (``--fd``, four clients, eight restarts, and four code changes in
the daily loop); with gunicorn binding the port itself (the control) some
are refused. Then a unix socket, an address
another process holds at start, and two programs on one address.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ..needs import require
from ..support import descendants, free_port, wait_for
from .conftest import Project
from .test_hardening import one_clear_error

pytestmark = pytest.mark.integration

WSGI = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.wsgi import get_wsgi_application
application = get_wsgi_application()
"""
ASGI = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
from django.core.asgi import get_asgi_application
application = get_asgi_application()
"""
GREETING = b"hello from djsupervisor"  # what the project's view answers
GUNICORN = "{{ PYTHON }} -m gunicorn wsgi --workers 2"
UVICORN = "{{ PYTHON }} -m uvicorn asgi:application --fd {{ LISTEN_FD }}"
RATE = 100  # requests a second while the restarts run
RESTARTS = 3
CODE_CHANGES = 4  # saves in the daily loop, each restarting uvicorn under load


def gunicorn_project(project: Project, web: str) -> None:
    """Have ``project`` serve its view with gunicorn, as the program section ``web`` says."""
    require(importlib.util.find_spec("gunicorn"), "gunicorn (pip install gunicorn)")
    project.write("wsgi.py", WSGI)
    serve(project, web)


def serve(project: Project, web: str) -> None:
    """Start ``project`` (--daemonize) with the program section ``web``."""
    project.write("supervisord.conf", "[program:web]\n" + web)
    started = project.run("--daemonize")
    assert started.returncode == 0, started.stderr


def tcp(port: int) -> Callable[[], http.client.HTTPConnection]:
    return lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=10)


def unix(path: Path) -> Callable[[], http.client.HTTPConnection]:
    def connect() -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", timeout=10)  # the Host Django allows
        connection.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.sock.settimeout(10)
        connection.sock.connect(str(path))
        return connection

    return connect


def get(connect: Callable[[], http.client.HTTPConnection]) -> tuple[int, bytes]:
    """Return the status and body of one GET / over a new connection."""
    connection = connect()
    try:
        connection.request("GET", "/")
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


class Load:
    """About RATE requests a second from each of its threads, each on a new connection, counted."""

    def __init__(self, connect: Callable[[], http.client.HTTPConnection]) -> None:
        self.connect = connect
        self.succeeded = 0
        self.failed: list[str] = []
        self.counting = threading.Lock()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            sent = time.monotonic()
            try:
                status, body = get(self.connect)
            except (OSError, http.client.HTTPException) as exc:
                failure: str | None = repr(exc)
            else:
                failure = None if (status, body) == (200, GREETING) else f"{status} {body[:80]!r}"
            with self.counting:
                if failure is None:
                    self.succeeded += 1
                else:
                    self.failed.append(failure)
            self.done.wait(max(0.0, 1 / RATE - (time.monotonic() - sent)))


@contextmanager
def load(connect: Callable[[], http.client.HTTPConnection], clients: int = 1) -> Iterator[Load]:
    sender = Load(connect)
    threads = [threading.Thread(target=sender.run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield sender
    finally:
        sender.done.set()
        for thread in threads:
            thread.join(15)


def restart_under_load(
    project: Project,
    connect: Callable[[], http.client.HTTPConnection],
    clients: int = 1,
    restarts: int = RESTARTS,
) -> Load:
    """Restart web ``restarts`` times, a few tenths of a second apart, under ``clients``' load."""
    with load(connect, clients) as sender:
        time.sleep(0.3)
        for _ in range(restarts):
            restarted = project.run("restart", "web")
            assert restarted.returncode == 0, restarted.stdout + restarted.stderr
            time.sleep(0.3)
    return sender


def web_pid(project: Project) -> int:
    """Return web's pid, as ``status`` shows it."""
    pid = running_web_pid(project)
    assert pid, project.run("status").stdout
    return pid


def running_web_pid(project: Project) -> int | None:
    """Return web's pid if ``status`` shows it running (not restarting)."""
    project.processes()  # remembered, to be ended at teardown whatever happens
    status = project.run("status")
    found = re.search(r"^web\s+RUNNING\s+pid (\d+)", status.stdout, re.MULTILINE)
    return int(found[1]) if found else None


def socket_environment(pid: int) -> dict[str, str]:
    """Return the LISTEN_* variables in process ``pid``'s environment."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    pairs = (entry.partition("=") for entry in entries)
    return {name: value for name, _, value in pairs if name.startswith("LISTEN_")}


def test_restarts_refuse_no_request_when_supervisord_holds_the_socket(project: Project) -> None:
    port = free_port()
    gunicorn_project(
        project, f"command={GUNICORN}\nlisten=127.0.0.1:{port}\nready=http://127.0.0.1:{port}/\n"
    )
    first = web_pid(project)
    assert socket_environment(first) == {"LISTEN_FDS": "1", "LISTEN_PID": str(first)}
    sender = restart_under_load(project, tcp(port))
    assert sender.failed == [], f"{len(sender.failed)} failed, e.g. {sender.failed[:3]}"
    assert sender.succeeded > 100
    last = web_pid(project)
    assert last != first
    # The last trial took over: its own check socket (fd 3) and the held one (fd 4).
    assert socket_environment(last) == {"LISTEN_FDS": "2", "LISTEN_PID": str(last)}


def test_uvicorn_takes_the_held_socket_by_its_fd_and_fails_no_request(
    project: Project,
) -> None:
    # uvicorn serves one socket: the trial has its own, for the check, and
    # is stopped once it passes; then the old process stops and a new one
    # starts, while connections wait in the held socket's queue. uvicorn, as
    # it stops, closes the connections it has accepted and not yet read a
    # request from (Server.shutdown): the old process gets no new one while
    # it stops (handover.py), so that none fails. Four clients and eight
    # restarts: without the handover, one restart in four failed a request.
    require(importlib.util.find_spec("uvicorn"), "uvicorn (pip install uvicorn)")
    port = free_port()
    project.write("asgi.py", ASGI)
    serve(project, f"command={UVICORN}\nlisten=127.0.0.1:{port}\nready=http://127.0.0.1:{port}/\n")
    first = web_pid(project)
    assert socket_environment(first) == {"LISTEN_FDS": "1", "LISTEN_PID": str(first)}
    sender = restart_under_load(project, tcp(port), clients=4, restarts=8)
    assert sender.failed == [], f"{len(sender.failed)} failed, e.g. {sender.failed[:3]}"
    assert sender.succeeded > 100
    assert web_pid(project) != first


def test_code_changes_restart_uvicorn_and_fail_no_request(project: Project) -> None:
    # The daily loop (DEBUG on): a save restarts web as 'restart' does, the
    # old process stopping after the handover, under the same four clients.
    require(importlib.util.find_spec("uvicorn"), "uvicorn (pip install uvicorn)")
    port = free_port()
    project.add_settings("DEBUG = True\n")
    project.write("asgi.py", ASGI)
    serve(project, f"command={UVICORN}\nlisten=127.0.0.1:{port}\nready=http://127.0.0.1:{port}/\n")
    wait_for(lambda: "watching " in project.run("tail", "autoreload").stdout, "autoreload")
    pids = [web_pid(project)]
    with load(tcp(port), clients=4) as sender:
        time.sleep(0.3)
        for change in range(CODE_CHANGES):
            project.write("asgi.py", ASGI + f"\n# change {change}\n")
            pids.append(
                wait_for(lambda: restarted_from(project, pids[-1]), "web to restart on the change")
            )
            time.sleep(0.3)
    assert sender.failed == [], f"{len(sender.failed)} failed, e.g. {sender.failed[:3]}"
    assert sender.succeeded > 100
    assert len(set(pids)) == CODE_CHANGES + 1, pids


def restarted_from(project: Project, pid: int) -> int | None:
    """Return web's pid once it runs a process other than ``pid``."""
    now = running_web_pid(project)
    return now if now not in (None, pid) else None


def test_restarts_refuse_requests_when_the_server_binds_itself(project: Project) -> None:
    port = free_port()  # the control: the same load and restarts, without listen=
    gunicorn_project(
        project,
        f"command={GUNICORN} --bind 127.0.0.1:{port}\nready=http://127.0.0.1:{port}/\n",
    )
    sender = restart_under_load(project, tcp(port))
    assert sender.failed and sender.succeeded > 0, (sender.failed[:3], sender.succeeded)


def test_a_trial_starts_off_one_cpu_and_serves_on_all_of_them(project: Project) -> None:
    # While the new gunicorn starts, the old one keeps a CPU to answer on;
    # once it passes, the new one (now the program) has every CPU again.
    cpus = os.sched_getaffinity(0)
    if len(cpus) < 2:
        pytest.skip("needs two CPUs")
    port = free_port()
    booted = project.path / "booted"  # a file per worker: the CPUs it had as it started
    booted.mkdir()
    record = (  # first thing in a worker, before Django: the trial passes later
        "import os, pathlib\n"
        f"record = pathlib.Path({str(booted)!r}, str(os.getpid()))\n"
        "record.with_suffix('.new').write_text(repr(sorted(os.sched_getaffinity(0))))\n"
        "record.with_suffix('.new').rename(record)\n"
    )
    project.write("wsgi.py", record + WSGI)

    def started_on(workers: list[int]) -> set[str]:
        wait_for(lambda: all((booted / str(pid)).exists() for pid in workers), "the workers")
        return {(booted / str(pid)).read_text() for pid in workers}

    serve(project, f"command={GUNICORN}\nlisten=127.0.0.1:{port}\nready=http://127.0.0.1:{port}/\n")
    first = web_pid(project)
    assert started_on(descendants(first)) == {repr(sorted(cpus))}  # a start is no trial
    restarted = project.run("restart", "web")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    last = web_pid(project)
    assert last != first
    workers = descendants(last)
    assert len(workers) == 2, workers
    assert started_on(workers) == {repr(sorted(cpus - {min(cpus)}))}
    assert {pid: os.sched_getaffinity(pid) for pid in [last, *workers]} == dict.fromkeys(
        [last, *workers], cpus
    )
    assert get(tcp(port)) == (200, GREETING)


def test_a_restart_into_broken_code_leaves_the_old_process_serving(project: Project) -> None:
    port = free_port()
    gunicorn_project(
        project,
        f"command={GUNICORN}\nlisten=127.0.0.1:{port}\nready=http://127.0.0.1:{port}/\n"
        "ready_timeout=5\n",
    )
    first = web_pid(project)
    assert get(tcp(port)) == (200, GREETING)  # each worker has its view loaded from now on
    assert get(tcp(port)) == (200, GREETING)
    project.write("wsgi.py", WSGI + "\nthis is not Python(\n")
    with load(tcp(port)) as sender:
        restarted = project.run("restart", "web")
    assert restarted.returncode == 1
    assert "web: ERROR (not restarted: the new process did not pass its ready check" in (
        restarted.stdout
    ), restarted.stdout + restarted.stderr
    assert "it exited with status" in restarted.stdout  # workers failed to boot
    assert "web: stopped" not in restarted.stdout
    assert web_pid(project) == first  # the old process serves on, unstopped
    assert sender.failed == [] and sender.succeeded > 0, sender.failed[:3]
    project.write("wsgi.py", WSGI)
    restarted = project.run("restart", "web")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert web_pid(project) != first


def test_a_code_change_into_broken_code_keeps_the_old_process_serving(project: Project) -> None:
    # The daily loop: DEBUG on, autoreload restarts web on a save. A save that
    # breaks the code is tried first and not taken; the next save that mends
    # it is.
    port = free_port()
    project.add_settings("DEBUG = True\n")
    gunicorn_project(
        project,
        f"command={GUNICORN}\nlisten=127.0.0.1:{port}\nready=http://127.0.0.1:{port}/\n"
        "ready_timeout=5\n",
    )
    wait_for(lambda: "watching " in project.run("tail", "autoreload").stdout, "autoreload")
    first = web_pid(project)
    with load(tcp(port)) as sender:
        project.write("wsgi.py", WSGI + "\nthis is not Python(\n")
        refused = "web not restarted: the new process did not pass its ready check"
        wait_for(lambda: refused in project.logfile().read_text(), "the trial to fail")
        assert web_pid(project) == first
        project.write("wsgi.py", WSGI + "\n# mended\n")
        last = wait_for(lambda: restarted_from(project, first), "web to restart on the mended code")
    assert sender.failed == [], f"{len(sender.failed)} failed, e.g. {sender.failed[:3]}"
    assert sender.succeeded > 50
    assert get(tcp(port)) == (200, GREETING)
    # The passed trial, now web, was given back the CPU it started without (cpus.py).
    every = os.sched_getaffinity(0)
    assert [os.sched_getaffinity(pid) for pid in [last, *descendants(last)]] == [every] * 3


def test_a_unix_socket_answers_across_a_restart_and_goes_at_shutdown(
    project: Project, tmp_path: Path
) -> None:
    path = tmp_path / "web.sock"
    gunicorn_project(project, f"command={GUNICORN}\nlisten=unix:{path}\nready=log:Booting worker\n")
    assert get(unix(path)) == (200, GREETING)
    restarted = project.run("restart", "web")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert get(unix(path)) == (200, GREETING)
    assert project.run("shutdown").returncode == 0
    assert not path.exists()


def test_an_address_another_process_holds_stops_the_start(project: Project) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        project.write("supervisord.conf", f"[program:web]\ncommand=sleep 1000\nlisten={port}\n")
        started = project.run("--daemonize")
    assert started.stdout == ""
    one_clear_error(started, "'web'", f"127.0.0.1:{port}", "djsupervisor.E017")
    assert not project.pidfile().exists()
    status = project.run("status")
    assert status.returncode != 0
    assert "supervisord is not running" in status.stdout + status.stderr


def test_two_programs_on_one_address_fail_the_check(project: Project) -> None:
    port = free_port()
    project.write(
        "supervisord.conf",
        f"[program:web]\ncommand=sleep 1000\nlisten=127.0.0.1:{port}\n"
        f"[program:api]\ncommand=sleep 1000\nlisten={port}\n",
    )
    checked = project.run_manage("check")
    assert checked.returncode != 0
    assert "djsupervisor.E017" in checked.stdout + checked.stderr
