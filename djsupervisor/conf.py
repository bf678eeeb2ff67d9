"""djsupervisor's settings, each with its documented default."""

from __future__ import annotations

from django.conf import settings


class Settings:
    """Read ``SUPERVISOR_*`` settings with their defaults.

    Properties read Django's settings on each access, so ``override_settings``
    works in tests.
    """

    @property
    def SUPERVISOR_CONFIG_FILE(self) -> str | None:
        """Path of the project's config file; ``None`` means PROJECT_DIR/supervisord.conf."""
        return getattr(settings, "SUPERVISOR_CONFIG_FILE", None)

    @property
    def SUPERVISOR_RUNTIME_DIR(self) -> str | None:
        """Base directory of the per-project runtime directories.

        Each project gets a private (0700) directory inside it for the control
        socket, pidfile, logs and rendered config. ``None`` means
        ``$XDG_RUNTIME_DIR/djsupervisor`` or ``<tmp>/djsupervisor-<uid>``.
        """
        return getattr(settings, "SUPERVISOR_RUNTIME_DIR", None)

    @property
    def SUPERVISOR_AUTORELOAD_PATTERNS(self) -> list[str]:
        """Glob patterns of files whose change triggers an autoreload."""
        return getattr(settings, "SUPERVISOR_AUTORELOAD_PATTERNS", ["*.py"])

    @property
    def SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS(self) -> list[str]:
        """Glob patterns of files that never trigger an autoreload."""
        return getattr(settings, "SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS", [".*", "#*", "*~"])

    @property
    def SUPERVISOR_AUTORELOAD_DIRS(self) -> list[str]:
        """Directories watched for changes besides the project and its installed apps."""
        return getattr(settings, "SUPERVISOR_AUTORELOAD_DIRS", [])


conf = Settings()
