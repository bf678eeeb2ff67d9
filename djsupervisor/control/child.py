"""A child process this one waits for: started here, or inherited across an exec."""

from __future__ import annotations

import os
import signal


class Child:
    """A child process of this one, with a Popen-like handle.

    A child outlives an exec of its parent, which is how the foreground
    command hands supervisord over to its console once Django is done
    (control/__main__.py): the handle is made again from the pid.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

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
