"""The huey preset's app: its program is in management/supervisord.conf."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.checks import CheckMessage

from djsupervisor.presets import PresetConfig, RequiredApp, Sections


class HueyPresetConfig(PresetConfig):
    name = "djsupervisor.contrib.huey"
    label = "djsupervisor_huey"  # not 'huey'
    verbose_name = "Supervisor preset: huey"
    programs = ("huey",)
    required_app = RequiredApp(
        "huey.contrib.djhuey", "huey's run_huey", "huey", "djsupervisor.E141"
    )

    def check_config(self, sections: Sections) -> Iterable[CheckMessage]:
        from .checks import check_config  # imported when the checks run, not at startup

        return check_config(self, sections)
