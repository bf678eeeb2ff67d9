"""Odd cases of the adversarial pass: escapes in output, symlinks, a killed supervisord."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import time
import xmlrpc.client
from pathlib import Path

import pytest

from djsupervisor.proctable import is_alive, read_pid

from ..support import WAIT
from .conftest import Project
from .test_foreground import Lines
from .test_hardening import one_clear_error

pytestmark = pytest.mark.integration

GONE_CLIENTS = 3  # calls whose client goes away before the answer
BIG_ANSWER = 2_000_000  # bytes: more than a unix socket holds

ESCAPES = (
    "import sys, time\n"
    "sys.stdout.write('\\x1b]0;a new title\\x07\\x1b[2J\\x1b[Hcleared \\x1b[31mred\\n')\n"
    "sys.stdout.write('after\\n')\n"
    "sys.stdout.flush()\n"
    "time.sleep(1000)\n"
)


def test_escapes_in_output_do_not_reach_the_terminal_but_colours_do(project: Project) -> None:
    project.write("escapes.py", ESCAPES)
    project.write("supervisord.conf", "[program:escapes]\ncommand={{ PYTHON }} escapes.py\n")
    command = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    output.wait_for("after")
    assert output.wait_for("cleared") == [
        "escapes      | ^[]0;a new title^G^[[2J^[[Hcleared \x1b[31mred\x1b[0m"
    ]
    command.send_signal(signal.SIGTERM)
    command.wait(WAIT)
    logs = project.run("logs", "escapes")
    assert "escapes      | ^[]0;a new title^G^[[2J^[[Hcleared" in logs.stdout


def test_the_foreground_says_that_its_supervisord_was_killed(project: Project) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    command = project.start_foreground(stderr=subprocess.PIPE)
    web = project.wait_running("web")["web"]
    supervisord = read_pid(project.pidfile())
    assert supervisord is not None
    os.kill(supervisord, signal.SIGKILL)
    _, stderr = command.communicate(timeout=WAIT)
    assert command.returncode == 1, (command.returncode, stderr)
    assert stderr.splitlines()[-1] == "CommandError: supervisord died: killed by signal 9 (SIGKILL)"
    assert "Traceback" not in stderr
    assert not is_alive(web)  # the programs went with it


def test_a_client_that_goes_away_before_its_answer_is_no_error(project: Project) -> None:
    """What a start with hundreds of programs met: its own calls given up, and answered late."""
    project.write(
        "supervisord.conf",
        f"[program:web]\ncommand={{{{ PYTHON }}}} -c \"print('x' * {BIG_ANSWER}); "
        'import time; time.sleep(1000)"\n',
    )
    command = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    project.wait_running("web")
    output.wait_for("web +[|] x")
    client = project.client()
    body = xmlrpc.client.dumps(("web", 0, 2 * BIG_ANSWER), "supervisor.readProcessStdoutLog")
    secret = base64.b64encode(f"{client.username}:{client.password}".encode()).decode()
    request = (
        f"POST /RPC2 HTTP/1.0\r\nAuthorization: Basic {secret}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()
    for _ in range(GONE_CLIENTS):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as gone:
            gone.connect(client.url.removeprefix("unix://"))
            gone.sendall(request)
            # More than the socket holds: supervisord is still writing when it closes.
            time.sleep(0.2)
    project.processes()  # answered after those
    command.send_signal(signal.SIGTERM)
    command.wait(WAIT)
    shown = output.last(len(output.lines))
    assert "web stopped" in shown
    assert "uncaptured" not in shown and "BrokenPipe" not in shown, shown


def test_the_same_directory_by_another_path_is_not_started_twice(
    project: Project, tmp_path: Path
) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    real = project.path
    link = tmp_path / "link"
    link.symlink_to(real)
    project.path = link
    assert project.run("-d").returncode == 0
    project.path = real
    try:
        second = project.run("-d")
        if second.returncode == 0:  # two supervisords: the second one goes
            project.run("shutdown")
    finally:
        project.path = link  # where the cleanup finds the first one
    one_clear_error(
        second,
        f"already running for this project directory, started as {link} (the same directory "
        f"by another path); run the commands from {link}",
    )
    status = project.run("status")
    assert status.returncode == 0 and "RUNNING" in status.stdout
