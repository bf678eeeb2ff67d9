"""Reach the project's running supervisord through the config it was started with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..client import Client, client_of, served_url
from ..config.ini import Sections, parse
from ..errors import NotRunningError
from ..graph import Graph, read_graph
from ..runtime import RuntimeDir

if TYPE_CHECKING:
    from ..config.build import Config


@dataclass(frozen=True)
class Running:
    """What a command needs to control a supervisord: its config file, client and files."""

    path: Path  # the rendered config supervisord read
    client: Client
    pidfile: Path
    logfile: Path
    # What supervisord puts into its programs' environment as
    # SUPERVISOR_SERVER_URL ('localhost' for an unspecified host), which
    # whatever they start inherits: how their processes are found in /proc.
    server_url: str | None
    graph_path: Path  # its programs' processes, dependencies and checks

    @classmethod
    def from_sections(cls, runtime: RuntimeDir, path: Path, sections: Sections) -> Running:
        return cls(
            path,
            client_of(sections),
            Path(sections["supervisord"]["pidfile"]),
            Path(sections["supervisord"]["logfile"]),
            served_url(sections, unspecified_host="localhost"),
            runtime.graph,
        )

    def graph(self) -> Graph:
        """Return the graph of the config it runs: which processes each program has."""
        return read_graph(self.graph_path)


def running_of(config: Config) -> Running:
    """Return how to control the supervisord that runs ``config`` (built, maybe not written)."""
    return Running.from_sections(config.runtime, config.path, config.merged.sections)


def find_running(runtime: RuntimeDir) -> Running:
    """Return how to reach the project's supervisord, reading the config it runs.

    Controlling a running supervisord needs neither the project's
    supervisord.conf files nor Django's template engine: the rendered config in
    the runtime directory says where it listens, which is right even when
    the files have changed since it started.
    """
    try:
        text = runtime.config.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotRunningError(
            f"supervisord is not running for this project (no config at {runtime.config}); "
            "start it with 'python manage.py supervisor --daemonize'"
        ) from None
    return Running.from_sections(runtime, runtime.config, parse(text, str(runtime.config)))
