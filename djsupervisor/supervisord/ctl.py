"""Run supervisorctl, in this process, against a running supervisord."""

from __future__ import annotations

from collections.abc import Sequence

from .running import Running


def run_supervisorctl(running: Running, args: Sequence[str]) -> int:
    """Run supervisorctl with ``args``; return its exit status.

    No ``args`` means its interactive shell. It runs in-process because a
    second Python start-up would double the latency of every command.
    """
    # Imported here: 25 ms that 'status' does without (bench/control.py).
    from supervisor import supervisorctl

    running.client.ensure_running()
    try:
        supervisorctl.main(["-c", str(running.path), *args])
    except SystemExit as exit:
        return exit.code if isinstance(exit.code, int) else 1
    return 0
