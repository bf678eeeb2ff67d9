"""Paths from the template context stay whole on a command line, and plain elsewhere."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from django.test import override_settings

from djsupervisor.config.build import build
from djsupervisor.config.quoting import mark, unmark, unmark_command
from djsupervisor.options import Options

ODD = "/srv/my project/it's"  # a space and a quote


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (f"{mark(ODD)}/manage.py runserver", [f"{ODD}/manage.py", "runserver"]),
        (f'run "{mark(ODD)}/x" y', ["run", f"{ODD}/x", "y"]),
        (f"run '{mark(ODD)}/x' y", ["run", f"{ODD}/x", "y"]),
        (f"run a\\ {mark(ODD)}", ["run", f"a {ODD}"]),
        (f"run {mark('/srv/app')}/x", ["run", "/srv/app/x"]),
    ],
)
def test_marked_paths_are_quoted_where_they_stand(command: str, words: list[str]) -> None:
    assert shlex.split(unmark_command(command)) == words


def test_marked_paths_elsewhere_stay_plain() -> None:
    assert unmark(f"{mark(ODD)}/logs") == f"{ODD}/logs"
    assert unmark_command(f"run {mark('/srv/app')}/x") == "run /srv/app/x"  # nothing to quote


def test_a_project_path_with_a_space_and_a_quote(tmp_path: Path, short_dir: Path) -> None:
    project = tmp_path / "my project's"
    project.mkdir()
    (project / "manage.py").write_text("")
    (project / "supervisord.conf").write_text(
        "[program:web]\n"
        "command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py runserver\n"
        "stdout_logfile={{ PROJECT_DIR }}/web.log\n"
        "[program:shell]\n"
        "command=sh -c 'cd {{ PROJECT_DIR }} && echo {{ environ.HOME|quote }}'\n"
    )
    with override_settings(SUPERVISOR_RUNTIME_DIR=str(short_dir)):
        sections = build(Options(project_dir=str(project))).merged.sections
    web = sections["program:web"]
    assert shlex.split(web["command"])[1:] == [f"{project}/manage.py", "runserver"]
    assert web["stdout_logfile"] == f"{project}/web.log"
    assert web["directory"] == str(project)
    inner = shlex.split(sections["program:shell"]["command"])[2]
    assert inner.startswith(f"cd {project} && echo ")
