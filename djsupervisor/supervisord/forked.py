"""Run a function in a forked copy of this process, with a Popen-like handle."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import traceback
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # prctl(2): the signal to receive when the parent process dies


class Forked:
    """A child process running ``target`` in a fork of this interpreter.

    Starting supervisord this way skips a second Python start-up and the
    imports supervisor shares with djsupervisor: about 0.1 s off every
    foreground start (bench/startup.py). Fork before starting threads.
    """

    def __init__(self, target: Callable[[], object]) -> None:
        self.returncode: int | None = None
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:
            os._exit(_run(target))

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        while self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                break  # reaped elsewhere
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode if self.returncode is not None else 1

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _run(target: Callable[[], object]) -> int:
    """Run ``target`` in the child and return its exit status; never return into the parent."""
    try:
        target()
    except SystemExit as exit:
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or 0
        print(exit.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


def stop_with_parent() -> None:
    """Have the kernel send this process SIGTERM when its parent dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
