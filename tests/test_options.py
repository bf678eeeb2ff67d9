from __future__ import annotations

import shlex

from djsupervisor.options import Options


def test_command_line_repeats_options_but_not_daemonize() -> None:
    options = Options(
        project_dir="/srv/my project",
        daemonize=True,
        exclude=("web", "cron"),
        noreload=True,
    )
    assert shlex.split(options.as_command_line()) == [
        "--project-dir",
        "/srv/my project",
        "--exclude",
        "web",
        "--exclude",
        "cron",
        "--noreload",
    ]


def test_empty_options_render_empty() -> None:
    assert Options().as_command_line() == ""
