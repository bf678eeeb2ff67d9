"""The command's standard output watched for a closed pipe or a full disk, on real descriptors."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from djsupervisor.terminal.stdout import WatchedOutput, end_if_failed

PIPE_SIZE = 4096  # bytes: the smallest pipe


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        with contextlib.suppress(OSError):  # closed by the test
            os.close(fd)


def test_the_first_failure_is_remembered_and_raised() -> None:
    with open("/dev/full", "w") as full:
        output = WatchedOutput(full)
        with pytest.raises(OSError, match="No space left"):
            output.write("x" * 100_000)
        assert output.failed is not None and output.failed.errno == errno.ENOSPC


def test_a_flush_fails_once_the_reader_has_gone(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    writer = io.TextIOWrapper(io.FileIO(write_end, "w", closefd=False))
    output = WatchedOutput(writer)
    output.flush()
    assert output.failed is None
    os.close(read_end)
    with pytest.raises(BrokenPipeError):
        output.flush()  # with nothing to write: what 'logs -f' does while it waits
    assert output.failed is not None and output.failed.errno == errno.EPIPE


def test_unbuffered_writes_cut_short_by_a_closed_pipe_fail(pipe: tuple[int, int]) -> None:
    """Python -u writes to the raw file and drops what a partial write left: no longer."""
    read_end, write_end = pipe
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    unbuffered = io.TextIOWrapper(io.FileIO(write_end, "w", closefd=False), write_through=True)
    output = WatchedOutput(unbuffered)
    output.write("fits\n")
    assert os.read(read_end, 100) == b"fits\n"
    # A reader that takes a little and goes away while the write waits.
    reader = subprocess.Popen(
        [sys.executable, "-c", f"import os, time; time.sleep(0.2); os.read({read_end}, 100)"],
        pass_fds=[read_end],
    )
    os.close(read_end)
    with pytest.raises(BrokenPipeError):
        output.write("x" * 100_000)
    reader.wait()


def test_nothing_happens_when_nothing_failed() -> None:
    out, said = io.StringIO(), io.StringIO()
    output = WatchedOutput(out)
    output.write("fine\n")
    end_if_failed(output, said)
    assert (out.getvalue(), said.getvalue()) == ("fine\n", "")


def test_a_full_disk_ends_with_one_line() -> None:
    said = io.StringIO()
    with open("/dev/full", "w") as full:
        output = WatchedOutput(full)
        with pytest.raises(OSError):
            output.write("x" * 100_000)
        with pytest.raises(SystemExit) as exit:
            end_if_failed(output, said)
    assert exit.value.code == 1
    assert said.getvalue() == (
        "CommandError: cannot write to standard output: No space left on device\n"
    )


def test_a_closed_pipe_ends_by_sigpipe_silently() -> None:
    script = (
        "import sys\n"
        "from djsupervisor.terminal.stdout import WatchedOutput, end_if_failed\n"
        "output = WatchedOutput(sys.stdout)\n"
        "try:\n"
        "    output.write('x' * 1_000_000)\n"
        "except OSError:\n"
        "    pass\n"
        "end_if_failed(output, sys.stderr)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    with child:
        assert child.stdout is not None and child.stderr is not None
        child.stdout.read(1)
        child.stdout.close()
        assert (child.wait(), child.stderr.read()) == (-signal.SIGPIPE, b"")


def test_a_reader_gone_after_a_good_end_is_no_error_at_exit() -> None:
    """``getconfig | head -1``: all was written; Python's flush at exit finds the pipe closed."""
    script = (
        "import sys\n"
        "from djsupervisor.terminal.stdout import WatchedOutput, end_if_failed\n"
        "sys.stdout = output = WatchedOutput(sys.stdout)\n"
        "output.write('one\\ntwo\\n')\n"
        "end_if_failed(output, sys.stderr)\n"
        "print('ended', file=sys.stderr, flush=True)\n"
        "sys.stdin.read()  # until the reader has gone\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with child:
        assert child.stdin is not None and child.stdout is not None
        assert child.stderr is not None
        assert child.stdout.readline() == b"one\n"
        assert child.stderr.readline() == b"ended\n"  # all written, and said so
        child.stdout.close()
        child.stdin.close()
        assert (child.wait(), child.stderr.read()) == (0, b"")
