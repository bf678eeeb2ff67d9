"""A call waits for supervisord's answer as long as its client's timeout says, on a real socket."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from djsupervisor.client import Client
from djsupervisor.control.launch import START_TIMEOUT, patient
from djsupervisor.errors import NotRunningError

ANSWER_DELAY = 0.5  # seconds a busy supervisord takes to answer
ANSWER = (
    b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n"
    b"<?xml version='1.0'?><methodResponse><params><param><value><struct>"
    b"<member><name>statename</name><value><string>RUNNING</string></value></member>"
    b"</struct></value></param></params></methodResponse>"
)


@pytest.fixture
def slow_server(short_dir: Path) -> Iterator[str]:
    """Serve on a unix socket, answering every request after ANSWER_DELAY."""
    path = short_dir / "slow.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return  # closed
            with connection:
                request = b""
                while b"</methodCall>" not in request:  # all of it: headers and body come apart
                    received = connection.recv(65536)
                    if not received:
                        break
                    request += received
                time.sleep(ANSWER_DELAY)
                with contextlib.suppress(OSError):  # the client gave up
                    connection.sendall(ANSWER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"unix://{path}"
    server.shutdown(socket.SHUT_RDWR)
    server.close()


def test_a_client_gives_up_after_its_timeout(slow_server: str) -> None:
    with pytest.raises(NotRunningError, match="timed out"):
        Client(slow_server, timeout=ANSWER_DELAY / 5).call("supervisor.getState")


def test_a_start_waits_for_a_busy_supervisord(slow_server: str) -> None:
    client = patient(Client(slow_server, timeout=ANSWER_DELAY / 5))
    assert client.timeout == START_TIMEOUT
    assert client.call("supervisor.getState") == {"statename": "RUNNING"}
