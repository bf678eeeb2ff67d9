"""Readiness checks against real sockets, a real HTTP server and real commands."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from djsupervisor.supervisord.probes import NotReady, http, run, tcp
from tests.support import free_port

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
