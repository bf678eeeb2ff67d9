"""supervisorctl's commands, with program names, start order and fresh configs (see ctl.py).

Imported only when supervisorctl runs: it imports supervisorctl itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from supervisor import supervisorctl
from supervisor.supervisorctl import DefaultControllerPlugin

from ..errors import DjsupervisorError, Fault
from ..protocol import UNKNOWN_METHOD
from .ctl import Session, expand_names
from .programs import start, stop
from .shutdown import stop_programs

GENERIC = 1  # supervisorctl's exit status for an error


class _FgThread(supervisorctl.fgthread):  # type: ignore[misc]  # supervisor has no hints
    """fg's output thread, as a daemon: Ctrl-C must end the command even while it reads."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.daemon = True


supervisorctl.fgthread = _FgThread


def make_plugin(session: Session) -> Callable[..., DefaultControllerPlugin]:
    """Return supervisorctl's default command set, made djsupervisor's, for ``session``."""

    class Plugin(DefaultControllerPlugin):  # type: ignore[misc]  # supervisor has no hints
        def _names(self, command: str, arg: str) -> str | None:
            try:
                return " ".join(expand_names(command, arg.split(), session.graph()))
            except DjsupervisorError as exc:
                self.ctl.output(f"ERROR: {exc}")
                self.ctl.exitstatus = GENERIC
                return None

        def _with_names(self, command: str, method: Callable[[str], None], arg: str) -> None:
            names = self._names(command, arg)
            if names is not None:
                method(names)

        def do_stop(self, arg: str) -> None:
            names = self._names("stop", arg)
            if names is None:
                return
            try:
                self.ctl.exitstatus = stop(session.running, names.split(), self.ctl.output)
            except Fault as fault:
                if fault.code != UNKNOWN_METHOD:
                    raise
                super().do_stop(names)  # a supervisord from before dependencies

        def do_clear(self, arg: str) -> None:
            self._with_names("clear", super().do_clear, arg)

        def do_signal(self, arg: str) -> None:
            self._with_names("signal", super().do_signal, arg)

        def do_pid(self, arg: str) -> None:
            self._with_names("pid", super().do_pid, arg)

        def do_tail(self, arg: str) -> None:
            self._with_names("tail", super().do_tail, arg)

        def do_fg(self, arg: str) -> None:
            self._with_names("fg", super().do_fg, arg)

        def do_attach(self, arg: str) -> None:
            self.do_fg(arg)

        def help_attach(self) -> None:
            self.ctl.output("attach <name>\\tConnect to a process in foreground mode (as fg)")
            self.ctl.output("\\t\\tCtrl-C to exit")

        def do_start(self, arg: str) -> None:
            self._start(arg, super().do_start, restart=False)

        def do_restart(self, arg: str) -> None:
            self._start(arg, super().do_restart, restart=True)

        def _start(self, arg: str, plain: Callable[[str], None], restart: bool) -> None:
            names = self._names("start", arg)
            if names is None:
                return
            arg = names
            try:
                self.ctl.exitstatus = start(session.running, arg.split(), self.ctl.output, restart)
            except Fault as fault:
                if fault.code != UNKNOWN_METHOD:
                    raise
                plain(arg)  # a supervisord from before dependencies

        def _fresh(self, method: Callable[[str], None], arg: str) -> None:
            if session.rebuild is not None:  # the shell: the files may have changed since
                try:
                    session.running = session.rebuild()
                except DjsupervisorError as exc:
                    self.ctl.output(f"ERROR: {exc}")
                    self.ctl.exitstatus = GENERIC
                    return
            method(arg)

        def do_reread(self, arg: str) -> None:
            self._fresh(super().do_reread, arg)

        def do_update(self, arg: str) -> None:
            self._fresh(self._update, arg)

        def _update(self, arg: str) -> None:
            super().do_update(arg)
            # supervisord takes a graph rewritten without a group changing (a
            # schedule, a dependency) at djsupervisor's next call: call now.
            session.running.client.process_states()

        def do_reload(self, arg: str) -> None:
            self._fresh(self._reload, arg)

        def _reload(self, arg: str) -> None:
            if not arg and not self.ctl.options.interactive:
                # Dependents first, at once, as shutdown stops them: supervisord's
                # own reload stops one group per turn of its loop, by priority.
                # (In the shell, after its question, supervisord's own way.)
                stop_programs(session.running.client, self.ctl.output)
            super().do_reload(arg)

    def factory(controller: Any, **config: Any) -> DefaultControllerPlugin:
        return Plugin(controller, **config)

    return factory
