"""The XML-RPC namespace djsupervisor adds to supervisord: process states, compactly.

``supervisor.getAllProcessInfo`` answers with about 1.3 kB of XML per
process, and supervisord sends 4 kB of an answer per turn of its main loop,
each turn walking every process: with 500 programs, ``status`` waited about
0.25 s for it (bench/scale.py), and polling it while starting or stopping kept supervisord
busy. The four fields a status needs take a fifth of that, and the group
priorities a stop needs a few bytes per group instead of
``supervisor.getAllConfigInfo``'s 3 kB per process.

supervisord imports this module (``[rpcinterface:djsupervisor]``), so it
uses supervisor, the standard library and djsupervisor's client and output
modules only, never Django. Its factory also sets up the forwarding of
programs' output to a foreground command's console (see output.py).
"""

from __future__ import annotations

from typing import Any

from supervisor.rpcinterface import SupervisorNamespaceRPCInterface

from . import output
from .client import ProcessState


class DjsupervisorNamespaceRPCInterface:
    """The ``djsupervisor`` namespace of supervisord's XML-RPC interface."""

    def __init__(self, supervisord: Any) -> None:
        self._supervisord = supervisord
        self._supervisor = SupervisorNamespaceRPCInterface(supervisord)

    def getProcessStates(self) -> list[list[str]]:  # camelCase, as XML-RPC names go
        """Get the group, name, state name and description of every process.

        @return array result  An array of [group, name, statename, description] arrays
        """
        return [ProcessState.from_info(info).row() for info in self._supervisor.getAllProcessInfo()]

    def getGroupPriorities(self) -> dict[str, int]:  # camelCase, as XML-RPC names go
        """Get the priority of every process group, the order of supervisord's shutdown.

        @return struct result  Each group's priority, by group name
        """
        groups = self._supervisord.process_groups
        return {name: group.config.priority for name, group in groups.items()}


def make_rpcinterface(supervisord: Any, **config: str) -> DjsupervisorNamespaceRPCInterface:
    """Return the namespace for ``supervisord`` (supervisor's rpcinterface factory protocol).

    ``config`` holds the section's other options: ``console`` is the socket
    of a foreground command that shows the programs' output.
    """
    output.forward_to(config.get("console"))
    return DjsupervisorNamespaceRPCInterface(supervisord)
