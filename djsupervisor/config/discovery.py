"""Find the project directory and the config files that make up a project's config."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from ..errors import ConfigError, MissingFileError
from ..runtime import PROJECT_DIR_VARIABLE

PROJECT_CONFIG = "supervisord.conf"
APP_CONFIG = os.path.join("management", "supervisord.conf")


@dataclass(frozen=True)
class Source:
    """One config file to render: the project's, or an installed app's."""

    path: Path
    app_dir: Path | None = None  # set for an app-provided file


def find_project_dir(explicit: str | None = None, settings_module: str | None = None) -> Path:
    """Return the directory holding manage.py.

    Use ``explicit`` if given; else the directory of the running ``manage.py``;
    else, in a program supervisord runs (gunicorn), the project of that
    supervisord; else walk up from ``settings_module`` looking for
    ``manage.py``; else the current directory. The path is the one the project was reached by,
    symbolic links and all: a deployment's ``current -> releases/r1``
    switched to ``r2`` is still the same project, whose supervisord is found
    again and whose programs restart into the new release.
    """
    if explicit:
        path = absolute(Path(explicit))
        if not path.is_dir():
            raise ConfigError(f"--project-dir {explicit}: no such directory")
        return path
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script and script.name == "manage.py" and script.is_file():
        return absolute(script).parent
    supervised = os.environ.get(PROJECT_DIR_VARIABLE)
    if supervised and os.path.isdir(supervised):
        return Path(supervised)
    spec = find_spec(settings_module) if settings_module else None
    if spec and spec.origin:
        for parent in absolute(Path(spec.origin)).parents:
            if (parent / "manage.py").is_file():
                return parent
    return logical_cwd()


def logical_cwd() -> Path:
    """Return the current directory as the shell names it (``$PWD``), symbolic links and all."""
    pwd = os.environ.get("PWD", "")
    with contextlib.suppress(OSError):
        if os.path.isabs(pwd) and os.path.samefile(pwd, os.curdir):
            return Path(pwd)
    return Path.cwd()


def absolute(path: Path) -> Path:
    """Return ``path`` absolute and normalized, without resolving symbolic links."""
    return Path(os.path.normpath(logical_cwd() / path))


def project_config_path(project_dir: Path, config_file: str | None) -> Path:
    """Return the project's config file: ``config_file`` or PROJECT_DIR/supervisord.conf."""
    if not config_file:
        return project_dir / PROJECT_CONFIG
    return Path(os.path.normpath(project_dir / config_file))


def find_sources(project_config: Path, explicit: bool, app_dirs: Sequence[Path]) -> list[Source]:
    """Return the config files of the apps in ``app_dirs`` (in order), then the project's.

    A missing project file is an error only when the user named it
    (``explicit``): without one, the apps' files alone make the config.
    """
    sources = [
        Source(path, app_dir=path.parents[1])
        for app_dir in app_dirs
        if (path := app_dir / APP_CONFIG).is_file()
    ]
    if project_config.is_file():
        sources.append(Source(project_config))
    elif project_config.exists():
        kind = "a directory" if project_config.is_dir() else "not a regular file"
        raise MissingFileError(
            f"config file {project_config} is {kind}; name a supervisord.conf file with "
            "--config-file / SUPERVISOR_CONFIG_FILE"
        )
    elif explicit:
        raise MissingFileError(
            f"config file {project_config} does not exist; create it or fix "
            "--config-file / SUPERVISOR_CONFIG_FILE"
        )
    return sources
