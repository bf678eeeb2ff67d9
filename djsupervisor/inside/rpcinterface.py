"""The XML-RPC namespace djsupervisor adds to supervisord, and what it runs there.

``supervisor.getAllProcessInfo`` answers with about 1.3 kB of XML per
process, and supervisord sends 4 kB of an answer per turn of its main loop,
each turn walking every process: with 500 programs, ``status`` waited about
0.25 s for it (bench/scale.py), and polling it while starting or stopping kept
supervisord busy. The fields a status needs take a fifth of that, and the
group priorities a stop needs a few bytes per group instead of
``supervisor.getAllConfigInfo``'s 3 kB per process.

supervisord imports this module (``[rpcinterface:djsupervisor]``), so it
uses supervisor, the standard library and djsupervisor's modules that do,
never Django. Its factory also sets up, inside supervisord, the forwarding of
programs' output to a foreground console (output.py), the orchestrator of
dependencies, readiness and restarts (orchestrator.py), the programs'
variables from environment files (envfiles.py), and spawns that take a stop
sent as they begin (spawning.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from supervisor import events
from supervisor.rpcinterface import SupervisorNamespaceRPCInterface
from supervisor.states import SupervisorStates
from supervisor.xmlrpc import Faults, RPCError

from ..graph import Change, UnknownName
from ..protocol import ProcessState
from . import envfiles, output, spawning
from .bridge import Bridge
from .journal_writer import Journal
from .loop import MainLoop

T = TypeVar("T")


class DjsupervisorNamespaceRPCInterface:
    """The ``djsupervisor`` namespace of supervisord's XML-RPC interface."""

    def __init__(self, supervisord: Any, bridge: Bridge) -> None:
        self._supervisord = supervisord
        self._supervisor = SupervisorNamespaceRPCInterface(supervisord)
        self._bridge = bridge
        self._orchestrator = bridge.orchestrator

    def _names(self, request: Callable[[list[str]], T], names: list[str]) -> T:
        """Answer ``request`` for ``names``; an unknown name is supervisord's BAD_NAME fault."""
        self._bridge.refresh()
        try:
            return request(names)
        except UnknownName as exc:
            raise RPCError(Faults.BAD_NAME, str(exc)) from None

    def getProcessStates(self) -> list[list[Any]]:  # camelCase, as XML-RPC names go
        """Get the group, name, state, description, readiness, pid, start, restarts, schedule.

        @return array result  Arrays of [group, name, statename, description, readiness, pid,
            start, restarts, schedule (a struct, empty unless it has a schedule)]
        """
        self._bridge.refresh()
        table = self._orchestrator.table
        rows = []
        for info in self._supervisor.getAllProcessInfo():
            state = ProcessState.from_info(info)
            run = table.runs.get(state.namespec)
            scheduled = run.scheduled.as_struct() if run and run.scheduled else {}
            readiness, restarts = table.readiness(state.namespec), table.restarts(state.namespec)
            rows.append(
                replace(state, readiness=readiness, restarts=restarts, schedule=scheduled).row()
            )
        return rows

    def getGroupPriorities(self) -> dict[str, int]:  # camelCase, as XML-RPC names go
        """Get the priority of every process group, the order of supervisord's shutdown.

        @return struct result  Each group's priority, by group name
        """
        groups = self._supervisord.process_groups
        return {name: group.config.priority for name, group in groups.items()}

    def getStartup(self, names: list[str]) -> dict[str, Any]:  # camelCase, as XML-RPC names go
        """Tell whether processes (the autostart ones and those wanted, if none named) have started.

        @param array names  Process names, 'group:*', program names or 'all'; or none
        @return struct result  settled (a boolean), failures (strings), outcomes (by name), pending
        """
        return self._names(self._orchestrator.table.startup, names)

    def startProcesses(self, names: list[str]) -> list[str]:  # camelCase, as XML-RPC names go
        """Start processes after the processes they depend on.

        @param array names  Process names, 'group:*', program names or 'all'
        @return array result  The names of the processes started
        """
        return self._names(self._orchestrator.start, names)

    def restartProcesses(self, names: list[str]) -> list[str]:  # camelCase, as XML-RPC names go
        """Stop processes and start them again once stopped, after what they depend on.

        @param array names  Process names, 'group:*', program names or 'all'
        @return array result  The names of the processes restarting
        """
        return self._names(self._orchestrator.restart, names)

    def stopProcesses(self, names: list[str]) -> list[str]:  # camelCase, as XML-RPC names go
        """Stop processes without waiting, and cancel their restart if one is under way.

        @param array names  Process names, 'group:*', program names or 'all'
        @return array result  The names of the processes
        """
        return self._names(self._orchestrator.stop, names)

    def codeChanged(self, changes: list[list[Any]]) -> list[str]:  # camelCase, as XML-RPC names go
        """Reload the processes whose programs reload on these changed files.

        @param array changes  [path relative to its watched directory, in a template directory]
        @return array result  The names of the processes reloaded
        """
        self._bridge.refresh()
        return self._orchestrator.code_changed(Change(str(path), bool(t)) for path, t in changes)

    def getDependencies(self) -> dict[str, list[str]]:  # camelCase, as XML-RPC names go
        """Get the processes each process depends on.

        @return struct result  An array of names, by process name
        """
        self._bridge.refresh()
        return self._orchestrator.table.dependencies()


_loop: MainLoop | None = None  # this supervisord's, replaced when it reloads
_bridge: Bridge | None = None
_journal: Journal | None = None
RELOAD_FLUSH_TIMEOUT = 2.0  # seconds to send the programs' last words before a reload


def close_when_done(options: Any) -> None:
    """Close what djsupervisor opened in supervisord as soon as its main loop has ended.

    Then supervisord exits, or reloads: it closes every descriptor above 4
    (``ServerOptions.cleanup_fds``) and opens its log and servers anew,
    which take the same numbers. Closed any later, the loop's pipe, the
    journal or the console's socket would close supervisord's new files
    (its log, its server: ``EBADF``). Closing its servers is the first thing
    supervisord does after its loop, whichever comes next.
    """
    close_servers = options.close_httpservers

    def close_all_then_servers() -> None:
        global _loop, _bridge, _journal
        if _bridge is not None:
            _bridge.close()
        if _loop is not None:
            _loop.close()
        if _journal is not None:
            _journal.close()
            with contextlib.suppress(ValueError):  # a reload clears the subscriptions itself
                events.unsubscribe(events.ProcessLogEvent, _journal)
        _loop = _bridge = _journal = None
        if options.mood == SupervisorStates.RESTARTING:
            # Exiting, supervisord flushes the console itself (foreground.py).
            output.forward_to(None, timeout=RELOAD_FLUSH_TIMEOUT)
        close_servers()

    options.close_httpservers = close_all_then_servers


def make_rpcinterface(supervisord: Any, **config: str) -> DjsupervisorNamespaceRPCInterface:
    """Return the namespace for ``supervisord`` (supervisor's rpcinterface factory protocol).

    ``config`` holds the section's other options: ``console``, the socket of
    a foreground command that shows the programs' output, ``graph``, the
    programs' dependencies, readiness checks and restart rules, and
    ``environment``, their variables from environment files. supervisord
    calls this each time it (re)reads its configuration, after making its
    process groups and before spawning any process.
    """
    global _loop, _bridge, _journal
    envfiles.give(supervisord.options)
    envfiles.follow(supervisord.options)
    spawning.guard_spawns(supervisord.options)
    close_when_done(supervisord.options)
    output.forward_to(config.get("console"))
    output.announce_start(supervisord.process_groups)
    if config.get("journal"):
        _journal = Journal(Path(config["journal"]))
        events.subscribe(events.ProcessLogEvent, _journal)
    logger = supervisord.options.logger
    _loop = MainLoop(supervisord.options.get_socket_map(), logger.error)

    def say(text: str) -> None:
        if not output.notice(text):
            logger.info(f"djsupervisor: {text}")

    graph = Path(config["graph"]) if config.get("graph") else None
    _bridge = Bridge(supervisord, graph, _loop, say, _journal)
    return DjsupervisorNamespaceRPCInterface(supervisord, _bridge)
