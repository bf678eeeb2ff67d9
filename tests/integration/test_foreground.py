"""The foreground command as a developer lives in it: live prefixed output, clean stops."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import threading
from typing import IO

import pytest

from djsupervisor.proctable import is_alive, with_environment

from ..support import WAIT, alive, descendants, wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

TALKERS = """
[program:ticker]
command={{ PYTHON }} -c "import time; [print('tick', n) or time.sleep(0.2) for n in range(10000)]"

[program:grumbler]
command=sh -c 'while true; do echo grumble >&2; sleep 0.2; done'
"""

# A program whose shell starts two children: one in its process group, and
# one that leaves it with setsid, as a daemonizing helper would.
SPAWNER = """
[program:spawner]
command=sh -c 'sleep 1001 & setsid sleep 1002 & sleep 1003'
"""

TICK = r"ticker +\| tick \d+"  # stdout
GRUMBLE = r"grumbler +\| grumble"  # stderr, which Django and gunicorn use for normal lines
ANSI = re.compile(r"\x1b\[[0-9;]*m")
MARK = "DJSUPERVISOR_TEST_MARK"  # set for one test's command, to find what it started


class Lines:
    """Collect a stream's lines from a thread, as they arrive."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        try:
            for raw in iter(stream.readline, b""):
                self.lines.append(raw.decode(errors="replace").rstrip("\r\n"))
        except OSError:
            pass  # a pseudo-terminal whose other end has closed

    def last(self, count: int = 20) -> str:
        """Return the last ``count`` lines, once the stream has ended (or WAIT has passed)."""
        self._thread.join(WAIT)
        return "\n".join(self.lines[-count:])

    def wait_for(self, pattern: str, count: int = 1) -> list[str]:
        """Wait until ``count`` lines match ``pattern``; return them."""

        def matching() -> list[str] | None:
            found = [line for line in self.lines if re.search(pattern, line)]
            return found if len(found) >= count else None

        try:
            return wait_for(matching, f"{count} line(s) matching {pattern!r}")
        except TimeoutError as exc:
            raise AssertionError(f"{exc}; output so far: {self.lines[-20:]}") from None


@pytest.mark.smoke
def test_output_is_live_prefixed_and_aligned(project: Project) -> None:
    project.write("supervisord.conf", TALKERS)
    command = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    # Both streams appear while the programs still run: print() is not
    # block-buffered; stderr looks like stdout, as honcho shows it.
    ticks = output.wait_for(f"^{TICK}$", count=3)
    grumbles = output.wait_for(f"^{GRUMBLE}$", count=3)
    assert command.poll() is None
    assert len({line.index("|") for line in ticks + grumbles}) == 1
    starting = output.wait_for(r"^supervisord +\| ticker started \(pid \d+\)$")
    assert starting[0].index("|") == ticks[0].index("|")
    assert not any(ANSI.search(line) for line in output.lines)  # a pipe gets no colour
    # Every line whole: one program's text never runs into another's.
    for line in output.lines:
        assert re.match(rf"^({TICK}|{GRUMBLE}|supervisord +\| .*)$", line), line
    # The log files still get everything.
    assert "tick 2" in project.run("tail", "ticker").stdout
    assert "grumble" in project.run("tail", "grumbler", "stderr").stdout


@pytest.mark.parametrize(("no_color", "colored"), [(None, True), ("1", False)])
def test_colour_on_a_terminal_unless_no_color(
    project: Project, no_color: str | None, colored: bool
) -> None:
    project.write("supervisord.conf", TALKERS)
    if no_color:
        project.env["NO_COLOR"] = no_color
    terminal, child_end = pty.openpty()
    command = project.start_foreground(stdout=child_end, text=False)
    os.close(child_end)
    with os.fdopen(terminal, "rb", buffering=0) as stream:
        output = Lines(stream)
        (tick,) = output.wait_for(r"ticker.*tick", count=1)[:1]
        command.send_signal(signal.SIGTERM)
        assert command.wait(WAIT) == 0
    assert bool(ANSI.search(tick)) is colored
    assert ANSI.sub("", tick).startswith("ticker ")


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_stop_leaves_nothing_running(project: Project, stop: str) -> None:
    project.write("supervisord.conf", SPAWNER)
    command = project.start_foreground(start_new_session=True, stderr=subprocess.PIPE)
    program = project.wait_running("spawner")["spawner"]
    # supervisord, the program's shell and its three children.
    everything = wait_for(
        lambda: found if len(found := descendants(command.pid)) >= 5 else None,
        "the program's children",
    )
    if stop == "ctrl-c":
        os.killpg(command.pid, signal.SIGINT)  # a terminal signals its foreground group
    else:
        command.send_signal(signal.SIGTERM)
    _, stderr = command.communicate(timeout=WAIT)
    assert command.returncode == 0
    assert not alive([program, *everything])
    # The setsid child escaped the program's process group; the sweep got it.
    assert "stopped processes the programs had started and left running" in stderr


def test_second_stop_request_kills_at_once(project: Project) -> None:
    project.write(
        "stubborn.py",
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(1000)
        """,
    )
    project.write(
        "supervisord.conf",
        "[program:stubborn]\ncommand={{ PYTHON }} stubborn.py\nstopwaitsecs=600\n",
    )
    command = project.start_foreground(stderr=subprocess.PIPE, text=False)
    assert command.stderr is not None
    errors = Lines(command.stderr)
    stubborn = project.wait_running("stubborn")["stubborn"]
    command.send_signal(signal.SIGTERM)
    errors.wait_for("djsupervisor: waiting for stubborn to stop")
    assert command.poll() is None and is_alive(stubborn)  # stopwaitsecs is honoured
    command.send_signal(signal.SIGTERM)
    errors.wait_for("stopping everything now")
    assert command.wait(WAIT) == 0
    assert not alive([stubborn])


def test_a_start_that_fails_before_supervisord_runs_leaves_no_supervisord(
    project: Project,
) -> None:
    """supervisord is started before the config is built: a config error must end it too."""
    mark = f"{os.getpid()}-{id(project)}"
    project.env[MARK] = mark  # inherited by whatever the command starts
    project.write("supervisord.conf", "[program:broken]\nautostart=true\n")
    done = project.run()
    assert done.returncode == 1
    assert done.stderr.startswith("CommandError: program 'broken' has no command")
    assert len(done.stderr.splitlines()) == 1
    # The waiting supervisord ended, having started nothing: it reads the end
    # of its input, or hears of its parent's death while still importing, or
    # finds its parent gone once imported (each alone would do).
    wait_for(
        lambda: not with_environment(MARK, mark),
        "the supervisord started for the failed start to end",
    )
