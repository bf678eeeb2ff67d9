"""What djsupervisor opens inside supervisord is closed before supervisord reloads.

A reload closes every descriptor above 4 and opens supervisord's log and
servers anew, on the same numbers: closed any later, djsupervisor's would
close supervisord's own (its log: EBADF, and supervisord died).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from supervisor.states import SupervisorStates

from djsupervisor.inside import output, rpcinterface
from djsupervisor.inside.journal_writer import Journal
from djsupervisor.inside.loop import MainLoop


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def kept_by_rpcinterface() -> list[object]:
    return [rpcinterface._loop, rpcinterface._journal]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "console"))
    server.listen()
    yield server
    server.close()


@pytest.mark.parametrize(
    ("mood", "forwarding_closed"),
    [(SupervisorStates.RESTARTING, True), (SupervisorStates.SHUTDOWN, False)],
)
def test_everything_is_closed_before_supervisord_closes_its_servers(
    tmp_path: Path, console: socket.socket, mood: int, forwarding_closed: bool
) -> None:
    servers_closed: list[list[int]] = []
    loop = MainLoop({}, print)
    journal = Journal(tmp_path / "journal")
    journal.write(b"a record")
    ours = [loop.reader, loop.writer, journal.fd]
    output.forward_to(console.getsockname())
    forwarder = output._current
    assert forwarder is not None
    connection, _ = console.accept()
    options = SimpleNamespace(
        mood=mood, close_httpservers=lambda: servers_closed.append([*map(is_open, ours)])
    )
    rpcinterface._loop, rpcinterface._journal = loop, journal
    try:
        rpcinterface.close_when_done(options)
        options.close_httpservers()
        # All of ours closed by the time supervisord closes its servers.
        assert servers_closed == [[False, False, False]]
        assert kept_by_rpcinterface() == [None, None]
        # Before a reload the console's connection is closed too; when
        # exiting, it stays for the last words (foreground.py flushes it).
        assert (not forwarder.thread.is_alive()) is forwarding_closed
        if forwarding_closed:
            assert connection.recv(1) == b""  # the socket itself is closed
    finally:
        output.forward_to(None, timeout=1)
        connection.close()
