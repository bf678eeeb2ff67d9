"""The foreground command once Django is done: ``python -m djsupervisor.control FD``.

``manage.py supervisor`` builds the config, starts supervisord and execs
this (control/foreground.py): the same process, the same terminal, without
Django. It prints the programs' output until supervisord exits, and ends
as the command would have: its errors one line, its exit status. FD is the
inherited descriptor of the handover (foreground.py's ``Handover``), a file
with no name.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TextIO, cast

from ..errors import INTERRUPTED, DjsupervisorError
from ..terminal.stdout import WatchedOutput, end_if_failed
from .foreground import Foreground, Handover


def report(message: str) -> None:
    """Tell the user about something djsupervisor did on its own, as the command does."""
    # Nobody to tell (a closed pipe, a full disk): the programs matter more.
    with contextlib.suppress(OSError):
        print(f"djsupervisor: {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    # Every write to stdout goes through one watcher, as in the command: a
    # closed pipe or a full disk ends it here, not in a traceback.
    output = WatchedOutput(sys.stdout)
    sys.stdout = cast("TextIO", output)
    try:
        status = Foreground(Handover.take(int(argv[0])), report).run()
    except DjsupervisorError as exc:
        print(f"CommandError: {exc}", file=sys.stderr, flush=True)  # as Django says it
        status = 1
    except KeyboardInterrupt:
        status = INTERRUPTED
    except BaseException:
        end_if_failed(output, sys.stderr)  # the output's failure, if it failed, else:
        raise
    end_if_failed(output, sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
