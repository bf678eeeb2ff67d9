"""djsupervisor's settings, each with its documented default, and all it reads of Django.

:class:`ProjectSettings` is the one place the config build learns about the
Django project: the management command (or a check, the admin) reads it once
and passes it down, so that config/ and export/ never read Django's settings
or app registry themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings

from .errors import SettingError

ENV_FILE = ".env"  # the default project environment file, beside manage.py


class Settings:
    """Read ``SUPERVISOR_*`` settings with their defaults.

    Properties read Django's settings on each access, so ``override_settings``
    works in tests.
    """

    @property
    def settings_module(self) -> str | None:
        """The settings module Django runs with (``--settings`` or DJANGO_SETTINGS_MODULE)."""
        return settings.SETTINGS_MODULE or None

    @property
    def SUPERVISOR_CONFIG_FILE(self) -> str | None:
        """Path of the project's config file; ``None`` means PROJECT_DIR/supervisord.conf."""
        return _optional_path("SUPERVISOR_CONFIG_FILE")

    @property
    def SUPERVISOR_ENV_FILE(self) -> str | None:
        """The project's environment file (dotenv syntax) for every program.

        Relative to the project directory; read if it exists. ``None``: none.
        """
        return _optional_path("SUPERVISOR_ENV_FILE", ENV_FILE)

    @property
    def SUPERVISOR_RUNTIME_DIR(self) -> str | None:
        """Base directory of the per-project runtime directories.

        Each project gets a private (0700) directory inside it for the control
        socket, pidfile, logs and rendered config. ``None`` means
        ``$XDG_RUNTIME_DIR/djsupervisor`` or ``<tmp>/djsupervisor-<uid>``.
        """
        return _optional_path("SUPERVISOR_RUNTIME_DIR")

    @property
    def SUPERVISOR_ALLOW_UNAUTHENTICATED_SERVER(self) -> bool:
        """Accept an ``[inet_http_server]`` without a password (anyone reaching it controls it)."""
        return _boolean("SUPERVISOR_ALLOW_UNAUTHENTICATED_SERVER", False)

    @property
    def SUPERVISOR_CONSOLE_TIMESTAMPS(self) -> bool:
        """Show the time before each line the foreground command and ``logs`` print."""
        return _boolean("SUPERVISOR_CONSOLE_TIMESTAMPS", False)

    @property
    def SUPERVISOR_AUTORELOAD_PATTERNS(self) -> list[str]:
        """Glob patterns of files whose change triggers an autoreload."""
        return _string_list("SUPERVISOR_AUTORELOAD_PATTERNS", ["*.py"])

    @property
    def SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS(self) -> list[str]:
        """Glob patterns of files that never trigger an autoreload."""
        return _string_list("SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS", [".*", "#*", "*~"])

    @property
    def SUPERVISOR_AUTORELOAD_DIRS(self) -> list[str]:
        """Directories watched for changes besides the project and its installed apps."""
        return _string_list("SUPERVISOR_AUTORELOAD_DIRS", [])


def _optional_path(name: str, default: str | None = None) -> str | None:
    value: object = getattr(settings, name, default)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fsdecode(value)
    raise SettingError(f"settings.{name} must be a path (a string), not {value!r}")


def _boolean(name: str, default: bool) -> bool:
    value = getattr(settings, name, default)
    if not isinstance(value, bool):
        raise SettingError(f"settings.{name} must be True or False, not {value!r}")
    return value


def _string_list(name: str, default: list[str]) -> list[str]:
    value = getattr(settings, name, default)
    # A lone string is a list of characters to Python: refuse it by name.
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise SettingError(f"settings.{name} must be a list of strings, not {value!r}")
    return list(value)


conf = Settings()


@dataclass(frozen=True)
class ProjectSettings:
    """What building a project's config needs of Django, read at once by :meth:`read`."""

    debug: bool
    settings_module: str | None
    app_dirs: tuple[Path, ...]  # the installed apps' directories, in INSTALLED_APPS order
    config_file: str | None
    env_file: str | None
    env_file_explicit: bool  # SUPERVISOR_ENV_FILE is set: a missing file is then an error
    runtime_dir: str | None
    allow_unauthenticated_server: bool
    console_timestamps: bool
    autoreload_patterns: tuple[str, ...]
    autoreload_ignore_patterns: tuple[str, ...]
    autoreload_dirs: tuple[str, ...]
    databases: dict[str, dict[str, Any]]  # for export: which programs share a database file

    @classmethod
    def read(cls) -> ProjectSettings:
        """Read Django's settings and installed apps now (``override_settings`` included)."""
        return cls(
            debug=bool(settings.DEBUG),
            settings_module=conf.settings_module,
            app_dirs=tuple(Path(app.path) for app in apps.get_app_configs()),
            config_file=conf.SUPERVISOR_CONFIG_FILE,
            env_file=conf.SUPERVISOR_ENV_FILE,
            env_file_explicit=getattr(settings, "SUPERVISOR_ENV_FILE", None) is not None,
            runtime_dir=conf.SUPERVISOR_RUNTIME_DIR,
            allow_unauthenticated_server=conf.SUPERVISOR_ALLOW_UNAUTHENTICATED_SERVER,
            console_timestamps=conf.SUPERVISOR_CONSOLE_TIMESTAMPS,
            autoreload_patterns=tuple(conf.SUPERVISOR_AUTORELOAD_PATTERNS),
            autoreload_ignore_patterns=tuple(conf.SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS),
            autoreload_dirs=tuple(conf.SUPERVISOR_AUTORELOAD_DIRS),
            databases=dict(settings.DATABASES),
        )

    @staticmethod
    def template_dirs() -> list[Path]:
        """Return Django's template directories (asked only when templates reload programs)."""
        from django.template.autoreload import get_template_directories

        return sorted(get_template_directories())
