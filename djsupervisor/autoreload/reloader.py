"""Decide which processes autoreload reloads, and reload them through supervisord."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ..clock import Clock
from ..config.build import Config
from ..supervisord.client import FINISHED, STARTABLE, STOPPABLE, Supervisor, states

POLL_INTERVAL = 0.02  # seconds between looks at processes being stopped
# A reload stops and starts again what runs (STOPPABLE), starts again what
# crashed or is done (FINISHED). STOPPED or STOPPING processes were stopped by
# the user, or never started (autostart=false): a code change does not start them.


@dataclass(frozen=True)
class Target:
    """A process that autoreload reloads."""

    namespec: str  # the process's name for supervisord's API: 'group:process' or 'name'
    signal: str | None = None  # send this signal instead of restarting


def reload_targets(config: Config, only: Collection[str], skip: str | None = None) -> list[Target]:
    """Return the processes to reload when code changes.

    Every program's processes are, unless it says ``autoreload=false``; naming
    programs (``--autoreload``) reloads just those. ``skip`` is the watcher's
    own process, which must not restart itself mid-reload.
    """
    targets = []
    for program in config.merged.programs:
        own = config.merged.own.get(program, {})
        wanted = program in only if only else own.get("autoreload") != "false"
        if not wanted:
            continue
        signal = own.get("autoreload_signal")
        for namespec in config.processes.get(program, ()):
            if namespec != skip:
                targets.append(Target(namespec, signal))
    return targets


class Reloader:
    """Restart (or signal) the target processes through supervisord's XML-RPC API.

    A reload is two calls: :meth:`begin` when a burst of changes starts stops
    what will be restarted, so that stopping overlaps the wait for the burst
    to end; :meth:`finish` then starts them again and sends the signals. All
    processes are handled at once, so N programs take about as long as one.
    """

    def __init__(
        self,
        supervisor: Supervisor,
        targets: Sequence[Target],
        log: Callable[[str], None],
        clock: Clock = time,
    ) -> None:
        self.supervisor = supervisor
        self.clock = clock
        self.targets = {target.namespec: target for target in targets}
        self.log = log
        self._restart: list[str] = []
        self._signal: list[Target] = []

    def begin(self) -> None:
        """Stop the running processes that are to be restarted."""
        current = states(self.supervisor)
        self._restart, self._signal, stop = [], [], []
        for name, target in self.targets.items():
            state = current.get(name)
            if target.signal and state in ("RUNNING", "STARTING"):
                self._signal.append(target)
            elif state in STOPPABLE:
                stop.append(name)
                self._restart.append(name)
            elif state in FINISHED:
                self._restart.append(name)
        self._call_each("stopProcess", [(name, False) for name in stop])

    def finish(self) -> list[str]:
        """Start the stopped processes as soon as each is down; send the signals.

        Return the names of the processes reloaded.
        """
        self._call_each("signalProcess", [(t.namespec, t.signal) for t in self._signal])
        pending = set(self._restart)
        while pending:
            current = states(self.supervisor)
            ready = sorted(name for name in pending if current.get(name) in STARTABLE)
            self._call_each("startProcess", [(name, False) for name in ready])
            # Gone from the config, or started by someone else meanwhile.
            pending = {name for name in pending if current.get(name) == "STOPPING"}
            if pending:
                self.clock.sleep(POLL_INTERVAL)
        return sorted([*self._restart, *(t.namespec for t in self._signal)])

    def _call_each(self, method: str, calls: Sequence[tuple[Any, ...]]) -> None:
        """Make the calls in one round trip; log the ones supervisord refused."""
        for name, fault in self.supervisor.call_each(method, calls):
            self.log(f"{method} {name}: {fault}")
