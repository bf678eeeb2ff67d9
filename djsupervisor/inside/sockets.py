"""Hold the listening sockets of programs with ``listen=``, and hand them to each process.

A web server that binds its own port leaves it unbound between the old
process exiting and the new one binding it again: connections then are
refused. supervisord holds the socket instead, from the program's first
start until the address leaves the config, and each process the program
spawns gets it as descriptor 3 with systemd's ``LISTEN_FDS=1`` and
``LISTEN_PID`` (its own pid), which gunicorn reads natively (uvicorn and
daphne take ``--fd 3``). Connections that arrive while no process accepts
wait in the socket's backlog. On Linux, as a process that serves it alone
stops, a new socket on the same address takes its place (handover.py).

This module runs inside supervisord: standard library only (the process it
is given is supervisor's ``Subprocess``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import struct
import sys
from collections.abc import Iterable
from functools import partial
from typing import Any

LISTEN_FD = 3  # the first descriptor of systemd's socket-passing protocol (sd_listen_fds)
BACKLOG = 1024  # connections that wait while no process accepts (the kernel caps it)
SO_ATTACH_REUSEPORT_CBPF = 51  # linux/asm-generic/socket.h (the socket module does not name it)
BPF_RET_K = 0x06  # the classic BPF instruction "return the constant k"
LISTEN_STATE = "0A"  # TCP_LISTEN, as /proc/net/tcp writes it


def open_listening(address: str, shared: bool = False) -> socket.socket:
    """Bind and listen on ``address`` ('HOST:PORT', '[V6]:PORT' or 'unix:/PATH'); OSError if not.

    ``shared``: on Linux, a TCP socket that a later one may bind beside (``SO_REUSEPORT``),
    to take over from it (handover.py).
    """
    if address.startswith("unix:"):
        path = address.removeprefix("unix:")
        _remove_dead_socket(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = path
    else:
        host, _, port = address.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        family, kind, proto, _, target = socket.getaddrinfo(
            host, int(port), type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared and sys.platform == "linux":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind(target)
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def steer(sock: socket.socket, index: int) -> None:
    """Have the kernel queue every new connection on the ``index``-th socket of ``sock``'s group.

    The group is the listening sockets that share ``sock``'s address
    (``SO_REUSEPORT``), in the order the kernel keeps (handover.py). An
    index past the group's end lets the kernel pick by hash.
    """
    import ctypes  # here: supervisord needs it only for a program with listen= (bench/memory.py)

    code = ctypes.create_string_buffer(struct.pack("HBBI", BPF_RET_K, 0, 0, index))
    program = struct.pack("@HP", 1, ctypes.addressof(code))  # struct sock_fprog
    # The kernel copies the program: ``code`` may go once this returns.
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, program)


def listeners_beside(sock: socket.socket) -> int:
    """Return how many sockets listen on ``sock``'s very address, ``sock`` included (Linux)."""
    table = "/proc/net/tcp6" if sock.family == socket.AF_INET6 else "/proc/net/tcp"
    inode = str(os.fstat(sock.fileno()).st_ino)
    with open(table) as lines:
        rows = [line.split() for line in lines][1:]  # sl local rem st ... uid timeout inode
    address = next(row[1] for row in rows if row[9] == inode)
    return sum(row[1] == address and row[3] == LISTEN_STATE for row in rows)


def open_beside(held: socket.socket) -> socket.socket:
    """Bind and listen on the very address of ``held``, a shared TCP socket (OSError if not)."""
    sock = socket.socket(held.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(held.getsockname())
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def try_listening(address: str) -> None:
    """Bind ``address`` and let it go at once: OSError if another process holds it."""
    open_listening(address).close()
    if address.startswith("unix:"):
        with contextlib.suppress(OSError):
            os.unlink(address.removeprefix("unix:"))


def _remove_dead_socket(path: str) -> None:
    """Remove a unix socket file nothing listens on any more (a killed server's)."""
    with contextlib.suppress(OSError):
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            os.unlink(path)
        finally:
            probe.close()


class HeldSockets:
    """The listening sockets one supervisord holds, by address."""

    def __init__(self) -> None:
        self.held: dict[str, socket.socket] = {}

    def descriptor(self, address: str) -> int:
        """Return the descriptor of the socket of ``address``, opened if need be (OSError)."""
        if address not in self.held:
            if not address.startswith("unix:"):
                # Bound alone first: an address another server holds is refused,
                # even by one that lets others share its port.
                try_listening(address)
            held = self.held[address] = open_listening(address, shared=True)
            if sys.platform == "linux" and held.family != socket.AF_UNIX:
                with contextlib.suppress(OSError):
                    # A server that would share its port later gets none of it.
                    steer(held, 0)
        return self.held[address].fileno()

    def give(self, process: Any, address: str) -> None:
        """Have ``process``'s spawns get the socket of ``address`` (opened if need be).

        The socket of each spawn, supervisord's own retries and autorestarts
        included, is the one held when it forks: a handover replaces it.
        """
        self.descriptor(address)
        process._prepare_child_fds = partial(_prepare_with_socket, process, self, address)

    def keep_only(self, addresses: Iterable[str]) -> None:
        """Close the sockets of addresses the config no longer has."""
        for address in set(self.held) - set(addresses):
            self._close(address)

    def close(self) -> None:
        for address in list(self.held):
            self._close(address)

    def _close(self, address: str) -> None:
        self.held.pop(address).close()
        if address.startswith("unix:"):
            with contextlib.suppress(OSError):
                os.unlink(address.removeprefix("unix:"))


def _prepare_with_socket(process: Any, sockets: HeldSockets, address: str) -> None:
    """Set up a spawning child's descriptors as supervisord does, plus the socket as fd 3.

    Runs in the child, between the fork and the exec, in place of
    ``Subprocess._prepare_child_fds`` (as supervisor's own FastCGI programs
    get their socket as fd 0).
    """
    descriptor = sockets.held[address].fileno()
    options = process.config.options
    pipes = process.pipes
    options.dup2(pipes["child_stdin"], 0)
    options.dup2(pipes["child_stdout"], 1)
    options.dup2(pipes["child_stdout" if process.config.redirect_stderr else "child_stderr"], 2)
    if descriptor == LISTEN_FD:
        os.set_inheritable(LISTEN_FD, True)
    else:
        os.dup2(descriptor, LISTEN_FD, inheritable=True)
    for other in range(LISTEN_FD + 1, options.minfds):
        options.close_fd(other)
    # The environment the child builds next starts from os.environ.
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())
