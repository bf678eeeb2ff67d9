"""The control server sections: a private socket unless the user configured one."""

from __future__ import annotations

from pathlib import Path

from ..client import Client, client_of, served_url
from ..protocol import OWN_RPC_FACTORY, OWN_RPC_INTERFACE
from .ini import Sections
from .merge import process_sections

USERNAME = "djsupervisor"
RPC_INTERFACE = "rpcinterface:supervisor"
RPC_FACTORY = "supervisor.rpcinterface:make_main_rpcinterface"
SERVER_SECTIONS = ("unix_http_server", "inet_http_server")
# Sections written first in the output, so the header of getconfig reads well.
LEADING_SECTIONS = (
    "supervisord",
    *SERVER_SECTIONS,
    RPC_INTERFACE,
    OWN_RPC_INTERFACE,
    "supervisorctl",
)
FDS_PER_PROCESS = 5  # pipes and log files supervisord keeps open per process
SUPERVISORD_FDS = 100  # its own: sockets, its log, its clients
DEFAULT_MINFDS = 1024  # supervisord's default


def needs_private_server(sections: Sections) -> bool:
    """Tell whether the user configured no control server of their own."""
    return not any(section in sections for section in SERVER_SECTIONS)


def configure_control_server(
    sections: Sections, private_socket: Path, secret: str | None
) -> Client:
    """Make sure supervisord serves XML-RPC and supervisorctl knows where; return the client.

    Without a user-configured server section, add a unix socket at
    ``private_socket`` (in the private runtime directory, whose mode keeps
    other users out) guarded by the password ``secret``. A user's section is
    honoured as given.
    """
    for section, factory in ((RPC_INTERFACE, RPC_FACTORY), (OWN_RPC_INTERFACE, OWN_RPC_FACTORY)):
        sections.setdefault(section, {}).setdefault("supervisor.rpcinterface_factory", factory)
    if needs_private_server(sections):
        assert secret is not None, "a private server needs a secret"
        sections["unix_http_server"] = {
            "file": str(private_socket),
            "chmod": "0700",
            "username": USERNAME,
            "password": secret,
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
    return client_of(sections)


def reserve_descriptors(sections: Sections) -> None:
    """Have supervisord raise its descriptor limit enough to spawn every process.

    It keeps about FDS_PER_PROCESS open per process, and with the default
    minfds (1024) and a soft limit of 1024, programs beyond about 200 fail to
    spawn.
    """
    processes = 0
    for section, _ in process_sections(sections):
        numprocs = sections[section].get("numprocs", "1")
        processes += int(numprocs) if numprocs.isdigit() else 1
    needed = FDS_PER_PROCESS * processes + SUPERVISORD_FDS
    supervisord = sections.setdefault("supervisord", {})
    current = supervisord.get("minfds", "")
    if needed > (int(current) if current.isdigit() else DEFAULT_MINFDS):
        supervisord["minfds"] = str(needed)


def ordered(sections: Sections) -> Sections:
    """Return ``sections`` with supervisord's and the server's first (LEADING_SECTIONS)."""
    leading = {name: sections[name] for name in LEADING_SECTIONS if name in sections}
    return leading | {name: value for name, value in sections.items() if name not in leading}
