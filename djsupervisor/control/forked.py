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

    def running(self) -> bool:
        """Tell whether the child has not exited yet.

        It is not reaped here (WNOWAIT): only :meth:`wait` reaps it, so a
        thread that checks it before signalling never takes its exit status
        from the thread waiting for it.
        """
        if self.returncode is not None:
            return False
        try:
            exited = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False  # wait() has just reaped it
        return exited is None or exited.si_pid == 0

    def wait(self) -> int:
        """Wait for the child to exit, reap it and return its exit status."""
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.running():
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
