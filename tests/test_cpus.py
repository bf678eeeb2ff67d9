"""A trial is kept off one CPU as it starts, and given them all back (inside/cpus.py).

Real processes (``sleep``), moved between real CPUs; skipped on one CPU.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from djsupervisor.inside import cpus

CPUS = os.sched_getaffinity(0)
needs_two = pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs")


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [subprocess.Popen(["sleep", "30"]) for _ in range(2)]
    yield started
    for process in started:
        process.kill()
        process.wait()


@needs_two
def test_a_trial_keeps_every_cpu_but_one(sleepers: list[subprocess.Popen[bytes]]) -> None:
    kept = cpus.spare_one(sleepers[0].pid)
    assert kept == CPUS - {min(CPUS)}
    assert os.sched_getaffinity(sleepers[0].pid) == kept
    assert os.sched_getaffinity(sleepers[1].pid) == CPUS


def test_a_gone_process_is_not_moved() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert cpus.spare_one(gone.pid) == frozenset()


def test_on_one_cpu_nothing_is_kept_off() -> None:
    code = (
        "import os, subprocess\n"
        f"os.sched_setaffinity(0, {{{min(CPUS)}}})\n"
        "from djsupervisor.inside import cpus\n"
        "child = subprocess.Popen(['sleep', '30'])\n"
        "print(sorted(cpus.spare_one(child.pid)), sorted(os.sched_getaffinity(child.pid)))\n"
        "child.kill(); child.wait()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", f"[{min(CPUS)}]"]


@needs_two
def test_every_cpu_comes_back_but_to_a_process_that_chose_its_own(
    sleepers: list[subprocess.Popen[bytes]],
) -> None:
    trial, own_choice = (process.pid for process in sleepers)
    kept = cpus.spare_one(trial)
    os.sched_setaffinity(own_choice, {min(CPUS)})  # as taskset in the command would
    gone = subprocess.Popen(["true"])
    gone.wait()
    cpus.give_back(lambda: [trial, own_choice, gone.pid], kept)
    assert os.sched_getaffinity(trial) == CPUS
    assert os.sched_getaffinity(own_choice) == {min(CPUS)}


@needs_two
def test_a_process_that_was_not_moved_is_left_alone(
    sleepers: list[subprocess.Popen[bytes]],
) -> None:
    pid = sleepers[0].pid
    os.sched_setaffinity(pid, CPUS - {min(CPUS)})
    cpus.give_back(lambda: [pid], frozenset())  # spare_one moved nothing
    assert os.sched_getaffinity(pid) == CPUS - {min(CPUS)}


@needs_two
def test_a_process_forked_between_the_two_lists_gets_every_cpu(
    sleepers: list[subprocess.Popen[bytes]],
) -> None:
    parent, late_child = (process.pid for process in sleepers)
    kept = cpus.spare_one(parent)
    os.sched_setaffinity(late_child, kept)  # forked from it before it got them back
    lists = iter([[parent], [parent, late_child]])
    cpus.give_back(lambda: next(lists), kept)
    assert os.sched_getaffinity(parent) == CPUS
    assert os.sched_getaffinity(late_child) == CPUS
