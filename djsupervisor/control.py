"""The control server: configure a private one, and talk to it over XML-RPC."""

from __future__ import annotations

import base64
import os
import secrets
import socket
import xmlrpc.client
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from .ini import Sections
from .runtime import write_private

SOCKET_NAME = "supervisor.sock"
SECRET_NAME = "secret"  # the private socket's password, kept across invocations
SECRET_BYTES = 32  # 256 bits of randomness
USERNAME = "djsupervisor"
RPC_INTERFACE = "rpcinterface:supervisor"
RPC_FACTORY = "supervisor.rpcinterface:make_main_rpcinterface"
# djsupervisor's own namespace (see rpcinterface.py), named here so that
# commands need not import supervisor to talk to it.
OWN_RPC_INTERFACE = "rpcinterface:djsupervisor"
OWN_RPC_FACTORY = "djsupervisor.rpcinterface:make_rpcinterface"
# supervisor.xmlrpc.Faults codes, named here for the same reason.
UNKNOWN_METHOD = 1  # no such method
SHUTDOWN_STATE = 6  # supervisord is shutting down already
CONNECT_TIMEOUT = 5.0  # seconds; a live supervisord answers in milliseconds

T = TypeVar("T")


@dataclass(frozen=True)
class ProcessState:
    """What supervisord says of one process."""

    group: str
    name: str
    statename: str  # 'RUNNING', 'STOPPED', ...
    description: str  # 'pid 12, uptime 0:01:02', 'Exited too quickly', ...

    @property
    def namespec(self) -> str:
        return namespec(self.group, self.name)


def process_state_row(info: dict[str, Any]) -> list[str]:
    """Return a ProcessState's fields from ``supervisor.getAllProcessInfo``'s ``info``."""
    return [info[field.name] for field in fields(ProcessState)]


@dataclass(frozen=True)
class Server:
    """How a client reaches supervisord: its URL and optional credentials."""

    url: str
    username: str | None = None
    password: str | None = None

    def proxy(self, timeout: float = CONNECT_TIMEOUT) -> xmlrpc.client.ServerProxy:
        """Return an XML-RPC proxy to supervisord's ``supervisor`` namespace."""
        transport = TimeoutTransport(self.username, self.password, self.url, timeout)
        # The host part is ignored for unix sockets but xmlrpc.client needs one.
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def state(self) -> str | None:
        """Return supervisord's state name ('RUNNING', ...) or None if it is not up."""
        try:
            return self.proxy().supervisor.getState()["statename"]
        except (TimeoutError, OSError, HTTPException, xmlrpc.client.Error):
            return None

    def process_states(self) -> list[ProcessState]:
        """Return the state of every process, in supervisord's order."""
        rows = self._ask_own(
            "getProcessStates",
            lambda proxy: list(map(process_state_row, proxy.supervisor.getAllProcessInfo())),
        )
        return [ProcessState(*row) for row in rows]

    def group_priorities(self) -> dict[str, int]:
        """Return the priority of every process group, by group name."""
        return self._ask_own(
            "getGroupPriorities",
            lambda proxy: {
                info["group"]: info["group_prio"] for info in proxy.supervisor.getAllConfigInfo()
            },
        )

    def _ask_own(self, method: str, long_way: Callable[[xmlrpc.client.ServerProxy], T]) -> T:
        """Return ``djsupervisor.<method>()``, or ``long_way(proxy)`` if there is no such call.

        A supervisord started by an older djsupervisor lacks the namespace.
        """
        proxy = self.proxy()
        try:
            return getattr(proxy.djsupervisor, method)()
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != UNKNOWN_METHOD:
                raise
        return long_way(proxy)

    def states(self) -> dict[str, str]:
        """Return each process's state name ('RUNNING', ...) by its namespec."""
        return {process.namespec: process.statename for process in self.process_states()}

    def call_each(self, method: str, calls: Iterable[Sequence[Any]]) -> list[tuple[str, str]]:
        """Call ``supervisor.<method>`` with each params in one round trip.

        Return (first param, fault string) for each call that supervisord refused.
        """
        requests = [{"methodName": f"supervisor.{method}", "params": list(c)} for c in calls]
        if not requests:
            return []
        results = self.proxy().system.multicall(requests)
        return [
            (request["params"][0], result["faultString"])
            for request, result in zip(requests, results, strict=True)
            if isinstance(result, dict) and "faultCode" in result
        ]


def namespec(group: str, name: str) -> str:
    """Return supervisord's name for a process: 'group:name', or 'name' alone in its own group."""
    return name if group == name else f"{group}:{name}"


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
    does what supervisor's own transport does, without importing supervisor
    (which costs every command about 25 ms).
    """

    def __init__(
        self, username: str | None, password: str | None, url: str, timeout: float
    ) -> None:
        super().__init__()
        self.url = url
        self.timeout = timeout
        self.authorization = None
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

    def send_headers(self, connection: HTTPConnection, headers: Sequence[tuple[str, str]]) -> None:
        if self.authorization:
            headers = [*headers, ("Authorization", self.authorization)]
        super().send_headers(connection, headers)


def configure_control_server(sections: Sections, runtime_dir: Path) -> Server:
    """Make sure supervisord serves XML-RPC and supervisorctl knows where.

    Without a user-configured server section, add a unix socket in the private
    runtime directory: the directory's mode keeps other users out, and a random
    password stored beside it guards the socket itself. A user's section is
    honoured as given.
    """
    for section, factory in ((RPC_INTERFACE, RPC_FACTORY), (OWN_RPC_INTERFACE, OWN_RPC_FACTORY)):
        sections.setdefault(section, {}).setdefault("supervisor.rpcinterface_factory", factory)
    if "unix_http_server" not in sections and "inet_http_server" not in sections:
        sections["unix_http_server"] = {
            "file": str(runtime_dir / SOCKET_NAME),
            "chmod": "0700",
            "username": USERNAME,
            "password": read_or_create_secret(runtime_dir / SECRET_NAME),
        }
    server_section = sections.get("unix_http_server") or sections["inet_http_server"]
    # supervisord listens on every interface for '*' or an empty host; a
    # client on this machine reaches it through loopback.
    url = served_url(sections, unspecified_host="127.0.0.1") or ""
    ctl = sections.setdefault("supervisorctl", {})
    ctl.setdefault("serverurl", url)
    for key in ("username", "password"):
        if key in server_section:
            ctl.setdefault(key, server_section[key])
    return Server(ctl["serverurl"], ctl.get("username"), ctl.get("password"))


def served_url(sections: Sections, unspecified_host: str) -> str | None:
    """Return the URL of the server supervisord serves, or None if it serves none.

    Like supervisord, prefer the unix socket to the inet server. An inet
    ``port`` of '*:9001' or ':9001' names no host: use ``unspecified_host``.
    """
    if "unix_http_server" in sections:
        return "unix://" + sections["unix_http_server"].get("file", "")
    if "inet_http_server" not in sections:
        return None
    host, _, port = sections["inet_http_server"].get("port", "").rpartition(":")
    return f"http://{host if host not in ('', '*') else unspecified_host}:{port}"


def read_or_create_secret(path: Path) -> str:
    """Return the password stored at ``path``, creating a random one the first time.

    It must outlive one invocation: the supervisord started by one command is
    controlled by the next.
    """
    if not path.exists():
        # Write the whole secret under a private name, then link it into place:
        # link() fails if the name exists, so concurrent invocations agree on
        # one secret and none of them can read a half-written file.
        draft = path.with_name(f"{path.name}.{os.getpid()}")
        write_private(draft, secrets.token_urlsafe(SECRET_BYTES))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another invocation won the race; use its secret
        finally:
            draft.unlink()
    return path.read_text().strip()
