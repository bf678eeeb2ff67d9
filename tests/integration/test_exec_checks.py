"""Exec readiness checks inside a real supervisord, which reaps every child itself."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator
from functools import partial

import pytest

from ..support import alive, command_lines, wait_for
from .conftest import Project
from .test_dependencies import status_of

pytestmark = pytest.mark.integration

GONE_WITHIN = 3.0  # seconds: a check command is killed within ~0.05 s of its cancel


@pytest.fixture
def durations() -> Iterator[list[str]]:
    """Hand out sleep durations no other process uses; kill their sleeps at teardown.

    Request it before ``project``: torn down after it, once supervisord can
    no longer run a check again.
    """
    made: list[str] = []
    try:
        yield made
    finally:
        for duration in made:
            for pid in sleeping(duration):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def unique(durations: list[str]) -> str:
    duration = f"100000.{uuid.uuid4().int % 10**12:012d}"
    durations.append(duration)
    return duration


def sleeping(duration: str) -> list[int]:
    """Return the live sleeps of ``duration`` (zombies are gone; not a shell naming it)."""
    return alive(pid for pid, argv in command_lines().items() if argv == ["sleep", duration])


def replaced(duration: str, old: int) -> list[int]:
    """Return the sleeps of ``duration`` once the one ``old`` is gone and another runs."""
    checks = sleeping(duration)
    return checks if old not in checks else []


def test_a_failing_exec_check_is_never_ready(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[program:failing]\ncommand=sleep 1000\nready=exec:/bin/false\nready_timeout=2\n"
        "[program:blocked]\ncommand=sleep 1000\ndepends_on=failing:ready\n"
        "[program:passing]\ncommand=sleep 1000\nready=exec:true\n"
        "[program:after]\ncommand=sleep 1000\ndepends_on=passing:ready\n",
    )
    result = project.run("-d")
    assert result.returncode == 1
    assert "failing: not ready within 2 s (/bin/false exited with status 1)" in result.stderr
    status = status_of(project)
    assert "not ready within 2 s (/bin/false exited with status 1)" in status["failing"]
    assert "RUNNING" not in status["blocked"]
    assert "blocked: failing not ready within 2 s" in status["blocked"]
    assert "spawned: 'blocked'" not in project.logfile().read_text()
    # The control: a check that passes lets its dependent start.
    assert status["passing"].endswith("ready")
    assert "RUNNING" in status["after"]


def test_a_running_check_command_is_killed_at_the_timeout_and_when_its_program_stops(
    durations: list[str],  # first: torn down after project, when no check can start again
    project: Project,
) -> None:
    slow, held = unique(durations), unique(durations)
    project.write(
        "supervisord.conf",
        f"[program:slow]\ncommand=sleep 1000\nready=exec:sleep {slow}\nready_timeout=2\n"
        # Started below without waiting for it: its check runs until it stops.
        f"[program:held]\ncommand=sleep 1000\nready=exec:sleep {held}\nready_timeout=600\n"
        "autostart=false\n",
    )
    result = project.run("-d")
    assert result.returncode == 1
    assert "slow: not ready within 2 s" in result.stderr
    wait_for(lambda: not sleeping(slow), "slow's check to be killed", GONE_WITHIN)

    client = project.client()
    client.start_processes(["held"])
    (current,) = wait_for(lambda: sleeping(held), "held's check to run")
    for _ in range(2):
        client.restart_processes(["held"])  # stops it (which cancels its check), starts it
        (current,) = wait_for(partial(replaced, held, current), "a new check to replace it")
    assert project.run("shutdown").returncode == 0
    wait_for(lambda: not sleeping(held), "held's check to be killed", GONE_WITHIN)
    assert not sleeping(slow)
