"""Read the final config with supervisor's own reader: validation and process names."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from supervisor.options import ServerOptions, make_namespec

from ..errors import SupervisorValueError
from ..protocol import OWN_RPC_FACTORY
from .merge import Merged


def read_with_supervisor(
    text: str, merged: Merged, here: Path
) -> tuple[dict[str, list[str]], set[str]]:
    """Parse ``text`` (``merged`` as supervisord gets it) with supervisor's own reader.

    Return each program's processes, and the processes that start by themselves.

    Bad values are caught here rather than by supervisord, which would report
    them against the rendered file the user never wrote: the message names the
    files the section came from.
    """
    reader = _ProcessRecorder()
    reader.here = str(here)
    try:
        reader.read_config(io.StringIO(text))
    except ValueError as exc:
        message = str(exc)
        origins = [
            origin
            for section, sources in merged.origins.items()
            if f"'{section}'" in message or f"[{section}]" in message
            for origin in sources
        ]
        where = f" (from {', '.join(dict.fromkeys(origins))})" if origins else ""
        raise SupervisorValueError(f"invalid supervisord config{where}: {message}") from None
    return reader.processes, reader.autostart


def invalid_value(merged: Merged, section: str, exc: ValueError) -> SupervisorValueError:
    """Return the error supervisor's reader gives a bad value of ``section``, naming its files.

    For what is read before it, or without it (``run``).
    """
    origins = ", ".join(dict.fromkeys(merged.origins.get(section, [])))
    where = f" (from {origins})" if origins else ""
    return SupervisorValueError(f"invalid supervisord config{where}: {exc} in section {section!r}")


class _ProcessRecorder(ServerOptions):  # type: ignore[misc]  # supervisor has no type hints
    """supervisor's config reader, noting the processes each program gets.

    ``numprocs``, ``process_name``, ``[group:x]`` and ``autostart`` decide
    them; asking supervisor's own code keeps djsupervisor's idea of them exact.
    """

    def __init__(self) -> None:
        super().__init__()
        self.processes: dict[str, list[str]] = {}
        self.autostart: set[str] = set()

    def processes_from_section(
        self, parser: Any, section: str, group_name: str, klass: Any = None
    ) -> list[Any]:
        processes: list[Any] = super().processes_from_section(parser, section, group_name, klass)
        program = section.split(":", 1)[1]
        names = [make_namespec(group_name, p.name) for p in processes]
        self.processes[program] = names
        self.autostart.update(n for n, p in zip(names, processes, strict=True) if p.autostart)
        return processes

    def import_spec(self, spec: str) -> Any:
        """Import a section's factory, but djsupervisor's own: supervisord imports that one.

        Here it would load the orchestrator and urllib on every start for
        nothing (about 10 ms, bench/startup.py).
        """
        return None if spec == OWN_RPC_FACTORY else super().import_spec(spec)
