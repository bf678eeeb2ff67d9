"""Find the project directory and the config files that make up a project's config."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from django.apps import apps
from django.conf import settings

from ..errors import ConfigError, MissingFileError

PROJECT_CONFIG = "supervisord.conf"
APP_CONFIG = os.path.join("management", "supervisord.conf")


@dataclass(frozen=True)
class Source:
    """One config file to render: the project's, or an installed app's."""

    path: Path
    app_dir: Path | None = None  # set for an app-provided file


def find_project_dir(explicit: str | None = None) -> Path:
    """Return the directory holding manage.py.

    Use ``explicit`` if given; else the directory of the running ``manage.py``;
    else walk up from the settings module looking for ``manage.py``; else the
    current directory.
    """
    if explicit:
        path = Path(explicit).resolve()
        if not path.is_dir():
            raise ConfigError(f"--project-dir {explicit}: no such directory")
        return path
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script and script.name == "manage.py" and script.is_file():
        return script.resolve().parent
    spec = find_spec(settings.SETTINGS_MODULE) if settings.SETTINGS_MODULE else None
    if spec and spec.origin:
        for parent in Path(spec.origin).resolve().parents:
            if (parent / "manage.py").is_file():
                return parent
    return Path.cwd().resolve()


def project_config_path(project_dir: Path, config_file: str | None) -> Path:
    """Return the project's config file: ``config_file`` or PROJECT_DIR/supervisord.conf."""
    if not config_file:
        return project_dir / PROJECT_CONFIG
    return (project_dir / config_file).resolve()


def find_sources(project_config: Path, explicit: bool) -> list[Source]:
    """Return app config files in INSTALLED_APPS order, then the project's.

    A missing project file is an error only when the user named it
    (``explicit``): without one, the apps' files alone make the config.
    """
    sources = [
        Source(path, app_dir=path.parents[1])
        for app in apps.get_app_configs()
        if (path := Path(app.path) / APP_CONFIG).is_file()
    ]
    if project_config.is_file():
        sources.append(Source(project_config))
    elif explicit:
        raise MissingFileError(
            f"config file {project_config} does not exist; create it or fix "
            "--config-file / SUPERVISOR_CONFIG_FILE"
        )
    return sources
