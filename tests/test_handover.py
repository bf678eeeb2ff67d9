"""handover.py: a stopping server's held socket gets a successor, and no new connection.

Real sockets on 127.0.0.1: where a connection lands is read from each
listening socket's accept queue, as the kernel keeps it.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from djsupervisor.graph import Graph, Program
from djsupervisor.inside import handover
from djsupervisor.inside.handover import Handovers, drain, queued
from djsupervisor.inside.runtable import RunTable
from djsupervisor.inside.sockets import HeldSockets, open_beside, open_listening

from .support import free_port

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SO_REUSEPORT steering: Linux")


@dataclass
class Port:
    address: str
    sockets: HeldSockets
    handovers: Handovers
    clients: list[socket.socket]

    @property
    def held(self) -> socket.socket:
        return self.sockets.held[self.address]

    def connect(self, count: int = 1) -> None:
        for _ in range(count):
            self.clients.append(
                socket.create_connection(("127.0.0.1", int(self.address.split(":")[1])))
            )


TCP_LISTEN = 10  # include/net/tcp_states.h


def listening(sock: socket.socket) -> bool:
    """Tell whether ``sock`` listens still, as the kernel's TCP_INFO says (tcpi_state)."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)[0] == TCP_LISTEN


@pytest.fixture
def port() -> Iterator[Port]:
    address = f"127.0.0.1:{free_port()}"
    sockets = HeldSockets()
    sockets.descriptor(address)
    served = Port(address, sockets, Handovers(sockets), [])
    try:
        yield served
    finally:
        for client in served.clients:
            client.close()
        served.handovers.close()
        sockets.close()


def test_new_connections_queue_in_the_successor_and_the_old_one_is_shut_down_after(
    port: Port,
) -> None:
    old = port.held
    port.connect()
    answered, _ = old.accept()  # the old server's: it goes on with it
    port.handovers.before_stop("web", port.address)
    successor = port.held
    assert successor is not old
    port.connect(5)
    assert (queued(old), queued(successor)) == (0, 5)
    port.clients[0].sendall(b"GET")
    assert answered.recv(3) == b"GET"
    copy = old.dup()  # the exited process's, were it still open somewhere
    port.handovers.stopped("web")  # it exited
    assert old.fileno() == -1 and not listening(copy)
    copy.close()
    port.connect(2)
    assert queued(successor) == 7
    answered.close()


def test_one_handover_at_a_time_and_each_next_one_steered_anew(port: Port) -> None:
    first = port.held
    port.handovers.before_stop("web:0", port.address)
    second = port.held
    port.handovers.before_stop("web:1", port.address)  # the first's process has not exited
    assert port.held is second  # stopped as before: the group stays two sockets at most
    port.connect(3)
    assert [queued(s) for s in (first, second)] == [0, 3]
    port.handovers.stopped("web:0")  # the second moves into the first's place
    taken = [second.accept()[0] for _ in range(3)]  # as its server does
    port.handovers.before_stop("web:1", port.address)
    third = port.held
    port.connect(4)
    assert [queued(s) for s in (second, third)] == [0, 4]
    port.handovers.stopped("web:1")
    port.connect(2)
    assert queued(third) == 6
    for each in taken:
        each.close()


def test_a_server_that_shares_the_port_later_gets_nothing_and_stops_the_handovers(
    port: Port,
) -> None:
    held = port.held
    stranger = open_beside(held)  # a server of the same user, with SO_REUSEPORT
    port.connect(20)  # by hash, a few would be its
    assert [queued(held), queued(stranger)] == [20, 0]
    taken = [held.accept()[0] for _ in range(20)]
    port.handovers.before_stop("web", port.address)
    assert port.held is held  # the kernel's order is not known: stopped as before
    for each in [*taken, stranger]:
        each.close()


def test_a_server_that_does_not_keep_up_is_stopped_as_before(port: Port) -> None:
    held = port.held
    port.connect()  # waits in its queue: for the next process
    port.handovers.before_stop("web", port.address)
    assert port.held is held
    port.handovers.stopped("web")
    assert held.fileno() != -1


def test_a_unix_socket_is_not_handed_over(tmp_path: Path) -> None:
    address = f"unix:{tmp_path / 'web.sock'}"
    sockets = HeldSockets()
    sockets.descriptor(address)
    held = sockets.held[address]
    Handovers(sockets).before_stop("web", address)
    assert sockets.held[address] is held
    sockets.close()


def test_the_old_queue_is_waited_for_until_its_server_has_taken_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handover, "DRAIN_LIMIT", 10.0)  # however slow the thread is to start
    sock = open_listening("127.0.0.1:0")
    clients = [socket.create_connection(sock.getsockname()) for _ in range(3)]
    accepted: list[socket.socket] = []

    def serve() -> None:
        time.sleep(0.05)
        accepted.extend(sock.accept()[0] for _ in clients)

    server = threading.Thread(target=serve)
    server.start()
    drain(sock)
    assert len(accepted) == 3 and queued(sock) == 0  # it returned once the server took them
    server.join()
    for each in [*clients, *accepted, sock]:
        each.close()


def test_a_queue_nobody_takes_is_waited_for_a_bounded_time() -> None:
    sock = open_listening("127.0.0.1:0")
    client = socket.create_connection(sock.getsockname())
    began = time.monotonic()
    drain(sock)
    assert handover.DRAIN_LIMIT <= time.monotonic() - began < handover.DRAIN_LIMIT + 1
    assert queued(sock) == 1
    client.close()
    sock.close()


def test_an_address_another_server_shares_is_not_held() -> None:
    holder = open_listening("127.0.0.1:0", shared=True)
    address = f"127.0.0.1:{holder.getsockname()[1]}"
    with pytest.raises(OSError):
        HeldSockets().descriptor(address)
    holder.close()


class ServingTrial:
    boot_time = 0.0
    adopted = False
    serves_held = True

    def cancel(self) -> None:
        pass


def table(programs: dict[str, Program], states: dict[str, str]) -> RunTable:
    runs = RunTable(Graph(programs))
    for namespec, state in states.items():
        runs.runs[namespec].state = state
    return runs


def test_a_running_process_alone_on_its_address_is_handed_over() -> None:
    web = Program(processes=["web"], listen="127.0.0.1:8000")
    runs = table({"web": web, "worker": Program(processes=["worker"])}, {"web": "RUNNING"})
    runs.runs["worker"].state = "RUNNING"
    assert runs.serves_alone("web") == "127.0.0.1:8000"
    assert runs.serves_alone("worker") is None  # no held socket
    runs.runs["web"].state = "STARTING"  # it may not accept yet: what waits is the next one's
    assert runs.serves_alone("web") is None
    runs.runs["web"].state = "RUNNING"
    runs.runs["web"].trial = ServingTrial()  # gunicorn's trial serves beside it
    assert runs.serves_alone("web") is None


def test_another_process_of_the_program_takes_what_comes_instead() -> None:
    first, second = "web:web_0", "web:web_1"  # numprocs=2
    web = Program(processes=[first, second], listen="127.0.0.1:8000")
    runs = table({"web": web}, {first: "RUNNING", second: "RUNNING"})
    assert runs.serves_alone(first) is None
    runs.runs[second].state = "STOPPED"
    assert runs.serves_alone(first) == "127.0.0.1:8000"


def test_a_server_that_keeps_up_is_handed_over_though_its_queue_was_not_empty(
    port: Port, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handover, "KEEPING_UP", 10.0)  # however slow the thread is to start
    old = port.held
    port.connect()  # in its queue as the stop comes, taken a moment later
    taken: list[socket.socket] = []
    server = threading.Timer(0.01, lambda: taken.append(old.accept()[0]))
    server.start()
    port.handovers.before_stop("web", port.address)
    server.join()
    assert port.held is not old and len(taken) == 1
    taken[0].close()


def test_supervisord_stopping_lets_go_of_the_old_sockets_without_shutting_them(
    port: Port,
) -> None:
    old = port.held
    port.handovers.before_stop("web", port.address)
    copy = old.dup()  # the stopping process's: it goes on with it
    port.handovers.close()
    assert old.fileno() == -1
    assert listening(copy)  # nothing shut it down
    port.handovers.stopped("web")  # after the close: nothing left to do
    copy.close()
