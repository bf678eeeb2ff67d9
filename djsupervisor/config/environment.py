"""Give programs the variables of ``.env`` and their ``environment_file``: never on a command line.

The values go into each program's ``environment=`` in the rendered config,
which only its owner can read, so they never show in ``ps``. An explicit
``environment=`` wins over the files, a program's own files over the
project's ``.env``. ``getconfig`` shows them masked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from supervisor.datatypes import dict_of_key_value_pairs

from ..errors import EnvFileError
from . import dotenv
from .merge import Merged, process_sections

MASK = "********"


def apply_environment(merged: Merged, project_env: Path | None) -> dict[str, str]:
    """Put the files' variables into each program's ``environment=``.

    Return the masked ``environment=`` values, by section, for ``getconfig``.
    """
    base = dotenv.read(project_env, os.environ) if project_env else {}
    masked = {}
    for section, name in process_sections(merged.sections):
        options = merged.sections[section]
        files = merged.own.get(name, {}).get("environment_file", "")
        from_files = dict(base)
        for path in _paths(files):
            from_files.update(dotenv.read(path, {**os.environ, **from_files}))
        if not from_files:
            continue
        explicit = dict_of_key_value_pairs(options.get("environment", ""))
        environment = {**from_files, **explicit}
        options["environment"] = format_environment(environment, name)
        masked[section] = format_environment(
            {k: v if k in explicit else MASK for k, v in environment.items()}, name
        )
    return masked


def _paths(value: str) -> Iterable[Path]:
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
