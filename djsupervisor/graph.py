"""The programs' readiness checks, dependencies and restart rules, as supervisord gets them.

``config/dependencies.py`` builds a :class:`Graph` from the configuration;
the orchestrator inside supervisord (``supervisord/orchestrator.py``) reads
it back from JSON. This module is plain data, for both sides.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

DEFAULT_READY_TIMEOUT = 60.0  # seconds


@dataclass(frozen=True)
class Check:
    """A readiness check: what it is, and where it looks."""

    kind: str  # 'tcp', 'http', 'exec' or 'log'
    target: str  # 'HOST:PORT', the URL, the command or the pattern
    host: str = ""
    port: int = 0

    def describe(self) -> str:
        return self.target if self.kind == "http" else f"{self.kind}:{self.target}"


@dataclass
class Program:
    """What the orchestrator needs to know of one program."""

    processes: list[str] = field(default_factory=list)  # namespecs, from supervisor's reader
    autostart: bool = True  # the user's wish; supervisord may be told otherwise
    autorestart: str = "unexpected"  # likewise
    oneshot: bool = False
    ready: Check | None = None
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    depends_on: list[tuple[str, str]] = field(default_factory=list)  # (program, condition)
    restart_backoff: bool = True


@dataclass
class Graph:
    """Every program's readiness, dependencies and restart rules."""

    programs: dict[str, Program] = field(default_factory=dict)
    debug: bool = False  # autoreload runs: crash loops wait for a code change

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Graph:
        data = json.loads(text)
        programs = {}
        for name, values in data["programs"].items():
            ready = Check(**values.pop("ready")) if values.get("ready") else None
            values.pop("ready", None)
            values["depends_on"] = [tuple(pair) for pair in values["depends_on"]]
            programs[name] = Program(ready=ready, **values)
        return cls(programs, data["debug"])

    def dependents(self, program: str) -> list[str]:
        """Return the programs that depend on ``program``."""
        return [name for name, p in self.programs.items() if program in dict(p.depends_on)]
