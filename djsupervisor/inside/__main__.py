"""supervisord in the foreground, as the foreground command starts it.

``python -m djsupervisor.inside``: a fresh interpreter, without the
command's Django (bench/memory.py). The command starts it first thing, so
that it imports supervisor while the command builds the config; then it
reads the config's path and the project directory from its standard input
(the command's pipe), and runs supervisord. Its standard output and error
are the command's pipe too: the console shows them. Nothing on its
standard input (the command failed before the config was written): it
ends, having started nothing.

It leaves the terminal's process group, so that a Ctrl-C reaches the
command alone (which stops the programs by their dependencies, faster than
supervisord's own shutdown), and ends when the command dies.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from supervisor import options, supervisord

from ..proctable import stop_with_parent
from ..runtime import PROJECT_DIR_VARIABLE
from . import output, rpcinterface
from .spawning import SUPERVISORD_SIGNALS

OUTPUT_FLUSH_TIMEOUT = 2.0  # seconds supervisord takes to send the programs' last words
__all__ = ["rpcinterface"]  # imported now, while the command builds the config


def main() -> None:
    # Blocked until supervisord handles them: a stop the console sends as
    # supervisord reads its config is then a clean shutdown, not a kill.
    signal.pthread_sigmask(signal.SIG_BLOCK, SUPERVISORD_SIGNALS)
    options.ServerOptions.setsignals = _handled_then_unblocked(options.ServerOptions.setsignals)
    config_path, project_dir = sys.stdin.readline().strip(), sys.stdin.readline().strip()
    if not config_path:
        return
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # programs inherit no terminal input
    os.environ[PROJECT_DIR_VARIABLE] = project_dir
    # supervisord's usage errors would end with "For help, use manage.py -h",
    # which is no help here: the command says what failed.
    options.ServerOptions.usage = _usage_error
    output.say_failed_log_writes_once()
    try:
        supervisord.main(["-n", "-c", config_path])
    except Exception as exc:
        print(f"Error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    finally:
        output.flush(OUTPUT_FLUSH_TIMEOUT)


def _handled_then_unblocked(setsignals: Callable[[Any], None]) -> Callable[[Any], None]:
    def handled_then_unblocked(self: Any) -> None:
        setsignals(self)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SUPERVISORD_SIGNALS)

    return handled_then_unblocked


def _usage_error(self: Any, message: str) -> None:
    self.stderr.write(f"Error: {message}\n")
    self.exit(2)


if __name__ == "__main__":
    os.setpgid(0, 0)  # the command does it too: whichever comes first
    stop_with_parent()
    if os.getppid() != 1:  # else the command died before this process could hear of it
        main()
