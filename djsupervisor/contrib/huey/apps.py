"""The huey preset's app: its program is in management/supervisord.conf."""

from __future__ import annotations

from ..preset import PresetConfig, RequiredApp


class HueyPresetConfig(PresetConfig):
    default = True  # not PresetConfig, which this module imports
    name = "djsupervisor.contrib.huey"
    label = "djsupervisor_huey"  # not 'huey'
    verbose_name = "Supervisor preset: huey"
    programs = ("huey",)
    required_app = RequiredApp(
        "huey.contrib.djhuey", "huey's run_huey", "huey", "djsupervisor.E141"
    )
