"""A closed pipe or a full disk on the command's output, and a full disk under the logs."""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from djsupervisor.control.stale import SERVER_URL_VARIABLE
from djsupervisor.proctable import (
    is_alive,
    read_pid,
    stop_process_groups,
    with_environment,
)

from ..needs import require
from ..support import WAIT, command_lines, wait_for
from .conftest import Project, Result
from .test_foreground import Lines
from .test_hardening import one_clear_error

pytestmark = pytest.mark.integration

PIPE_SIZE = 4096  # bytes: the smallest pipe, so that little output outgrows it
HEAD_BYTES = 100  # what the reader takes before it goes away, as 'head -1' would
MANY_PROGRAMS = 3000  # getconfig prints about 160 bytes for each: far more than a pipe holds
SLEEPERS = 150  # status prints about 65 bytes for each process
TALKER_LINES = 400  # of about 80 bytes each
SMALL_DISK = "1m"  # a tmpfs this small fills up in a moment
FILL_CHUNK = 64 * 1024  # bytes
# 200 lines of 100 bytes a second: the log files soon need a block more.
FAST_TICKER = """
[program:ticker]
command={{ PYTHON }} -c "import itertools, time; [print('tick', n, 'x' * 100, flush=True) or time.sleep(0.005) for n in itertools.count()]"
"""  # noqa: E501

TALKER = (
    "import sys, time\n"
    "for n in range(int(sys.argv[1])):\n"
    "    print('line', n, 'x' * 60)\n"
    "sys.stdout.flush()\n"
    "time.sleep(1000)\n"
)

RUNNING = f"""
[program:sleeper]
command=sleep 1000
numprocs={SLEEPERS}
process_name=%(program_name)s_%(process_num)03d

[program:talker]
command={{{{ PYTHON }}}} talker.py {TALKER_LINES}
"""


def many_programs(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "".join(f"[program:p{n}]\ncommand=sleep 1000\n" for n in range(MANY_PROGRAMS)),
    )


def running(project: Project) -> None:
    """Start sleepers and a talker whose lines are all in the journal and its log."""
    project.write("talker.py", TALKER)
    project.write("supervisord.conf", RUNNING)
    started = project.run("-d")
    assert started.returncode == 0, started.stderr

    def talked() -> bool:
        logged = project.run("logs", "-n", str(TALKER_LINES), "talker").stdout
        return logged.count("\n") >= TALKER_LINES

    wait_for(talked, f"the talker's {TALKER_LINES} lines in the journal")


def into_full_disk(project: Project, *args: str) -> Result:
    """Run ``manage.py supervisor ARGS > /dev/full``."""
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            project.command(*args),
            cwd=project.path,
            env=project.env,
            stdout=full,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )
    return Result(done.returncode, "", done.stderr)


def into_closed_pipe(project: Project, *args: str) -> Result:
    """Run ``manage.py supervisor ARGS | head -1``: its reader takes a little and goes away."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    process = project.start_foreground(
        *args, stdout=write_end, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    os.close(write_end)
    try:
        first = os.read(read_end, HEAD_BYTES).decode()
    finally:
        os.close(read_end)
    _, stderr = process.communicate(timeout=WAIT * 2)
    return Result(process.returncode, first, stderr)


def ended_by_closed_pipe(result: Result) -> None:
    """Assert the command was ended by SIGPIPE, as 'cat' would be, having said nothing."""
    assert result.stdout, "nothing was printed before the pipe closed"
    assert (result.returncode, result.stderr) == (-signal.SIGPIPE, "")


def one_line_full_disk(result: Result) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stderr.splitlines() == [
        "CommandError: cannot write to standard output: No space left on device"
    ]


@pytest.mark.parametrize("unbuffered", ["", "1"], ids=["buffered", "PYTHONUNBUFFERED"])
def test_getconfig_into_a_closed_pipe_ends_silently(project: Project, unbuffered: str) -> None:
    # Under python -u a write cut short by the closed pipe went unnoticed: exit status 0.
    project.env["PYTHONUNBUFFERED"] = unbuffered
    many_programs(project)
    ended_by_closed_pipe(into_closed_pipe(project, "getconfig"))


def test_getconfig_onto_a_full_disk_says_so_in_one_line(project: Project) -> None:
    many_programs(project)
    one_line_full_disk(into_full_disk(project, "getconfig"))


def test_commands_into_a_closed_pipe_end_silently(project: Project) -> None:
    project.env.pop("PYTHONUNBUFFERED", None)
    running(project)
    for args in (
        ("status",),
        ("logs", "-n", str(TALKER_LINES)),
        ("logs", "-f"),  # would follow forever
        ("tail", "-30000", "talker"),  # supervisorctl's
    ):
        result = into_closed_pipe(project, *args)
        assert result.stdout, args
        ended_by_closed_pipe(result)


def test_commands_onto_a_full_disk_say_so_in_one_line(project: Project) -> None:
    running(project)
    for args in (
        ("status",),
        ("status", "talker"),
        ("logs",),
        ("tail", "talker"),
        ("pid", "talker"),
    ):
        one_line_full_disk(into_full_disk(project, *args))


def test_the_foreground_into_a_closed_pipe_stops_the_programs_silently(project: Project) -> None:
    project.env.pop("PYTHONUNBUFFERED", None)
    project.write("talker.py", TALKER)
    # Enough to outgrow the pipe, not so much that supervisord, still reading
    # it all when told to stop, takes seconds on a loaded machine.
    project.write(
        "supervisord.conf", f"[program:talker]\ncommand={{{{ PYTHON }}}} talker.py {TALKER_LINES}\n"
    )
    ended_by_closed_pipe(into_closed_pipe(project))
    assert project.processes() == {}, "supervisord is still running"


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """Mount a 1 MB tmpfs (as root, as in CI); unmount it after the projects are cleaned up.

    Requested before ``project``, it is torn down after it: every process
    is stopped by pid before the unmount. Under /tmp: the control socket's
    path must be short.
    """
    disk = Path(tempfile.mkdtemp(prefix="djs-disk-", dir="/tmp"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK}", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        disk.rmdir()
    require(mounted.returncode == 0, f"mount -t tmpfs (as root): {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        stop_everything_on(disk)
        if subprocess.run(["umount", str(disk)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], check=True)
        disk.rmdir()


def stop_everything_on(disk: Path) -> None:
    """Kill, by pid, each supervisord whose runtime directory is on ``disk``, and its programs.

    The project's own cleanup leaves a supervisord whose command line names
    neither the project nor the default runtime directory alone.
    """
    for runtime in disk.glob("run/*"):
        supervisord = read_pid(runtime / "supervisord.pid")
        argv = command_lines().get(supervisord, []) if supervisord else []
        if supervisord and is_alive(supervisord) and any(str(disk) in word for word in argv):
            os.kill(supervisord, signal.SIGKILL)
        url = f"unix://{runtime / 'supervisor.sock'}"
        stop_process_groups(with_environment(SERVER_URL_VARIABLE, url))


def fill(disk: Path) -> None:
    """Write zeros to ``disk`` until it is full."""
    with (disk / "filler").open("wb", buffering=0) as filler:
        while True:
            try:
                filler.write(bytes(FILL_CHUNK))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    # What is left is less than a chunk: take it too.
    with (disk / "filler").open("ab", buffering=0) as filler:
        for size in (4096, 1):
            try:
                while True:
                    filler.write(bytes(size))
            except OSError:
                pass


def on_small_disk(project: Project, disk: Path) -> None:
    project.write("supervisord.conf", FAST_TICKER)
    project.add_settings(f"SUPERVISOR_RUNTIME_DIR = {str(disk / 'run')!r}\n")


def test_reload_on_a_full_disk_says_so_in_one_line(small_disk: Path, project: Project) -> None:
    on_small_disk(project, small_disk)
    # A file rendered with the templated filter is written at each reload too.
    project.write("extra.conf", "rendered\n" * 100)
    with (project.path / "supervisord.conf").open("a") as conf:
        conf.write("\n[program:other]\ncommand=sh -c 'sleep 1000' {{ \"extra.conf\"|templated }}\n")
    started = project.run("-d")
    assert started.returncode == 0, started.stderr
    pid = project.wait_running("ticker")["ticker"]
    project.write("extra.conf", "rendered\n" * 10_000)  # its copy now needs more room
    fill(small_disk)
    for command in ("reload", "update"):
        line = one_clear_error(project.run(command), "cannot write ", str(small_disk / "run"))
        assert "No space left on device; the disk is full" in line
    assert project.wait_running("ticker")["ticker"] == pid  # untouched


def test_the_foreground_on_a_full_disk_says_so_once(small_disk: Path, project: Project) -> None:
    on_small_disk(project, small_disk)
    command = project.start_foreground(stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    project.wait_running("ticker")
    fill(small_disk)
    said = output.wait_for("cannot write the log files in")
    assert said == [
        f"djsupervisor | cannot write the log files in {project_logs(project)}: No space left "
        "on device; the programs go on, and their output shows here but is not logged until "
        "the disk has room"
    ]
    ticks = len(output.lines)
    time.sleep(2)  # 400 lines, each of which failed to be logged
    assert len(output.lines) > ticks + 100, "the programs' output stopped"
    command.send_signal(signal.SIGTERM)
    command.wait(WAIT)
    text = output.last(len(output.lines))
    assert "Traceback" not in text, text
    assert text.count("cannot write") == 1


def project_logs(project: Project) -> str:
    return str(Path(project.config()["supervisord"]["logfile"]).parent)
