"""The built config of one project: a value that only :meth:`Config.write` puts on disk."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..client import Client
from ..graph import Graph
from ..inside import envfiles
from ..options import Options
from ..runtime import RuntimeDir, cannot_write, write_private
from . import ini, kept
from .environment import Environment
from .merge import Merged
from .reloading import write_autoreload_plan

ENVIRONMENT_FILE = "environment.json"  # in the runtime directory: programs' env-file variables


@dataclass
class Config:
    """The final config of one project, ready for supervisord, not yet on disk."""

    project_dir: Path
    runtime: RuntimeDir
    merged: Merged
    client: Client
    # The private socket's password when djsupervisor configured the socket;
    # stored beside it by write().
    secret: str | None = None
    # Programs' variables from environment files and their own, by section:
    # the files' never go into the config (write() stores them beside it).
    environments: dict[str, Environment] = field(default_factory=dict)
    # Rendered copies of files named with the templated filter, by path.
    copies: dict[Path, str] = field(default_factory=dict)
    # readiness, dependencies and restart rules, for supervisord's orchestrator
    graph: Graph = field(default_factory=Graph)
    # program -> the names supervisord gives its processes ('group:process')
    processes: dict[str, list[str]] = field(default_factory=dict)
    # the names of the processes supervisord starts by itself (autostart)
    autostart: set[str] = field(default_factory=set)
    # the command line's options it was built with, kept by write() for reload
    options: Options = field(default_factory=Options)
    # what can go from the files: django-supervisor's spellings (legacy.py)
    notes: list[str] = field(default_factory=list)
    # what the autoreload program watches, if it runs (config/reloading.py)
    watching: dict[str, object] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """Where the rendered config lives, for supervisord's ``-c``."""
        return self.runtime.config

    @property
    def own_credentials(self) -> bool:
        """Tell whether the client uses the credentials of the socket djsupervisor configured.

        supervisord cannot refuse those; a user's own may be mistyped.
        """
        if self.secret is None:
            return False
        server = self.merged.sections["unix_http_server"]
        given = (self.client.username, self.client.password)
        return given == (server.get("username"), server.get("password"))

    @property
    def text(self) -> str:
        return ini.dump(self.merged.sections)

    @property
    def environment_path(self) -> Path:
        """Where write() stores the programs' variables from environment files."""
        return self.runtime.path / ENVIRONMENT_FILE

    def display_text(self, show_secrets: bool = False) -> str:
        """Return the text ``getconfig`` prints: the config, and the environment files' variables.

        Those are comments at the end of each program's section, masked
        unless asked: supervisord gets them from a file of their own.
        """
        chunks = []
        for name, options in self.merged.sections.items():
            chunk = ini.dump({name: options})
            environment = self.environments.get(name)
            if environment and environment.secrets:
                chunk += environment.shown(show_secrets)
            chunks.append(chunk)
        return "\n".join(chunks)

    @property
    def process_names(self) -> list[str]:
        """Return the names of the processes whose output is shown, in config order."""
        return [
            namespec.rpartition(":")[2]
            for namespecs in self.processes.values()
            for namespec in namespecs
        ]

    def write(self) -> Path:
        """Create the runtime directory, write the config, copies and options; return its path."""
        self.runtime.create()
        if self.secret is not None:
            self._use_secret(self.runtime.keep_secret(self.secret))
        for path, text in self.copies.items():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise cannot_write(path.parent, exc) from None
            write_private(path, text)  # whole, or one clear error (a full disk)
        write_private(self.runtime.graph, self.graph.to_json())
        write_autoreload_plan(self.runtime, self.watching, self.client)
        if self.environments:
            variables = {
                section.partition(":")[2]: environment.secrets
                for section, environment in self.environments.items()
            }
            write_private(self.environment_path, envfiles.dumps(variables, self.processes))
        else:
            self.environment_path.unlink(missing_ok=True)
        write_private(self.path, self.text)
        kept.store(self.runtime, self.options)
        return self.path

    def _use_secret(self, stored: str) -> None:
        """Use the password another invocation stored first, if it beat this one to it."""
        if stored == self.secret:
            return
        self.secret = stored
        self.merged.sections["unix_http_server"]["password"] = stored
        self.merged.sections["supervisorctl"]["password"] = stored
        self.client = replace(self.client, password=stored)
