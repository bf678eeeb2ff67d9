"""The celery preset's setting, with its documented default."""

from __future__ import annotations

from django.conf import settings

from djsupervisor.presets import SettingError


class Settings:
    """Read the celery preset's ``SUPERVISOR_*`` setting with its default.

    Read on each access, as djsupervisor's own settings are, so
    ``override_settings`` works in tests.
    """

    @property
    def SUPERVISOR_CELERY_APP(self) -> str:
        """The Celery app the celery preset's programs run (``celery --app``).

        By default the package of the settings module (``proj`` for
        ``proj.settings``), where Celery's Django guide puts ``celery.py``.
        """
        value = getattr(settings, "SUPERVISOR_CELERY_APP", None)
        if value is None:  # '' without a settings module: the preset's check says so
            return (settings.SETTINGS_MODULE or "").partition(".")[0]
        if not isinstance(value, str) or not value:
            raise SettingError(
                f"settings.SUPERVISOR_CELERY_APP must name a Celery app ('proj' or "
                f"'proj.celery:app'), not {value!r}"
            )
        return value


conf = Settings()
