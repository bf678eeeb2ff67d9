"""Where a known server listens, read from its command line, and the line changed.

runserver, gunicorn, uvicorn and daphne: each format rewrites their address
(Compose and Kubernetes bind all interfaces, a Procfile takes honcho's
``$PORT``), from one reading of the command.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass

ALL_INTERFACES = "0.0.0.0"
DEFAULT_ADDRESS = ("127.0.0.1", 8000)  # where runserver, gunicorn, uvicorn and daphne listen
# Options of runserver (and every manage.py command) that take the next word.
MANAGE_VALUE_OPTIONS = frozenset({"--settings", "--pythonpath", "-v", "--verbosity"})
GUNICORN_CONFIG = ("-c", "--config")  # gunicorn's config file, which may hold its bind
# uvicorn's and daphne's options for a socket that has no port of its own: a
# unix socket, an inherited descriptor, a Twisted endpoint.
DESCRIPTOR_OPTION = "--fd"  # uvicorn's and daphne's: listen='s socket under supervisord (fd 3)
NO_PORT_OPTIONS = ("--uds", "--fd", "-u", "--unix-socket", "-e", "--endpoint")
# Each server's options for its address: host and port together, or each alone.
SERVER_OPTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "gunicorn": (("--bind", "-b"), (), ()),
    "uvicorn": ((), ("--host",), ("--port",)),
    "daphne": ((), ("--bind", "-b"), ("--port", "-p")),
}
# A word's place on the command line: its index and what comes before the
# value in it ('--port=' for '--port=8000', '' for a value of its own).
Place = tuple[int, str]


@dataclass(frozen=True)
class Address:
    """A known server's address and where its command line says it."""

    server: str  # runserver, gunicorn, uvicorn or daphne
    host: str
    port: int
    argv: list[str]
    written_host: str  # runserver's and gunicorn's host as the command says it ('' for none)
    # Where the value is; None: not given. runserver's address and gunicorn's
    # --bind hold host and port in one word: both places are that word.
    host_at: Place | None
    port_at: Place | None
    host_option: str = ""  # the option to append the host with, where it is separate
    port_option: str = ""

    @property
    def joined(self) -> bool:
        return self.server in ("runserver", "gunicorn")

    def rewritten(self, host: str | None = None, port: str | None = None) -> list[str]:
        """Return the command with the given host and port (None: as it is) in their place."""
        argv = list(self.argv)
        if self.joined:
            host_text = self.written_host if host is None else host
            if ":" in host_text and not host_text.startswith("["):
                host_text = f"[{host_text}]"  # IPv6
            value = f"{host_text}:" if host_text else ""
            value += port if port is not None else str(self.port)
            if self.port_at is not None:
                index, prefix = self.port_at
                argv[index] = prefix + value
            elif self.server == "runserver":
                at = argv.index("runserver") + 1
                argv[at:at] = [value]
            else:
                argv += ["--bind", value]
            return argv
        for given, place, option in (
            (host, self.host_at, self.host_option),
            (port, self.port_at, self.port_option),
        ):
            if given is None:
                continue
            if place is None:
                argv += [option, given]
            else:
                index, prefix = place
                argv[index] = prefix + given
        return argv


def address(argv: list[str]) -> Address | None:
    """Return where a known server listens on TCP; None for another program or no port.

    The server's own default address if its command gives none; None for a
    unix socket, an inherited descriptor, or gunicorn with a config file and
    no ``--bind`` (the file says where).
    """
    words = [posixpath.basename(word) for word in argv[:3]]  # gunicorn, python -m gunicorn
    if "runserver" in argv:
        return _runserver(argv)
    if "gunicorn" in words:
        return _gunicorn(argv)
    for server in ("uvicorn", "daphne"):
        if server in words:
            return _separate(server, argv)
    return None


def _runserver(argv: list[str]) -> Address | None:
    start = argv.index("runserver") + 1
    for index in range(start, len(argv)):
        word = argv[index]
        if word.startswith("-") or argv[index - 1] in MANAGE_VALUE_OPTIONS:
            continue
        host, _, port = word.rpartition(":")
        if not port.isdigit():
            return None
        bare = host.strip("[]")
        return Address(
            "runserver",
            {"": DEFAULT_ADDRESS[0], "0": ALL_INTERFACES}.get(bare, bare),
            int(port),
            argv,
            host,
            (index, ""),
            (index, ""),
        )
    return Address("runserver", *DEFAULT_ADDRESS, argv, "", None, None)


def _gunicorn(argv: list[str]) -> Address | None:
    found = option(argv, ("--bind", "-b"))
    if found is None:
        if option(argv, GUNICORN_CONFIG) is not None:
            return None  # its config file says where it binds: an added --bind would override
        return Address("gunicorn", *DEFAULT_ADDRESS, argv, "", None, None)
    index, prefix, value = found
    host, _, port = value.rpartition(":")
    if value.startswith(("unix:", "fd://")) or not port.isdigit():
        return None
    place = (index, prefix)
    return Address(
        "gunicorn", host.strip("[]") or DEFAULT_ADDRESS[0], int(port), argv, host, place, place
    )


def _separate(server: str, argv: list[str]) -> Address | None:
    if any(word.startswith(NO_PORT_OPTIONS) for word in argv):
        return None
    _, host_options, port_options = SERVER_OPTIONS[server]
    host, port = DEFAULT_ADDRESS
    found_host, found_port = option(argv, host_options), option(argv, port_options)
    if found_port is not None:
        if not found_port[2].isdigit():
            return None
        port = int(found_port[2])
    if found_host is not None:
        host = found_host[2]
    return Address(
        server,
        host,
        port,
        argv,
        "",
        found_host[:2] if found_host else None,
        found_port[:2] if found_port else None,
        host_options[0],
        port_options[0],
    )


def option(argv: list[str], names: tuple[str, ...]) -> tuple[int, str, str] | None:
    """Return where the first of an option's values is: the word, its prefix there, the value."""
    for index, word in enumerate(argv):
        for name in names:
            if word == name and index + 1 < len(argv):
                return index + 1, "", argv[index + 1]
            if name.startswith("--") and word.startswith(f"{name}="):
                return index, f"{name}=", word[len(name) + 1 :]
            if not name.startswith("--") and word.startswith(name) and len(word) > len(name):
                return index, name, word[len(name) :]
    return None


PORT_VARIABLE = "$PORT"
_PORT_MARK = "\0port\0"  # stands for $PORT until the words are quoted for the shell


def port_words(argv: list[str]) -> tuple[list[str], str] | None:
    """Return a known server's command as shell words listening on ``$PORT``, and the old port.

    The port is written ``$PORT`` (unquoted, for the shell that runs the
    line), the rest quoted as it was. gunicorn without ``--bind`` reads PORT
    itself; None when the server listens on no port of its own.
    """
    found = address(argv)
    if found is None or (found.server == "gunicorn" and found.port_at is None):
        return None
    words = []
    for word in found.rewritten(port=_PORT_MARK):
        before, mark, after = word.partition(_PORT_MARK)
        if not mark:
            words.append(shlex.quote(word))
            continue
        words.append(
            (shlex.quote(before) if before else "")
            + PORT_VARIABLE
            + (shlex.quote(after) if after else "")
        )
    return words, str(found.port)


def binding_itself(argv: list[str], host: str, port: int) -> tuple[Address, list[str]] | None:
    """Return a known server's address and its command binding ``host:port`` itself.

    Where nothing holds the socket ``listen=`` names (a container, a
    Procfile), the server binds it: its inherited descriptor (``--fd``)
    gives way to the address. None for another program.
    """
    found = address(without_descriptor(argv))
    if found is None:
        return None
    return found, found.rewritten(host=host, port=str(port))


def without_descriptor(argv: list[str]) -> list[str]:
    """Return the command without its ``--fd N`` (uvicorn's and daphne's inherited socket)."""
    words: list[str] = []
    value_next = False
    for word in argv:
        if value_next:
            value_next = False
        elif word == DESCRIPTOR_OPTION:
            value_next = True
        elif not word.startswith(f"{DESCRIPTOR_OPTION}="):
            words.append(word)
    return words
