"""Hand a held socket over from a server that stops to the next, so that it fails no request.

A process that serves a held socket (sockets.py) accepts from it until it
stops. uvicorn, as it stops, closes every connection it has accepted but
not yet read a request from (its ``Server.shutdown``): a request that
arrives in that instant ends unanswered. So before such a process is told
to stop, when no other process serves the socket, the address gets a new
listening socket beside the old one (``SO_REUSEPORT``) and the kernel is
told to queue every new connection there (a classic BPF program that picks
it in the port's reuseport group). The stopping process gets no new
connection: it takes what its own queue holds, has a moment to read it,
and only then is it stopped. The new socket is the one the next process
gets; the old one is shut down once its process has exited. A server that
does not keep up (its queue is not emptied once within ``KEEPING_UP``) is
stopped as before: what waits in the socket is for the next process
(docs/zero-downtime.rst).

A connection whose handshake is under way as the new socket takes over
belongs to the old one; it is answered if it completes while the old
server still accepts (``READ_GRACE`` and more), else reset when the old
socket is shut down: a client more than about 50 ms away, unless the
host sets ``net.ipv4.tcp_migrate_req=1``, which moves it to the new socket.
supervisord's loop waits for the handover: 50 ms, 300 ms at most.

Linux only, and TCP only: elsewhere, and for unix sockets, a process is
stopped at once, as before. So is one whose port another server shares
(``SO_REUSEPORT``: its place in the group is not known), or one stopping
while the address's last handover is not over.

This module runs inside supervisord: standard library only.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import time

from .sockets import HeldSockets, listeners_beside, open_beside, steer

KEEPING_UP = 0.05  # seconds in which a server that keeps up has emptied its queue once
DRAIN_LIMIT = 0.2  # seconds the process has to accept what its queue holds before it is stopped
READ_GRACE = 0.05  # seconds it then has to read the requests of what it accepted last
QUEUE_INTERVAL = 0.002  # seconds between looks at a queue
TCP_INFO_SIZE = 104  # bytes of struct tcp_info read: past the field below
QUEUED_OFFSET = 24  # tcpi_unacked, which for a listening socket is its accept queue's length


def can_hand_over(sock: socket.socket) -> bool:
    """Tell whether ``sock``'s connections can be steered to another socket: TCP, on Linux."""
    return sys.platform == "linux" and sock.family in (socket.AF_INET, socket.AF_INET6)


def queued(sock: socket.socket) -> int:
    """Return how many connections wait in the listening ``sock``'s accept queue."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_SIZE)
    return int(struct.unpack_from("I", info, QUEUED_OFFSET)[0])


def emptied(sock: socket.socket, within: float) -> bool:
    """Wait until ``sock``'s queue is empty (its server takes it); False if it is not in time."""
    deadline = time.monotonic() + within
    while queued(sock):
        if time.monotonic() >= deadline:
            return False
        time.sleep(QUEUE_INTERVAL)
    return True


def drain(sock: socket.socket) -> None:
    """Let ``sock``'s server take what its queue holds, then have a moment for the reads."""
    emptied(sock, DRAIN_LIMIT)
    time.sleep(READ_GRACE)


class PortGroup:
    """The listening sockets of one address, in the order of the kernel's reuseport group.

    The kernel picks a group's socket by its index, which a socket gets as
    it joins (the last) and which changes as another leaves (the last one
    moves into its place): every join and leave goes through here.
    """

    def __init__(self, first: socket.socket) -> None:
        self.members = [first]

    def join(self, sock: socket.socket) -> None:
        """Have ``sock`` (listening, ``SO_REUSEPORT``) take every new connection."""
        self.members.append(sock)
        try:
            self.steer_to(sock)
        except OSError:
            self.leave(sock, None)
            raise

    def leave(self, sock: socket.socket, current: socket.socket | None) -> None:
        """Shut ``sock`` down (its queue was drained) and steer on to ``current``."""
        with contextlib.suppress(OSError):  # shut down already
            sock.shutdown(socket.SHUT_RDWR)  # it leaves the group now, whoever else holds it
        sock.close()
        index = self.members.index(sock)
        self.members[index] = self.members[-1]
        self.members.pop()
        if current in self.members:
            with contextlib.suppress(OSError):  # then the kernel picks by hash, among one socket
                self.steer_to(current)

    def steer_to(self, sock: socket.socket) -> None:
        """Have the kernel queue every new connection on ``sock``, a member."""
        steer(sock, self.members.index(sock))


class Handovers:
    """The handovers of one supervisord's held sockets, by the process whose stop began them."""

    def __init__(self, sockets: HeldSockets) -> None:
        self.sockets = sockets
        # The address, its group and its old socket, by the process that served it.
        self.retiring: dict[str, tuple[str, PortGroup, socket.socket]] = {}

    def before_stop(self, namespec: str, address: str) -> None:
        """Give ``address`` a new socket, and let ``namespec``'s process take what it has queued."""
        held = self.sockets.held.get(address)
        if held is None or not can_hand_over(held):
            return
        try:
            # One handover at a time (the group is then two sockets at most),
            # and none where another server shares the port: its place is not known.
            if listeners_beside(held) != 1:
                return
            if not emptied(held, KEEPING_UP):
                return  # it does not keep up: what waits is for the next process
            successor = open_beside(held)
        except (OSError, StopIteration):
            return
        group = PortGroup(held)  # alone on its address, as just counted
        try:
            group.join(successor)
        except OSError:
            return
        self.sockets.held[address] = successor
        self.retiring[namespec] = (address, group, held)
        with contextlib.suppress(OSError):
            drain(held)

    def stopped(self, namespec: str) -> None:
        """Shut down the socket ``namespec``'s process served: it has exited, or never stopped."""
        retiring = self.retiring.pop(namespec, None)
        if retiring is not None:
            address, group, old = retiring
            group.leave(old, self.sockets.held.get(address))

    def close(self) -> None:
        """Let go of the old sockets: supervisord stops, its processes keep their copies."""
        for _, _, old in self.retiring.values():
            old.close()
        self.retiring.clear()
