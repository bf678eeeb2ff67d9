"""``top`` in a real terminal: tmux runs it, sends it keys and shows what it drew."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator

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


@pytest.fixture
def tmux(project: Project) -> Iterator[Callable[[], str]]:
    """Return what starts ``top`` on ``project`` in a tmux session (120x30); removed afterwards."""
    require(shutil.which("tmux"), "tmux (apt-get install tmux)")
    session = f"djs-top-{project.path.parent.name}"

    def start() -> str:
        env = " ".join(f"{name}={shlex.quote(value)}" for name, value in project.env.items())
        top = " ".join(map(shlex.quote, project.command("top")))
        shell = (
            f"cd {shlex.quote(str(project.path))} && env {env} {top}; echo {EXITED} $?; sleep 60"
        )
        command = ["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30", shell]
        subprocess.run(command, check=True)
        return session

    try:
        yield start
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def screen(session: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True, check=True
    ).stdout


def keys(session: str, *pressed: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", session, *pressed], check=True)


def shown(session: str, text: str) -> str:
    """Wait until the screen shows ``text``; return the screen."""

    def showing() -> str | None:
        seen = screen(session)
        return seen if text in seen else None

    return wait_for(showing, f"the screen to show {text!r}")


def test_top_shows_restarts_follows_and_leaves_the_terminal_as_it_was(
    project: Project, tmux: Callable[[], str]
) -> None:
    project.write(
        "supervisord.conf",
        f"[program:talker]\ncommand={TALKER}\n\n[program:idle]\ncommand=sleep 1000\n",
    )
    assert project.run("-d").returncode == 0
    before = project.wait_running("talker", "idle")
    session = tmux()
    drawn = shown(session, "talker")
    assert "idle" in drawn and "RUNNING" in drawn and "line " in drawn
    names = [line.split()[0] for line in drawn.splitlines()[1:3]]
    assert sorted(names) == ["idle", "talker"]
    restarted, other = names  # the first row is selected at the start
    keys(session, "r")
    wait_for(
        lambda: project.processes()[restarted]["pid"] not in (0, before[restarted]), "a restart"
    )
    assert project.processes()[other]["pid"] == before[other]  # only the selected one
    keys(session, *["Down"] * names.index("talker"), "Enter")
    followed = shown(session, "talker: its output")
    assert followed.count("line ") > 3
    keys(session, "q")
    shown(session, "NAME")
    keys(session, "q")
    after = shown(session, f"{EXITED} 0")
    assert "NAME" not in after  # the alternate screen is gone: the shell's is back


def test_top_without_a_terminal_says_so_in_one_line(project: Project) -> None:
    project.write("supervisord.conf", "[program:idle]\ncommand=sleep 1000\n")
    assert project.run("-d").returncode == 0
    refused = project.run("top")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "CommandError: top needs a terminal; in scripts, use 'status --json' or 'logs --json'"
    )
