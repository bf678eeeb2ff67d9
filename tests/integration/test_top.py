"""``top`` in a real terminal: tmux runs it, sends it keys and shows what it drew."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from ..needs import require
from ..support import wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

TALKER = (
    '{{ PYTHON }} -c "import itertools, time; '
    "[(print('line', n, flush=True), time.sleep(0.2)) for n in itertools.count()]\""
)
EXITED = "top exited with"
TYPED = "the shell read:"


class Terminal:
    """A 120x30 terminal of the test's own tmux server (its socket, no configuration file).

    The developer's tmux, its shell and its settings stay out of it.
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        self.server = ["tmux", "-L", f"djs-top-{os.getpid()}-{project.path.parent.name}"]

    def tmux(self, *args: str) -> str:
        done = subprocess.run([*self.server, *args], capture_output=True, text=True, check=True)
        return done.stdout

    def start_top(self) -> None:
        """Run ``top``; then the shell reads a line, to show the terminal is usable again."""
        env = " ".join(f"{name}={shlex.quote(value)}" for name, value in self.project.env.items())
        top = " ".join(map(shlex.quote, self.project.command("top")))
        # Typed keys echo and end at Enter only if top gave the terminal back as it found it.
        shell = (
            f"cd {shlex.quote(str(self.project.path))} && env {env} {top}; echo {EXITED} $?; "
            f"read line; echo {TYPED} $line; sleep 60"
        )
        self.tmux(
            "-f", "/dev/null", "new-session", "-d", "-x", "120", "-y", "30", "sh", "-c", shell
        )

    def keys(self, *pressed: str) -> None:
        self.tmux("send-keys", *pressed)

    def shows(self, text: str) -> str:
        """Wait until the screen shows ``text``; return the screen."""

        def showing() -> str | None:
            seen = self.tmux("capture-pane", "-p")
            return seen if text in seen else None

        return wait_for(showing, f"the screen to show {text!r}")

    def close(self) -> None:
        subprocess.run([*self.server, "kill-server"], check=False, capture_output=True)


def restarts(screen: str, name: str) -> str:
    """Return the RESTARTS cell of process ``name``'s row on ``screen``."""
    heading, *rows = screen.splitlines()
    start = heading.index("RESTARTS")
    row = next(row for row in rows if row.split()[:1] == [name])
    return row[start : start + len("RESTARTS")].strip()


@pytest.fixture
def terminal(project: Project) -> Iterator[Terminal]:
    require(shutil.which("tmux"), "tmux (apt-get install tmux)")
    opened = Terminal(project)
    try:
        yield opened
    finally:
        opened.close()


def test_top_shows_restarts_follows_and_leaves_the_terminal_as_it_was(
    project: Project, terminal: Terminal
) -> None:
    project.write(
        "supervisord.conf",
        f"[program:talker]\ncommand={TALKER}\n\n[program:idle]\ncommand=sleep 1000\n",
    )
    assert project.run("-d").returncode == 0
    before = project.wait_running("talker", "idle")
    terminal.start_top()
    drawn = terminal.shows("line ")
    rows = {line.split()[0]: line for line in drawn.splitlines()[1:3]}
    assert sorted(rows) == ["idle", "talker"]
    assert all(" RUNNING " in row and restarts(drawn, name) == "0" for name, row in rows.items())
    restarted, other = rows  # the first row is selected at the start
    terminal.keys("r")
    wait_for(
        lambda: project.processes()[restarted]["pid"] not in (0, before[restarted]), "a restart"
    )
    assert project.processes()[other]["pid"] == before[other]  # only the selected one
    again = terminal.shows(f"{project.processes()[restarted]['pid']} ")
    assert restarts(again, restarted) == "1"
    terminal.keys(*["Down"] * list(rows).index("talker"), "Enter")
    followed = terminal.shows("talker: its output")
    assert followed.count("line ") > 3
    terminal.keys("q")
    terminal.shows("NAME")
    terminal.keys("q")
    after = terminal.shows(f"{EXITED} 0")
    assert "NAME" not in after  # the alternate screen is gone: the shell's is back
    terminal.keys("typed here", "Enter")
    typed = terminal.shows(f"{TYPED} typed here")
    assert "typed here\n" in typed  # echoed as typed, then read as a line


def test_top_without_a_terminal_says_so_in_one_line(project: Project) -> None:
    project.write("supervisord.conf", "[program:idle]\ncommand=sleep 1000\n")
    assert project.run("-d").returncode == 0
    refused = project.run("top")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "CommandError: top needs a terminal; in scripts, use 'status --json' or 'logs --json'"
    )
