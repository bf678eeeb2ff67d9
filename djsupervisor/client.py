"""Talk to a running supervisord over XML-RPC: the one client every command uses.

It holds the transport (a unix socket or TCP, with a timeout and credentials)
and the translation of connection failures into djsupervisor's errors; the
process states and supervisor's fault codes are in protocol.py. It does not import
supervisor, which would cost every command about 25 ms (bench/control.py).
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, TypeVar

from .errors import CredentialsError, Fault, NotRunningError
from .graph import Change
from .protocol import UNKNOWN_METHOD, ProcessState, Startup
from .transport import TimeoutTransport

CONNECT_TIMEOUT = 5.0  # seconds; a live supervisord answers in milliseconds

T = TypeVar("T")


@dataclass(frozen=True)
class Client:
    """How to reach one supervisord (its URL and optional credentials), and the calls to it.

    Every call raises :class:`~djsupervisor.errors.NotRunningError` when
    nothing answers, :class:`~djsupervisor.errors.CredentialsError` when the
    credentials are refused and :class:`~djsupervisor.errors.Fault` when
    supervisord refuses the call itself.
    """

    url: str
    username: str | None = None
    password: str | None = None
    timeout: float = CONNECT_TIMEOUT  # seconds a call waits for the answer

    def proxy(self, timeout: float | None = None) -> xmlrpc.client.ServerProxy:
        """Return an XML-RPC proxy to supervisord; prefer the methods below."""
        transport = TimeoutTransport(
            self.username, self.password, self.url, self.timeout if timeout is None else timeout
        )
        # The host part is ignored for unix sockets but xmlrpc.client needs one.
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    def call(self, method: str, *params: Any) -> Any:
        """Return the result of ``method`` ('namespace.name'), translating failures."""
        try:
            function = self.proxy()
            for part in method.split("."):
                function = getattr(function, part)
            return function(*params)
        except xmlrpc.client.Fault as fault:
            raise Fault(fault.faultCode, fault.faultString) from None
        except xmlrpc.client.ProtocolError as exc:
            raise CredentialsError(
                f"supervisord at {self.url} refused the request: {exc.errcode} {exc.errmsg}; "
                "check the username and password in the config's [supervisorctl] section"
            ) from None
        except (OSError, HTTPException) as exc:
            raise NotRunningError(
                f"supervisord is not running for this project (nothing answers at {self.url}: "
                f"{exc}); start it with 'python manage.py supervisor --daemonize'"
            ) from None

    def state(self) -> str | None:
        """Return supervisord's state name ('RUNNING', ...) or None if it does not answer."""
        try:
            info = self.call("supervisor.getState")
        except (NotRunningError, CredentialsError, Fault):
            return None
        return str(info["statename"])

    def ensure_running(self) -> None:
        """Raise unless supervisord answers and accepts the credentials."""
        self.call("supervisor.getState")

    def process_states(self) -> list[ProcessState]:
        """Return the state of every process, in supervisord's order."""
        rows = self._ask_own(
            "getProcessStates",
            lambda: [
                ProcessState.from_info(info).row()
                for info in self.call("supervisor.getAllProcessInfo")
            ],
        )
        return [ProcessState.from_row(row) for row in rows]

    def group_priorities(self) -> dict[str, int]:
        """Return the priority of every process group, by group name."""
        priorities = self._ask_own(
            "getGroupPriorities",
            lambda: {
                info["group"]: info["group_prio"]
                for info in self.call("supervisor.getAllConfigInfo")
            },
        )
        return {str(group): int(priority) for group, priority in priorities.items()}

    def dependencies(self) -> dict[str, list[str]]:
        """Return, by process name, the processes each depends on ({} if supervisord cannot say)."""
        found: dict[str, list[str]] = self._ask_own("getDependencies", dict)
        return {str(name): [str(other) for other in others] for name, others in found.items()}

    def startup(self, names: Sequence[str] = ()) -> Startup:
        """Return how the start of ``names`` (all wanted processes if none) is going."""
        answer: dict[str, Any] = self._ask_own("getStartup", lambda: {"settled": True}, list(names))
        return Startup(
            bool(answer["settled"]),
            [str(failure) for failure in answer.get("failures", [])],
            {str(name): str(outcome) for name, outcome in answer.get("outcomes", {}).items()},
            [str(name) for name in answer.get("pending", [])],
        )

    def start_processes(self, names: Sequence[str]) -> list[str]:
        """Start ``names`` after what they depend on; return the processes started."""
        return [str(name) for name in self.call("djsupervisor.startProcesses", list(names))]

    def stop_processes(self, names: Sequence[str]) -> list[str]:
        """Stop ``names`` without waiting; a restart under way is cancelled."""
        return [str(name) for name in self.call("djsupervisor.stopProcesses", list(names))]

    def act(self, action: str, name: str) -> None:
        """Start, stop or restart process ``name`` without waiting (the admin page, ``top``)."""
        methods = {
            "start": self.start_processes,
            "stop": self.stop_processes,
            "restart": self.restart_processes,
        }
        methods[action]([name])

    def restart_processes(self, names: Sequence[str]) -> list[str]:
        """Stop ``names`` and start them again once stopped, without waiting for either."""
        return [str(name) for name in self.call("djsupervisor.restartProcesses", list(names))]

    def code_changed(self, changes: Iterable[Change]) -> list[str]:
        """Have supervisord reload what ``changes`` reload; return the processes reloaded."""
        params = [[change.path, change.template] for change in changes]
        return [str(name) for name in self.call("djsupervisor.codeChanged", params)]

    def call_each(self, method: str, calls: Iterable[Sequence[Any]]) -> list[tuple[str, str]]:
        """Call ``supervisor.<method>`` with each params in one round trip.

        Return (first param, fault string) for each call that supervisord refused.
        """
        requests = [{"methodName": f"supervisor.{method}", "params": list(c)} for c in calls]
        if not requests:
            return []
        results = self.call("system.multicall", requests)
        return [
            (str(request["params"][0]), str(result["faultString"]))
            for request, result in zip(requests, results, strict=True)
            if isinstance(result, dict) and "faultCode" in result
        ]

    def shutdown(self) -> None:
        """Ask supervisord to stop its programs and exit."""
        self.call("supervisor.shutdown")

    def _ask_own(self, method: str, long_way: Callable[[], T], *params: Any) -> T:
        """Return ``djsupervisor.<method>(*params)``, or ``long_way()`` if there is no such call.

        A supervisord started by an older djsupervisor lacks the namespace.
        """
        try:
            result: T = self.call(f"djsupervisor.{method}", *params)
        except Fault as fault:
            if fault.code != UNKNOWN_METHOD:
                raise
            return long_way()
        return result


def client_of(sections: Mapping[str, Mapping[str, str]]) -> Client:
    """Return the client that the ``[supervisorctl]`` section describes."""
    ctl = sections.get("supervisorctl", {})
    return Client(ctl.get("serverurl", ""), ctl.get("username"), ctl.get("password"))


def served_url(sections: Mapping[str, Mapping[str, str]], unspecified_host: str) -> str | None:
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
