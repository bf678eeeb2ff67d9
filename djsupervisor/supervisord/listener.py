"""The ``console`` event listener: pass programs' output to the foreground command.

supervisord runs it as ``python -I -S .../listener.py SOCKET`` and sends it
a PROCESS_LOG event for every chunk a program writes. It forwards each chunk,
as one JSON line, to the unix socket on which ``manage.py supervisor`` (in the
foreground) prints programs' output. It imports the standard library alone,
not even site-packages, so that it starts fast.
"""

from __future__ import annotations

import io
import json
import socket
import sys
from typing import TextIO


def serve(events: TextIO, protocol: TextIO, console: socket.socket | None) -> None:
    """Answer supervisord's event-listener protocol until stdin ends."""
    while True:
        protocol.write("READY\n")
        protocol.flush()
        header = events.readline()
        if not header:
            return
        fields = dict(field.split(":", 1) for field in header.split())
        payload = events.read(int(fields["len"]))  # a length in characters
        if console is not None and fields["eventname"].startswith("PROCESS_LOG_"):
            first_line, _, data = payload.partition("\n")
            about = dict(field.split(":", 1) for field in first_line.split())
            record = json.dumps([about["processname"], about["channel"], data]) + "\n"
            try:
                console.sendall(record.encode())
            except OSError:
                console = None  # the foreground command is gone: output stays in the logs
        protocol.write("RESULT 2\nOK")
        protocol.flush()


def connect(path: str) -> socket.socket | None:
    console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        console.connect(path)
    except OSError:
        return None
    return console


def main() -> None:
    # Text mode on purpose: supervisord counts the payload length in characters.
    events = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    serve(events, sys.stdout, connect(sys.argv[1]))


if __name__ == "__main__":
    main()
