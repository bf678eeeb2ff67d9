"""Settings for the unit tests: djsupervisor plus two apps that ship config files."""

from __future__ import annotations

SECRET_KEY = "tests-only"
INSTALLED_APPS = ["djsupervisor", "tests.apps.alpha", "tests.apps.beta"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
