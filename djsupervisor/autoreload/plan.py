"""What the autoreload program watches and whom it tells, as the command hands it over.

``manage.py supervisor``, which has Django loaded to build the config,
computes the plan and writes it to the runtime directory, readable by the
owner only (it holds the control socket's password); the watcher reads it
and loads neither Django nor the config (docs: autoreload, its memory).
``update`` and ``reload`` write it anew, and the watcher follows.
config/reloading.py writes it (config does not import this module: the
packages depend one way); standard library only. The XML-RPC client loads
with the first change, not before: the watcher carries it only once it has
something to tell (bench/memory.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..client import Client


@dataclass(frozen=True)
class Plan:
    """Where to look for changes, which count, and how to reach supervisord."""

    project_dir: Path
    # The directories worth watching: the project's, its apps', SUPERVISOR_AUTORELOAD_DIRS
    # and the template directories; the watcher leaves out missing and nested ones.
    dirs: tuple[Path, ...]
    patterns: tuple[str, ...]  # of every program a change reloads
    ignore: tuple[str, ...]  # SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS
    templates: bool  # whether any change in Django's template directories counts
    template_dirs: tuple[Path, ...]  # those directories, when templates count
    url: str  # supervisord's, and the credentials it takes
    username: str | None
    password: str | None

    @property
    def client(self) -> Client:
        """Return a client of the supervisord to tell, importing the client on first use."""
        from ..client import Client

        return Client(self.url, self.username, self.password)

    def to_json(self) -> str:
        data = {
            "project_dir": str(self.project_dir),
            "dirs": [str(path) for path in self.dirs],
            "patterns": list(self.patterns),
            "ignore": list(self.ignore),
            "templates": self.templates,
            "template_dirs": [str(path) for path in self.template_dirs],
            "supervisord": {"url": self.url, "username": self.username, "password": self.password},
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Return the plan ``text`` holds; raise ValueError if it holds none."""
        try:
            data: dict[str, Any] = json.loads(text)
            supervisord = data["supervisord"]
            return cls(
                project_dir=Path(data["project_dir"]),
                dirs=tuple(Path(path) for path in data["dirs"]),
                patterns=tuple(str(pattern) for pattern in data["patterns"]),
                ignore=tuple(str(pattern) for pattern in data["ignore"]),
                templates=bool(data["templates"]),
                template_dirs=tuple(Path(path) for path in data["template_dirs"]),
                url=supervisord["url"],
                username=supervisord["username"],
                password=supervisord["password"],
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an autoreload plan ({type(exc).__name__}: {exc})") from None

    @classmethod
    def read(cls, path: Path) -> Plan:
        """Return the plan stored at ``path``; raise OSError or ValueError, naming it."""
        try:
            return cls.from_json(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    @property
    def watched(self) -> str:
        """Say what counts as a change, for the log: the patterns, and templates."""
        return ", ".join([*self.patterns, *(["templates"] if self.templates else [])])
