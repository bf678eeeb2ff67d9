"""listen=: the address read once, refused by name, kept in the graph; the socket as fd 3."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from djsupervisor.config.dependencies import build_graph
from djsupervisor.config.merge import Layer, apply_program_rules, merge_layers
from djsupervisor.config.program_options import parse_listen
from djsupervisor.errors import ConfigError, ListenError
from djsupervisor.graph import Check, Graph
from djsupervisor.inside.sockets import HeldSockets, open_beside, open_listening, try_listening
from djsupervisor.inside.spawning import fork_for_a_program, take_over_next
from djsupervisor.inside.trials import serves_every_socket, trial_address, trial_check
from djsupervisor.options import Options

WHERE = "program 'web' (from conf)"


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("8000", "127.0.0.1:8000"),
        (" 0.0.0.0:8000 ", "0.0.0.0:8000"),
        ("localhost:80", "localhost:80"),
        ("[::1]:8000", "[::1]:8000"),
        ("unix:/run/web/../web.sock", "unix:/run/web.sock"),
    ],
)
def test_an_address_is_read_once_into_one_spelling(value: str, address: str) -> None:
    assert parse_listen(value, WHERE) == address


@pytest.mark.parametrize(
    "value", ["", "web", "0", "65536", "host:", ":", "localhost:abc", "unix:", "unix:web.sock"]
)
def test_what_is_no_address_is_refused_by_name(value: str) -> None:
    with pytest.raises(ListenError, match=f"^{re.escape(WHERE)}: listen=") as error:
        parse_listen(value, WHERE)
    assert error.value.check_id == "djsupervisor.E017"


def graph_of(programs: dict[str, dict[str, str]]) -> Graph:
    sections = {f"program:{name}": {"command": "run", **opts} for name, opts in programs.items()}
    merged = apply_program_rules(merge_layers([Layer(sections, origin="conf")]), Options())
    return build_graph(merged, debug=False)


def test_the_graph_carries_the_address_to_supervisord() -> None:
    graph = graph_of({"web": {"listen": "8000"}, "worker": {}})
    assert graph.programs["web"].listen == "127.0.0.1:8000"
    assert graph.programs["worker"].listen is None
    assert Graph.from_json(graph.to_json()) == graph


def test_two_programs_on_one_address_are_refused() -> None:
    with pytest.raises(
        ConfigError, match=re.escape("listen=127.0.0.1:8000 is program 'web''s too")
    ) as error:
        graph_of({"web": {"listen": "8000"}, "api": {"listen": "127.0.0.1:8000"}})
    assert error.value.check_id == "djsupervisor.E017"


def test_a_tcp_check_of_the_held_port_is_refused() -> None:
    with pytest.raises(ConfigError, match="accepts connections before the program does"):
        graph_of({"web": {"listen": "8000", "ready": "tcp:8000"}})
    graph_of({"web": {"listen": "8000", "ready": "tcp:5432"}})  # another port: fine


def test_an_address_held_elsewhere_is_not_free() -> None:
    holder = open_listening("127.0.0.1:0")
    try:
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        with pytest.raises(OSError):
            try_listening(address)
    finally:
        holder.close()
    try_listening(address)  # and free once let go


def test_a_dead_unix_socket_is_replaced_and_a_let_go_one_removed(tmp_path: Path) -> None:
    path = tmp_path / "web.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()  # the file stays, nobody listens: a killed server's
    held = HeldSockets()
    held.give(SimpleNamespace(), f"unix:{path}")
    assert path.is_socket()
    held.keep_only([])
    assert not path.exists()


@pytest.mark.parametrize("handed_over", [False, True])
def test_the_child_gets_the_socket_held_as_it_forks_as_fd_3_with_its_own_pid(
    handed_over: bool,
) -> None:
    """Spawn as supervisord would, through the replaced _prepare_child_fds.

    Handed over: a handover (handover.py) replaced the socket after the
    start that set the spawn up, as before supervisord's own retry.
    """
    held = HeldSockets()
    process = SimpleNamespace(
        config=SimpleNamespace(
            options=SimpleNamespace(minfds=64, dup2=os.dup2, close_fd=_close_quietly),
            redirect_stderr=True,
        )
    )
    out_read, out_write = os.pipe()
    stdin_read, stdin_write = os.pipe()
    process.pipes = {"child_stdin": stdin_read, "child_stdout": out_write}
    held.give(process, "127.0.0.1:0")
    first = held.held["127.0.0.1:0"]
    if handed_over:
        held.held["127.0.0.1:0"] = open_beside(first)
    port = held.held["127.0.0.1:0"].getsockname()[1]
    inode = os.fstat(held.held["127.0.0.1:0"].fileno()).st_ino
    report = "import os, socket; s = socket.socket(fileno=3); print(os.environ['LISTEN_FDS'], os.environ['LISTEN_PID'] == str(os.getpid()), s.getsockname()[1], os.fstat(3).st_ino)"  # noqa: E501
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child execs)
        try:
            process._prepare_child_fds()
            os.execv(sys.executable, [sys.executable, "-c", report])
        finally:
            os._exit(127)
    os.close(out_write)
    os.close(stdin_read)
    with os.fdopen(out_read, "rb") as child_output:
        output = child_output.read().decode()  # until the child exits
    os.waitpid(pid, 0)
    os.close(stdin_write)
    held.close()
    first.close()
    assert output.split() == ["1", "True", str(port), str(inode)]


def _close_quietly(descriptor: int) -> None:
    with contextlib.suppress(OSError):
        os.close(descriptor)


@pytest.mark.parametrize(
    ("argv", "every"),
    [
        (["/venv/bin/gunicorn", "proj.wsgi"], True),
        (["/venv/bin/python", "-m", "gunicorn", "proj.wsgi"], True),
        (["/venv/bin/uvicorn", "--fd", "3", "proj.asgi:application"], False),
        (["/venv/bin/python", "-m", "daphne", "--fd", "3", "proj.asgi:application"], False),
        (["/venv/bin/python", "manage.py", "runserver"], False),
    ],
)
def test_only_gunicorn_is_given_the_held_socket_on_trial(argv: list[str], every: bool) -> None:
    assert serves_every_socket(argv) is every


def test_a_trial_is_checked_on_a_port_of_its_own_on_the_host_its_check_asks() -> None:
    check = Check("http", "http://localhost:8000/health/?x=1", "localhost", 8000)
    assert trial_address(check) == "localhost:0"
    assert trial_check(check, 41234) == Check(
        "http", "http://localhost:41234/health/?x=1", "localhost", 41234
    )
    v6 = Check("http", "http://[::1]:8000/", "::1", 8000)
    assert trial_address(v6) == "[::1]:0"
    assert trial_check(v6, 5) == Check("http", "http://[::1]:5/", "::1", 5)


def test_the_next_spawn_takes_the_passed_trial_instead_of_forking() -> None:
    take_over_next(os.getpid())
    assert fork_for_a_program() == os.getpid()  # no child: the parent's branch, that pid
    take_over_next(12345)
    take_over_next(None)  # withdrawn: the next spawn forks
    pid = fork_for_a_program()
    if pid == 0:  # pragma: no cover (the child)
        os._exit(0)
    assert pid != os.getpid()
    os.waitpid(pid, 0)
