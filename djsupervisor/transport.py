"""XML-RPC to supervisord over a unix socket or TCP, with a timeout and credentials."""

from __future__ import annotations

import base64
import socket
import xmlrpc.client
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlparse


class UnixHTTPConnection(HTTPConnection):
    """An HTTP connection over a unix socket that honours its timeout."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class TimeoutTransport(xmlrpc.client.Transport):
    """An XML-RPC transport to supervisord over a unix socket or TCP, with a timeout.

    Without a timeout, a port held by something other than supervisord
    (accepting but never answering) would hang the command forever. It
    does what supervisor's own transport does, without importing supervisor.
    """

    def __init__(
        self, username: str | None, password: str | None, url: str, timeout: float
    ) -> None:
        super().__init__()
        self.url = url
        self.timeout = timeout
        self.authorization: str | None = None
        if username is not None:
            credentials = f"{username}:{password or ''}".encode()
            self.authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
        self.connection: HTTPConnection | None = None

    def make_connection(self, host: object) -> HTTPConnection:
        # One connection per transport, kept alive between calls.
        if self.connection is None:
            if self.url.startswith("unix://"):
                self.connection = UnixHTTPConnection(self.url[len("unix://") :], self.timeout)
            else:
                parsed = urlparse(self.url)
                self.connection = HTTPConnection(
                    parsed.hostname or "localhost", parsed.port or 80, timeout=self.timeout
                )
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def send_headers(self, connection: HTTPConnection, headers: Any) -> None:
        if self.authorization:
            headers = [*headers, ("Authorization", self.authorization)]
        super().send_headers(connection, headers)
