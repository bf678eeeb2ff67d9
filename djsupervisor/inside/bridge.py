"""Connect the orchestrator to supervisord: its events in, as plain values; its controls out.

supervisord announces a state change from inside the code that makes it,
before it has logged it (``exited: migrate`` is logged after the
announcement): the orchestrator hears each change on the main loop's next
turn, in order, so that what it starts in response is logged after the
change that caused it. Each change that sets a deadline (``startsecs``, a
backoff, ``stopwaitsecs``' SIGKILL) also wakes supervisord's loop just after
it, instead of at its next one-second tick.

This module runs inside supervisord: supervisor, the standard library and
djsupervisor's modules that do.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from supervisor import events
from supervisor.options import make_namespec
from supervisor.rpcinterface import SupervisorNamespaceRPCInterface
from supervisor.states import getProcessStateDescription
from supervisor.xmlrpc import Faults, RPCError

from ..graph import Check, Graph, read_graph
from ..protocol import NOTICE, record
from .events import StateChange
from .handover import Handovers
from .journal_writer import Journal
from .loop import MainLoop
from .orchestrator import Orchestrator
from .runs import Probe, Prober, environment_of, owners_of
from .sockets import HeldSockets
from .spawning import take_over_next
from .trials import Trial

WAKE_MARGIN = 0.002  # seconds after a deadline supervisord is woken to act on it
# States whose process.delay is a deadline supervisord acts on by itself.
DEADLINE_STATES = ("STARTING", "BACKOFF", "STOPPING")
# Faults of startProcess after which supervisord announces the state changes
# itself (or there is nothing to say): the others mean it did not even try.
ANNOUNCED = (Faults.ALREADY_STARTED, Faults.SPAWN_ERROR, Faults.ABNORMAL_TERMINATION)


class Bridge:
    """The orchestrator of one supervisord, and what it needs from supervisord."""

    def __init__(
        self,
        supervisord: Any,
        graph_path: Path | None,
        loop: MainLoop,
        say: Callable[[str], None],
        journal: Journal | None = None,
    ) -> None:
        self.supervisord = supervisord
        self.journal = journal  # where notes among the programs' output go
        self.rpc = SupervisorNamespaceRPCInterface(supervisord)
        self.graph_path = graph_path
        self.graph_stamp: tuple[int, int] | None = None  # of the graph file last read
        self.loop = loop
        self.sockets = HeldSockets()  # for the programs with listen=
        self.handovers = Handovers(self.sockets)  # from a server that stops to the next
        self.orchestrator = Orchestrator(self.read_graph(), self, say)
        self.subscribed: list[tuple[type, Callable[[Any], None]]] = [
            (events.ProcessStateEvent, self.on_state),
            (events.ProcessLogEvent, self.on_output),
            (events.SupervisorRunningEvent, self.on_running),
            (events.SupervisorStoppingEvent, lambda event: self.close()),
            (events.ProcessGroupAddedEvent, self.on_group_added),
            (events.ProcessGroupRemovedEvent, self.on_group_removed),
        ]
        for kind, handler in self.subscribed:
            events.subscribe(kind, handler)

    def read_graph(self) -> Graph:
        """Read the graph the config was built with; without one, supervisord's own rules hold."""
        if self.graph_path is None:
            return Graph()
        self.graph_stamp = _stamp(self.graph_path)
        graph = read_graph(self.graph_path)
        # An address gone from the config is let go: another server may take it.
        self.sockets.keep_only(p.listen for p in graph.programs.values() if p.listen)
        return graph

    def refresh(self) -> None:
        """Take the graph anew if ``update`` rewrote it without changing a process group.

        A change of djsupervisor's own options only (depends_on, ready,
        autoreload_patterns...) leaves supervisord's sections as they were:
        supervisord adds or removes no group, and only the file tells.
        """
        if self.graph_path is not None and _stamp(self.graph_path) != self.graph_stamp:
            self.orchestrator.graph_changed(self.read_graph())

    def close(self) -> None:
        """Stop orchestrating: supervisord is stopping (or reloading)."""
        self.orchestrator.close()
        self.handovers.close()
        # Before supervisord closes every descriptor it did not open (a
        # reload), whose numbers it then reuses: the processes keep their copies.
        self.sockets.close()
        for kind, handler in self.subscribed:
            with contextlib.suppress(ValueError):  # a reload cleared them already
                events.unsubscribe(kind, handler)

    # supervisord's events, handed over on the loop's next turn.

    def on_state(self, event: Any) -> None:
        process = event.process
        state = getProcessStateDescription(process.state)
        change = StateChange(
            namespec_of(process),
            state,
            expected=bool(getattr(event, "expected", True)),
            exitstatus=process.exitstatus,
            spawnerr=process.spawnerr or "",
        )
        if state in DEADLINE_STATES:
            self.wake_at(process.delay)
        if state != "STOPPING":
            self.handovers.stopped(change.namespec)
        self.loop.call_soon(partial(self.orchestrator.on_state, change))

    def on_output(self, event: Any) -> None:
        namespec = namespec_of(event.process)
        run = self.orchestrator.table.runs.get(namespec)
        if run is None or not self.orchestrator.watches_output(run):
            return
        data = event.data.decode(errors="replace") if isinstance(event.data, bytes) else event.data
        self.loop.call_soon(partial(self.orchestrator.on_output, namespec, data))

    def on_running(self, event: Any) -> None:
        self.loop.call_soon(self.orchestrator.supervisord_running)

    def on_group_added(self, event: Any) -> None:
        self.loop.call_soon(
            partial(self.orchestrator.groups_added, self.read_graph(), [event.group])
        )

    def on_group_removed(self, event: Any) -> None:
        self.loop.call_soon(
            partial(self.orchestrator.groups_removed, self.read_graph(), [event.group])
        )

    # The orchestrator's Control.

    def start(self, namespec: str) -> str | None:
        run = self.orchestrator.table.runs.get(namespec)
        address = run.program.listen if run is not None else None
        if address is not None:
            try:
                self.sockets.give(self.process(namespec), address)
            except OSError as exc:
                return f"listen={address}: {exc.strerror or exc}"
        trial = run.trial if run is not None and run.trial_passed else None
        if not (isinstance(trial, Trial) and trial.can_take_over()):
            trial = None
        if trial is not None:
            take_over_next(trial.pid)  # its new code runs already: no second start
        try:
            self.rpc.startProcess(namespec, False)
        except RPCError as exc:
            if exc.code in ANNOUNCED:
                return None
            return str(exc.text)
        finally:
            take_over_next(None)
        if trial is not None:
            process = self.process(namespec)
            if process.pid == trial.pid:
                trial.take_over(process.pipes["stdout"])
        return None

    def stop(self, namespec: str) -> None:
        address = self.orchestrator.table.serves_alone(namespec)
        if address is not None:
            self.handovers.before_stop(namespec, address)  # it answers all it takes
        try:
            self.rpc.stopProcess(namespec, False)
        except RPCError:  # it exited meanwhile: its change is on its way
            self.handovers.stopped(namespec)

    def signal(self, namespec: str, signal: str) -> None:
        with contextlib.suppress(RPCError):
            self.rpc.signalProcess(namespec, signal)

    def probe(self, namespec: str, check: Check, on_pass: Callable[[], None]) -> Probe:
        process = self.process(namespec)
        return Prober(
            check,
            partial(owners_of, process),
            process.config.directory,
            environment_of(process),
            self.loop,
            on_pass,
        )

    def call_later(self, delay: float, task: Callable[[], None]) -> None:
        self.loop.call_later(delay, task)

    def note(self, namespec: str, text: str) -> None:
        if self.journal is not None:
            name = namespec.rpartition(":")[2]  # the journal names processes as supervisord does
            self.journal.write(record(NOTICE, name, f"{text}\n".encode()))

    def trial(self, namespec: str, on_end: Callable[[str | None], None]) -> Trial:
        process = self.process(namespec)
        program = self.orchestrator.table.runs[namespec].program
        assert program.listen is not None and program.ready is not None
        served = self.sockets.descriptor(program.listen)
        filename, argv = process.get_execv_args()
        environment = environment_of(process)
        # What supervisord's own spawn gives: the mark that finds a leftover.
        url = process.config.serverurl or process.config.options.serverurl
        if url:
            environment["SUPERVISOR_SERVER_URL"] = url
        return Trial(
            [filename, *argv[1:]],
            process.config.directory or os.getcwd(),
            environment,
            served,
            program.ready,
            program.ready_timeout,
            self.loop,
            self.supervisord.options.pidhistory.__setitem__,
            on_end,
        )

    def wake_at(self, deadline: float) -> None:
        """Have supervisord's loop turn just after ``deadline`` (its own, time.time())."""
        if deadline:
            self.loop.call_later(max(deadline - time.time(), 0) + WAKE_MARGIN, lambda: None)

    def process(self, namespec: str) -> Any:
        group, _, name = namespec.rpartition(":")
        return self.supervisord.process_groups[group or name].processes[name]


def _stamp(path: Path) -> tuple[int, int] | None:
    """Return what tells one version of the file from another (it is replaced, not rewritten)."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns


def namespec_of(process: Any) -> str:
    group = process.group.config.name if process.group else process.config.name
    return str(make_namespec(group, process.config.name))
