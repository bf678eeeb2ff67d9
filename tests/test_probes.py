"""Readiness checks against real sockets, a real HTTP server and real commands."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from djsupervisor.inside import probes
from djsupervisor.inside.probes import NotReady, http, run, tcp
from tests.support import REPO, alive, command_lines, free_port, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

OTHER_PROCESS = 1  # init: it never holds the test's port


class Answer(BaseHTTPRequestHandler):
    """Answer /STATUS with that status."""

    def do_GET(self) -> None:
        self.send_response(int(self.path.strip("/")))
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet tests


@pytest.fixture
def server() -> Iterator[int]:
    """Serve HTTP from this process on a free port; return the port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    # A short poll: shutdown() waits for one.
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def this_process() -> list[int]:
    return [os.getpid()]


@pytest.mark.parametrize("status", [200, 302, 404])
def test_http_below_500_is_ready(server: int, status: int) -> None:
    http(f"http://127.0.0.1:{server}/{status}", "127.0.0.1", server, this_process)


@pytest.mark.parametrize("status", [500, 503])
def test_http_500_and_above_is_not(server: int, status: int) -> None:
    with pytest.raises(NotReady, match=f"answered {status}"):
        http(f"http://127.0.0.1:{server}/{status}", "127.0.0.1", server, this_process)


def test_an_answer_from_another_programs_server_does_not_count(server: int) -> None:
    with pytest.raises(NotReady, match=f"port {server} is held by another process"):
        http(f"http://127.0.0.1:{server}/200", "127.0.0.1", server, lambda: [OTHER_PROCESS])
    with pytest.raises(NotReady, match="held by another process"):
        tcp("127.0.0.1", server, lambda: [OTHER_PROCESS])


def test_tcp(server: int) -> None:
    tcp("127.0.0.1", server, this_process)
    closed = free_port()
    with pytest.raises(NotReady, match=f"127.0.0.1:{closed}: Connection refused"):
        tcp("127.0.0.1", closed, this_process)


def test_exec_runs_in_the_programs_directory_and_environment(tmp_path: Path) -> None:
    command = f'sh -c \'test "$PWD" = {tmp_path} && test "$FLAG" = up\''
    environment = {"PATH": os.environ["PATH"], "FLAG": "up"}
    run(command, str(tmp_path), environment)
    with pytest.raises(NotReady, match="exited with status 1"):
        run(command, str(tmp_path), {**environment, "FLAG": "down"})
    with pytest.raises(NotReady, match="exited with status 1"):
        run(command, "/", environment)


def test_exec_of_a_missing_command_says_so(tmp_path: Path) -> None:
    with pytest.raises(NotReady, match=r"exited with status 127 \(command not found\)"):
        run(str(tmp_path / "missing"), None, {"PATH": os.environ["PATH"]})


@pytest.fixture
def reaper() -> Iterator[None]:
    """Reap every child of this process as soon as it exits, as supervisord does."""

    def reap(signum: int, frame: object) -> None:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass

    previous = signal.signal(signal.SIGCHLD, reap)
    try:
        yield
    finally:
        signal.signal(signal.SIGCHLD, previous)


@pytest.mark.usefixtures("reaper")
def test_exec_status_survives_a_process_that_reaps_every_child() -> None:
    environment = {"PATH": os.environ["PATH"]}
    for _ in range(5):  # a lost exit status was once taken for 0
        run("true", None, environment)
        with pytest.raises(NotReady, match="exited with status 1"):
            run("false", None, environment)


@pytest.fixture
def marker() -> Iterator[str]:
    """Return a sleep duration no other process uses; kill its sleeps at teardown."""
    duration = f"1000.{uuid.uuid4().int % 10**12:012d}"
    try:
        yield duration
    finally:
        for pid in sleeping(duration):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def sleeping(duration: str) -> list[int]:
    """Return the live sleeps of ``duration`` (zombies are gone; not a shell naming it)."""
    return alive(pid for pid, argv in command_lines().items() if argv == ["sleep", duration])


def two_sleeps(duration: str) -> str:
    """Return a check command that starts two sleeps, one of them in the background."""
    return f"sh -c 'sleep {duration} & sleep {duration}'"


def test_cancel_kills_the_check_command_and_what_it_started(marker: str) -> None:
    cancelled = threading.Event()
    failures: list[NotReady] = []

    def check() -> None:
        try:
            run(two_sleeps(marker), None, {"PATH": os.environ["PATH"]}, cancelled)
        except NotReady as exc:
            failures.append(exc)

    thread = threading.Thread(target=check, daemon=True)
    thread.start()
    wait_for(lambda: len(sleeping(marker)) == 2, "both sleeps to start")
    cancelled.set()
    cancel_time = time.monotonic()
    thread.join(5)
    assert not thread.is_alive()
    assert time.monotonic() - cancel_time < 0.5  # promptly: ~0.05 s
    assert failures and "cancelled" in str(failures[0])
    wait_for(lambda: not sleeping(marker), "the sleeps to be killed", timeout=2)


def test_the_attempts_timeout_kills_the_check_command_and_what_it_started(
    marker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probes, "EXEC_TIMEOUT", 0.5)
    started = time.monotonic()
    with pytest.raises(NotReady) as raised:
        run(two_sleeps(marker), None, {"PATH": os.environ["PATH"]})
    assert time.monotonic() - started < 2
    wait_for(lambda: not sleeping(marker), "the sleeps to be killed", timeout=2)
    assert "still running after 0.5 s" in str(raised.value)


RUN_CHECK = """
import os, sys
from djsupervisor.inside import probes
probes.run(sys.argv[1], None, os.environ)
"""


def test_the_check_command_ends_with_the_process_that_runs_it(marker: str) -> None:
    # As when supervisord exits (or is killed) before its probe thread can act.
    checker = subprocess.Popen([sys.executable, "-c", RUN_CHECK, two_sleeps(marker)], cwd=REPO)
    try:
        wait_for(lambda: len(sleeping(marker)) == 2, "both sleeps to start")
    finally:
        checker.kill()
        checker.wait()
    wait_for(lambda: not sleeping(marker), "the sleeps to be killed", timeout=2)
