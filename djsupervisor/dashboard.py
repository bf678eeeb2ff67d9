"""What the admin's Processes page shows and does, apart from Django's views.

The page's web process talks to the project's supervisord over the private
control socket, as the user it runs as, the way ``manage.py supervisor
status`` does: the runtime directory of the project (found as every command
finds it) holds the config supervisord runs with and the journal of the
programs' output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .client import Client
from .conf import conf
from .config.discovery import find_project_dir
from .control.connection import find_running
from .errors import DjsupervisorError, Fault
from .graph import read_graph
from .runtime import RuntimeDir
from .tail import read_tail

START_COMMAND = "python manage.py supervisor --daemonize"
ACTIONS = {"start": "starting", "stop": "stopping", "restart": "restarting"}  # what each says


class ActionError(DjsupervisorError):
    """An action the page asked for that supervisord refused, or that makes no sense."""


@dataclass(frozen=True)
class Supervisord:
    """The project's supervisord as the page reaches it."""

    runtime: RuntimeDir
    client: Client

    @classmethod
    def find(cls) -> Supervisord:
        """Return the project's supervisord; raise NotRunningError if it was never started."""
        project_dir = find_project_dir(settings_module=conf.settings_module)
        runtime = RuntimeDir.for_project(project_dir, conf.SUPERVISOR_RUNTIME_DIR)
        return cls(runtime, find_running(runtime).client)


def snapshot(cursor: str | None, now: float | None = None) -> dict[str, Any]:
    """Return the page's data: every process, the output since ``cursor``, or why there is none.

    It never raises for a supervisord that is not there: the page says so.
    """
    try:
        supervisord = Supervisord.find()
        states = supervisord.client.process_states()
    except (DjsupervisorError, OSError) as exc:
        # OSError: the runtime directory is another user's (the web process
        # runs as someone else than supervisord).
        return {"running": False, "problem": str(exc), "start": START_COMMAND}
    programs = read_graph(supervisord.runtime.graph).program_of_process()
    tail = read_tail(supervisord.runtime.journal, cursor)
    when = time.time() if now is None else now
    return {
        "running": True,
        "processes": [state.as_json(when, programs) for state in states],  # as status --json
        "cursor": tail.cursor,
        "reset": tail.reset,
        "output": {
            name: {
                "restart": output.restart,
                # Bytes as code points 0-255: the browser decodes them as
                # UTF-8, a character split between two reads included.
                "chunks": [[stream, data.decode("latin-1")] for stream, data in output.chunks],
            }
            for name, output in tail.output.items()
        },
    }


def act(action: str, name: str) -> str:
    """Start, stop or restart the process ``name`` without waiting; return what happens."""
    if action not in ACTIONS:
        raise ActionError(f"unknown action {action!r}; use {', '.join(ACTIONS)}")
    try:
        Supervisord.find().client.act(action, name)
    except Fault as fault:
        raise ActionError(f"{name}: {fault.text}") from None
    return f"{name}: {ACTIONS[action]}"
