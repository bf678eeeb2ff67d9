"""Send ``GET /`` at a fixed rate, each on a new connection, from one thread: restart.py's client.

``python bench/loadclient.py PORT RATE``: prints ``started SECONDS`` (its
``time.monotonic()``, which every process on the machine shares) once it
begins, sends RATE requests a second to 127.0.0.1:PORT until a line or the
end of file comes on its standard input, waits for the answers still due
(``REQUEST_TIMEOUT`` at most), then prints one JSON object::

    {"started": ..., "stopped": ..., "requests": [[due, sent, seconds, error, body], ...]}

``due`` is when a request was to be sent, ``sent`` when it was (its
connection opened), ``seconds`` from then until its answer was read or it
failed, ``error`` why it failed ('' if it did not), ``body`` the answer's body.

A program of its own, as a browser or a proxy is, and one thread with
non-blocking sockets: a slow answer delays no other request, and the
client's own work (about 0.1 ms a request) is not measured as the server's.
restart.py starts it in a session of its own, so that Linux's autogroup
scheduling does not have it share one CPU slot with the restart commands
the bench runs (a client elsewhere never does).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field

REQUEST_TIMEOUT = 10.0  # seconds; a request not answered by then failed
# HTTP/1.0: the answer is its body as it is (never chunked), and the connection ends with it.
REQUEST = b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
READ_SIZE = 65536  # bytes


@dataclass(eq=False)
class Exchange:
    """One request on its own connection, from connect to the answer's end."""

    sock: socket.socket
    due: float
    sent: float
    requested: bool = False
    answer: bytearray = field(default_factory=bytearray)


def error_name(number: int) -> str:
    """Return the name Python gives an OSError with ``number`` (ConnectionRefusedError ...)."""
    return type(OSError(number, os.strerror(number))).__name__


def parsed(answer: bytes) -> tuple[str, str]:
    """Return why ``answer`` (a whole HTTP response) failed ('' if it did not), and its body."""
    if not answer:
        return "RemoteDisconnected", ""  # closed without a response, as http.client names it
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or not status[0].startswith(b"HTTP/"):
        return "BadStatusLine", ""
    if status[1] != b"200":
        return f"HTTP {status[1].decode(errors='replace')}", ""
    return "", body.decode(errors="replace")


class Client:
    def __init__(self, port: int, rate: float) -> None:
        self.port = port
        self.rate = rate
        self.selector = selectors.DefaultSelector()
        self.exchanges: set[Exchange] = set()
        self.requests: list[tuple[float, float, float, str, str]] = []
        self.started = time.monotonic()
        self.stopped = 0.0
        self.sent = 0

    def run(self) -> None:
        self.selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
        while not self.stopped or self.exchanges:
            now = time.monotonic()
            while not self.stopped and self.next_due() <= now:
                self.open(self.next_due())
                self.sent += 1
            self.expire(now)
            for key, _ in self.selector.select(self.timeout()):
                if key.data is None:
                    self.stopped = time.monotonic()
                    self.selector.unregister(key.fileobj)
                else:
                    self.step(key.data)

    def next_due(self) -> float:
        return self.started + self.sent / self.rate

    def timeout(self) -> float:
        wakes = [exchange.sent + REQUEST_TIMEOUT for exchange in self.exchanges]
        if not self.stopped:
            wakes.append(self.next_due())
        return max(0.0, min(wakes) - time.monotonic()) if wakes else 0.0

    def open(self, due: float) -> None:
        sock = socket.socket()
        sock.setblocking(False)
        exchange = Exchange(sock, due, time.monotonic())
        number = sock.connect_ex(("127.0.0.1", self.port))
        self.exchanges.add(exchange)
        self.selector.register(sock, selectors.EVENT_WRITE, exchange)
        if number not in (0, errno.EINPROGRESS):
            self.end(exchange, error_name(number))

    def step(self, exchange: Exchange) -> None:
        try:
            if not exchange.requested:
                number = exchange.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if number:
                    self.end(exchange, error_name(number))
                    return
                # A fresh connection's send buffer takes these few bytes whole.
                if exchange.sock.send(REQUEST) != len(REQUEST):
                    self.end(exchange, "short send")
                    return
                exchange.requested = True
                self.selector.modify(exchange.sock, selectors.EVENT_READ, exchange)
                return
            data = exchange.sock.recv(READ_SIZE)
        except OSError as exc:
            self.end(exchange, type(exc).__name__)
            return
        if data:
            exchange.answer += data
        else:
            self.end(exchange, *parsed(bytes(exchange.answer)))

    def expire(self, now: float) -> None:
        for exchange in [e for e in self.exchanges if now - e.sent >= REQUEST_TIMEOUT]:
            self.end(exchange, "TimeoutError")

    def end(self, exchange: Exchange, error: str, body: str = "") -> None:
        seconds = time.monotonic() - exchange.sent
        self.selector.unregister(exchange.sock)
        exchange.sock.close()
        self.exchanges.discard(exchange)
        self.requests.append((exchange.due, exchange.sent, seconds, error, body))


def main() -> None:
    port, rate = int(sys.argv[1]), float(sys.argv[2])
    # Requests that wait hold a descriptor each: up to rate x REQUEST_TIMEOUT of them.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    client = Client(port, rate)
    print(f"started {client.started!r}", flush=True)
    client.run()
    json.dump(
        {"started": client.started, "stopped": client.stopped, "requests": client.requests},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
