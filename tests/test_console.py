"""The console event listener and the foreground's console, on in-memory streams."""

from __future__ import annotations

import io
import json
import os
import socket
from pathlib import Path

from djsupervisor.supervisord.console import Console, Formatter, use_color
from djsupervisor.supervisord.listener import connect, serve


def event(process: str, channel: str, data: str, name: str | None = None) -> str:
    """Return one event as supervisord writes it to a listener's stdin."""
    payload = f"processname:{process} groupname:{process} pid:12 channel:{channel}\n{data}"
    eventname = name or f"PROCESS_LOG_{channel.upper()}"
    header = f"ver:3.0 server:supervisor serial:1 pool:console eventname:{eventname} "
    return f"{header}len:{len(payload)}\n{payload}"


def test_the_listener_forwards_output_events_as_json_lines() -> None:
    events = io.StringIO(
        event("web", "stdout", "hello\nwor")
        + event("web", "stderr", "ouch ✓\n")
        + event("web", "stdout", "", name="PROCESS_STATE_RUNNING")
    )
    protocol = io.StringIO()
    ours, theirs = socket.socketpair()
    with ours, theirs:
        serve(events, protocol, ours)
        ours.shutdown(socket.SHUT_WR)
        received = b"".join(iter(lambda: theirs.recv(4096), b"")).decode()
    records = [json.loads(line) for line in received.splitlines()]
    assert records == [["web", "stdout", "hello\nwor"], ["web", "stderr", "ouch ✓\n"]]
    # supervisord hears READY before each event and OK after it.
    assert protocol.getvalue() == "READY\nRESULT 2\nOK" * 3 + "READY\n"


def test_the_listener_carries_on_without_a_console(tmp_path: Path) -> None:
    assert connect(str(tmp_path / "nobody.sock")) is None
    ours, theirs = socket.socketpair()
    theirs.close()  # the foreground command went away
    protocol = io.StringIO()
    with ours:
        serve(io.StringIO(event("web", "stdout", "x\n") * 2), protocol, ours)
    assert protocol.getvalue().count("OK") == 2


def test_the_console_prints_whole_prefixed_lines(short_dir: Path) -> None:
    out = io.StringIO()
    console = Console(short_dir / "console.sock", Formatter(["web", "worker"], False), out)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.connect(str(short_dir / "console.sock"))
    for record in (
        ["web", "stdout", "hel"],
        ["worker", "stderr", "oops\n"],
        ["web", "stdout", "lo\n"],
    ):
        listener.sendall(json.dumps(record).encode() + b"\n")
    listener.close()
    read_end, write_end = os.pipe()
    os.write(write_end, "supervisord says ✓\n".encode())
    os.close(write_end)
    with os.fdopen(read_end, "rb", buffering=0) as supervisord_output:
        console.relay(supervisord_output)
    console.close()
    lines = out.getvalue().splitlines()
    assert sorted(lines) == sorted(
        [
            "supervisord | supervisord says ✓",
            "worker      ! oops",
            "web         | hello",
        ]
    )
    assert not (short_dir / "console.sock").exists()


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: object) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert not use_color(io.StringIO())
    assert use_color(Terminal()) == (not os.environ.get("NO_COLOR"))
    formatter = Formatter(["web"], color=True)
    assert formatter.line("web", "stderr", "x") == (
        "\033[36mweb        \033[0m \033[31m!\033[0m x\n"
    )
