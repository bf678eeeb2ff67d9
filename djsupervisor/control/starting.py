"""Start supervisord before the config is built, so that it imports supervisor meanwhile.

The management command starts it first thing (``python -m
djsupervisor.inside``, which then waits on its standard input for the
config's path): this module is kept small, so that the process starts
before the command imports the config build.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..runtime import PROJECT_DIR_VARIABLE

if TYPE_CHECKING:
    from ..config.build import Config


def supervisord_environment(project_dir: Path | None) -> dict[str, str]:
    """Return the environment for supervisord, which its programs inherit.

    None: the project directory is told later (the foreground's supervisord
    starts before the config is built: inside/__main__.py).
    """
    # Python programs would otherwise buffer output written to a pipe, and
    # their print()s would show up in bursts; a program can set it back.
    # The project directory tells a web process that is not started by
    # manage.py (gunicorn) which project's supervisord to reach (the admin's
    # Processes page).
    project = {PROJECT_DIR_VARIABLE: str(project_dir)} if project_dir else {}
    return {"PYTHONUNBUFFERED": "1", **os.environ, **project}


@dataclass
class Starting:
    """A fresh supervisord, started before the config is built, waiting to be told which."""

    process: subprocess.Popen[bytes]
    output: int  # the read end of its standard output and error

    @classmethod
    def spawn(cls) -> Starting:
        """Start ``python -m djsupervisor.inside``: it imports supervisor meanwhile."""
        output, output_end = os.pipe()
        process = subprocess.Popen(
            [sys.executable, "-m", "djsupervisor.inside"],
            env=supervisord_environment(None),
            stdin=subprocess.PIPE,
            stdout=output_end,
            stderr=output_end,
        )
        # Out of the terminal's process group at once (it does it too): a
        # Ctrl-C from now on reaches the command alone.
        with contextlib.suppress(OSError):
            os.setpgid(process.pid, process.pid)
        os.close(output_end)
        return cls(process, output)

    def go(self, config: Config) -> None:
        """Have it run supervisord on ``config`` (written)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{config.path}\n{config.project_dir}\n".encode())
        self.process.stdin.close()
