"""supervisord's spellings of autorestart keep their meaning under the crash backoff.

The orchestrator, not supervisord, restarts a program that exits (after 1 s,
then longer): it must read ``no`` as ``false`` and ``yes`` as ``true``, as
supervisord does. Every spelling runs in one supervisord, to keep this quick.
"""

from __future__ import annotations

import time

import pytest

from ..support import wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

# startsecs=0: an exit after 0.3 s is not a failure to start, which
# supervisord would retry itself whatever autorestart says.
PROGRAM = """
[program:{name}]
command=sh -c 'echo started >> {name}.log; sleep 0.3; exit {status}'
startsecs=0
{option}
"""
NEVER = ("no", "Off", "0", "FALSE")
ALWAYS = ("yes", "On", "1", "True")
FIRST_RESTART = 1.0  # seconds: the backoff's first delay
WATCH = 4.0  # seconds from the start: long enough to see a restart after the first run


def name_of(spelling: str) -> str:
    return f"as_{spelling.lower()}"


def start(project: Project, programs: dict[str, tuple[int, str]]) -> float:
    """Write a program per name (its exit status and autorestart line), start them; return when."""
    conf = "".join(
        PROGRAM.format(name=name, status=status, option=option)
        for name, (status, option) in programs.items()
    )
    project.write("supervisord.conf", conf)
    started = time.monotonic()
    result = project.run("-d")
    assert "Traceback" not in result.stderr, result.stderr
    return started


def runs(project: Project, name: str) -> int:
    """Return how many times program ``name`` has started."""
    log = project.path / f"{name}.log"
    return log.read_text().count("started") if log.exists() else 0


def test_a_program_never_to_be_restarted_runs_once(project: Project) -> None:
    programs = {name_of(s): (1, f"autorestart={s}") for s in NEVER}
    # The control crashes the same way and is restarted (autorestart=unexpected):
    # seeing it run twice shows the others had the time to be.
    programs["control"] = (1, "")
    started = start(project, programs)
    wait_for(lambda: runs(project, "control") >= 2, "the control to be restarted", WATCH + 2)
    time.sleep(max(0.0, started + WATCH - time.monotonic()))
    counts = {spelling: runs(project, name_of(spelling)) for spelling in NEVER}
    assert counts == dict.fromkeys(NEVER, 1), f"runs by spelling: {counts}"


def test_a_program_always_to_be_restarted_is_restarted_after_a_clean_exit(
    project: Project,
) -> None:
    # Exit status 0 is expected: only autorestart=true restarts it.
    start(project, {name_of(s): (0, f"autorestart={s}") for s in ALWAYS})

    def counts() -> dict[str, int]:
        return {spelling: runs(project, name_of(spelling)) for spelling in ALWAYS}

    try:
        wait_for(lambda: min(counts().values()) >= 2, "every program to be restarted", 5.0)
    except TimeoutError:
        raise AssertionError(f"runs by spelling: {counts()}") from None
