"""Give programs the variables of ``.env`` and their ``environment_file``, exactly as written.

The values stay out of the rendered config: supervisord would expand ``%`` in
``environment=`` and its ini reader would cut a value at `` ;`` or `` #``.
``Config.write`` puts them in a private file of the runtime directory, which
supervisord adds to each process's environment (inside/envfiles.py), and
``run`` adds them itself: never on a command line. An explicit
``environment=`` wins over the files, a program's own files over the
project's ``.env``. ``getconfig`` shows them masked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from supervisor.datatypes import dict_of_key_value_pairs

from ..errors import EnvFileError
from . import dotenv
from .merge import Merged, process_sections
from .program_options import ProgramOptions
from .reader import invalid_value

MASKED = '"********"'


@dataclass(frozen=True)
class Environment:
    """A program's variables: from environment files (secrets), and its own ``environment=``."""

    from_files: dict[str, str]
    explicit: dict[str, str]
    files: tuple[Path, ...] = ()  # the files they came from (the project's first)

    @property
    def secrets(self) -> dict[str, str]:
        """Return the files' variables its ``environment=`` does not override."""
        return {k: v for k, v in self.from_files.items() if k not in self.explicit}

    def shown(self, show_secrets: bool) -> str:
        """Return the comment lines ``getconfig`` shows for the files' variables.

        Values are masked, or JSON strings (which show any character on one line).
        """
        files = ", ".join(str(path) for path in self.files)
        lines = [f"; from {files}, as written:"]
        for key, value in self.secrets.items():
            lines.append(
                f"; {key}={json.dumps(value, ensure_ascii=False) if show_secrets else MASKED}"
            )
        return "".join(f"{line}\n" for line in lines)


def read_environments(merged: Merged, project_env: Path | None) -> dict[str, Environment]:
    """Return each program's variables by where they came from, by section.

    Programs with none from files are left out. Nothing in ``merged``
    changes: ``getconfig`` masks the secrets, ``export`` puts them in an
    environment file or a Secret, ``run`` and supervisord get them apart from
    the config.
    """
    base = dotenv.read(project_env, os.environ) if project_env else {}
    environments = {}
    for section, name in process_sections(merged.sections):
        options = merged.sections[section]
        files = list(merged.options.get(name, ProgramOptions()).environment_file)
        try:
            explicit = dict_of_key_value_pairs(options.get("environment", ""))
        except ValueError as exc:
            # As supervisor's reader says it, for run, which skips that.
            raise invalid_value(merged, section, exc) from None
        from_files = dict(base)
        for path in files:
            from_files.update(dotenv.read(path, {**os.environ, **from_files}))
        if not from_files:
            continue
        read = ([project_env] if base and project_env else []) + files
        environments[section] = Environment(from_files, explicit, tuple(read))
    return environments


def project_env_file(project_dir: Path, setting: str | None, explicit: bool) -> Path | None:
    """Return the project's environment file, if it is to be read.

    The default ``.env`` is read if it exists; a file named by the setting
    must exist.
    """
    if setting is None:
        return None
    path = project_dir / setting
    if path.is_file():
        return path
    if explicit:
        raise EnvFileError(
            f"environment file {path} does not exist; create it, or fix SUPERVISOR_ENV_FILE"
        )
    return None
