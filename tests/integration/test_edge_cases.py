"""Odd cases of the adversarial pass: escapes in output, symlinks, a killed supervisord."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from djsupervisor.supervisord.proctable import is_alive, read_pid

from ..support import WAIT
from .conftest import Project
from .test_foreground import Lines

pytestmark = pytest.mark.integration

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
