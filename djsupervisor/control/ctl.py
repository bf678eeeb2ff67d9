"""Run supervisorctl, in this process, with djsupervisor's own ways.

Its commands take a program's name wherever they take a process name (all
of a ``numprocs`` program's processes); ``start`` and ``restart`` start
dependencies first; ``attach`` is ``fg``; in the interactive shell,
``reread``, ``update`` and ``reload`` render the configuration from the
current files first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..graph import Graph, resolve_name
from ..terminal.status import status
from .connection import Running

# supervisorctl commands, by where their process names are.
MANY_NAMES = ("stop", "clear", "start", "restart", "status")
NAMES_AFTER_FIRST = ("signal",)
ONE_NAME = ("tail", "fg", "attach", "pid")


@dataclass
class Session:
    """What supervisorctl works on: the running supervisord and its program names."""

    running: Running
    rebuild: Callable[[], Running] | None = None  # renders and writes the config anew

    def graph(self) -> Graph:
        return self.running.graph()


def run_supervisorctl(session: Session, args: Sequence[str]) -> int:
    """Run supervisorctl with ``args``; return its exit status.

    No ``args`` means its interactive shell. It runs in-process because a
    second Python start-up would double the latency of every command.
    """
    # Imported here: 25 ms that 'status' does without (bench/control.py).
    from supervisor import supervisorctl
    from supervisor.options import ClientOptions

    from .shell import make_plugin

    session.running.client.ensure_running()
    options = ClientOptions()
    options.realize(["-c", str(session.running.path), *args], doc=supervisorctl.__doc__)
    options.plugin_factories[0] = ("default", make_plugin(session), {})
    controller = supervisorctl.Controller(options)
    if options.args:
        controller.onecmd(" ".join(options.args))
        exit_status: int = controller.exitstatus
        return exit_status
    controller.exec_cmdloop(list(args), options)
    return 0


def expand_names(command: str, words: list[str], graph: Graph) -> list[str]:
    """Return ``words`` (a command's arguments) with program names made process names.

    A name that is a program's means all its processes. Where the command
    takes one process, a program with several is an error naming them.
    """
    if command in NAMES_AFTER_FIRST:
        return words[:1] + expand_names("stop", words[1:], graph)
    if command not in (*MANY_NAMES, *ONE_NAME):
        return words
    expanded = []
    for word in words:
        if word.startswith("-"):  # an option, not a name
            expanded.append(word)
            continue
        # Only a program's name: supervisord reads the others itself.
        namespecs = resolve_name(word, None, graph.programs)
        if command in ONE_NAME and len(namespecs) > 1:
            raise ConfigError(
                f"{command}: {word} has {len(namespecs)} processes "
                f"({', '.join(namespecs)}); name one"
            )
        expanded += namespecs
    return expanded


def run_status(
    running: Running, args: list[str], output: Callable[[str], None], errors: Callable[[str], None]
) -> int:
    """Run ``status [--json] ARGS`` on the ``running`` supervisord; return its exit status."""
    graph = running.graph()
    names = expand_names("status", [word for word in args if word != "--json"], graph)
    if "--json" not in args:
        return status(running.client, names, output)
    return status(running.client, names, output, errors, graph.program_of_process())
