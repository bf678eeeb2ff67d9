"""djsupervisor's settings, each with its documented default."""

from __future__ import annotations

import os

from django.conf import settings

from .errors import SettingError

ENV_FILE = ".env"  # the default project environment file, beside manage.py


class Settings:
    """Read ``SUPERVISOR_*`` settings with their defaults.

    Properties read Django's settings on each access, so ``override_settings``
    works in tests.
    """

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
