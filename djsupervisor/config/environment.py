"""Give programs the variables of ``.env`` and their ``environment_file``: never on a command line.

The values go into each program's ``environment=`` in the rendered config,
which only its owner can read, so they never show in ``ps``. An explicit
``environment=`` wins over the files, a program's own files over the
project's ``.env``. ``getconfig`` shows them masked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from supervisor.datatypes import dict_of_key_value_pairs

from ..errors import EnvFileError
from . import dotenv
from .merge import Merged, process_sections

MASK = "********"


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

    def masked(self) -> dict[str, str]:
        return {**{key: MASK for key in self.secrets}, **self.explicit}


def apply_environment(merged: Merged, project_env: Path | None) -> dict[str, Environment]:
    """Put the files' variables into each program's ``environment=``.

    Return each program's variables by where they came from, by section
    (those with none from files left out): ``getconfig`` masks the secrets,
    ``export`` puts them in an environment file or a Secret.
    """
    base = dotenv.read(project_env, os.environ) if project_env else {}
    environments = {}
    for section, name in process_sections(merged.sections):
        options = merged.sections[section]
        files = merged.own.get(name, {}).get("environment_file", "")
        from_files = dict(base)
        for path in _paths(files):
            from_files.update(dotenv.read(path, {**os.environ, **from_files}))
        if not from_files:
            continue
        explicit = dict_of_key_value_pairs(options.get("environment", ""))
        options["environment"] = format_environment({**from_files, **explicit}, name)
        read = ([project_env] if base and project_env else []) + _paths(files)
        environments[section] = Environment(from_files, explicit, tuple(read))
    return environments


def _paths(value: str) -> list[Path]:
    return [Path(part.strip()) for part in value.split(",") if part.strip()]


def format_environment(environment: dict[str, str], program: str) -> str:
    """Return ``environment`` in supervisord's ``KEY="value",...`` syntax.

    supervisord splits the value with a non-POSIX shlex, which knows no
    escapes: a value is quoted with whichever quote it does not contain, and
    one it cannot carry is refused by name.
    """
    items = []
    for key, value in environment.items():
        quote = '"' if '"' not in value else "'"
        ends = {value[:1], value[-1:]} - {""}
        if quote in value or "\n" in value or ends & {"'", '"'}:
            raise EnvFileError(
                f"program {program!r}: the value of {key} cannot be passed through supervisord "
                "(it holds a newline, both kinds of quotes, or starts or ends with a quote)"
            )
        items.append(f"{key}={quote}{value}{quote}")
    return ",".join(items)


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
