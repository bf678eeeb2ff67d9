"""A trial is kept off one CPU as it starts, and given them all back (inside/cpus.py).

Real processes and threads, moved between real CPUs; skipped on one CPU.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from djsupervisor.inside import cpus

from .support import command_lines, descendants, wait_for

CPUS = frozenset(os.sched_getaffinity(0))
needs_two = pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs")
KEPT = frozenset(CPUS - {min(CPUS)})
# A Python process that starts a thread once told to on its standard input.
THREADED = (
    "import sys, threading, time\n"
    "sys.stdin.readline()\n"
    "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
    "print('started', flush=True)\n"
    "time.sleep(30)\n"
)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts, killed by pid at its end."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        for child in descendants(process.pid):  # the shell's sleeps
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        process.kill()
        process.wait()


def start(processes: list[subprocess.Popen[str]], *argv: str) -> int:
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    processes.append(process)
    return process.pid


def affinities(pid: int) -> set[frozenset[int]]:
    """Return the CPU sets of every thread of ``pid``."""
    tasks = os.listdir(f"/proc/{pid}/task")
    return {frozenset(os.sched_getaffinity(int(thread))) for thread in tasks}


@needs_two
def test_a_trial_keeps_every_cpu_but_one(started: list[subprocess.Popen[str]]) -> None:
    trial, other = start(started, "sleep", "30"), start(started, "sleep", "30")
    assert cpus.spare_one(trial) == KEPT
    assert os.sched_getaffinity(trial) == KEPT
    assert os.sched_getaffinity(other) == CPUS


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
def test_every_process_of_the_trial_gets_every_cpu_back_but_one_that_chose_its_own(
    started: list[subprocess.Popen[str]],
) -> None:
    trial = start(started, "sh", "-c", "sleep 30 & sleep 30 & wait")
    assert cpus.spare_one(trial) == KEPT
    wait_for(lambda: len(descendants(trial)) == 2, "the shell's two children")
    inherited, own_choice = sorted(descendants(trial))
    os.sched_setaffinity(inherited, KEPT)  # forked before the pin reached the shell: as if
    os.sched_setaffinity(own_choice, {min(CPUS)})  # as taskset in the command would
    cpus.give_back(trial, KEPT)
    assert os.sched_getaffinity(trial) == CPUS
    assert os.sched_getaffinity(inherited) == CPUS
    assert os.sched_getaffinity(own_choice) == {min(CPUS)}


@needs_two
def test_every_thread_gets_every_cpu_back(started: list[subprocess.Popen[str]]) -> None:
    # gunicorn's gthread workers start the threads that serve as requests come.
    trial = start(started, sys.executable, "-c", THREADED)
    cpus.spare_one(trial)
    process = started[0]
    assert process.stdin and process.stdout
    process.stdin.write("go\n")
    process.stdin.flush()
    assert process.stdout.readline() == "started\n"
    assert affinities(trial) == {KEPT} and len(os.listdir(f"/proc/{trial}/task")) == 2
    cpus.give_back(trial, KEPT)
    assert affinities(trial) == {CPUS}


@needs_two
def test_a_trial_that_was_not_moved_is_left_alone(started: list[subprocess.Popen[str]]) -> None:
    trial = start(started, "sleep", "30")
    os.sched_setaffinity(trial, KEPT)
    cpus.give_back(trial, frozenset())  # spare_one moved nothing
    assert os.sched_getaffinity(trial) == KEPT


@needs_two
def test_processes_forked_before_their_parent_got_every_cpu_are_found_on_later_looks(
    started: list[subprocess.Popen[str]],
) -> None:
    parent, child, grandchild, unseen = (start(started, "sleep", "30") for _ in range(4))
    for pid in (parent, child, grandchild, unseen):
        os.sched_setaffinity(pid, KEPT)
    # The fourth look gives nothing: the looks end there, before the fifth.
    looks = iter([[parent], [parent, child], [parent, child, grandchild], [parent], [unseen]])
    cpus.give_back_to(lambda: next(looks), KEPT)
    assert [os.sched_getaffinity(pid) for pid in (parent, child, grandchild)] == [CPUS] * 3
    assert os.sched_getaffinity(unseen) == KEPT


@needs_two
def test_a_process_of_the_trials_group_whose_parent_exited_gets_every_cpu_back() -> None:
    # A server that daemonizes: its process is re-parented, no descendant any more.
    trial = subprocess.Popen(["sh", "-c", "(sleep 30 &); sleep 30"], start_new_session=True)
    try:
        orphan = wait_for(lambda: orphaned_sleeps(trial.pid), "the orphaned sleep")[0]
        os.sched_setaffinity(orphan, KEPT)  # as it inherited from the trial
        cpus.give_back(trial.pid, KEPT)
        assert os.sched_getaffinity(orphan) == CPUS
    finally:
        os.killpg(trial.pid, signal.SIGKILL)
        trial.wait()


def orphaned_sleeps(leader: int) -> list[int]:
    """Return the ``sleep`` processes of ``leader``'s group that are not its descendants."""
    sleeps = [pid for pid, argv in command_lines().items() if argv == ["sleep", "30"]]
    return [pid for pid in sleeps if _group_of(pid) == leader and pid not in descendants(leader)]


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
