"""The autoreload program's plan: written by the config, read by a watcher without Django."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from djsupervisor.autoreload import __main__ as entry
from djsupervisor.autoreload.plan import Plan
from djsupervisor.config.build import build
from djsupervisor.config.reloading import autoreload_plan, plan_path
from djsupervisor.options import Options

from .support import REPO, WAIT

pytestmark = pytest.mark.usefixtures("runtime_base")  # tests/conftest.py

APPS_DIR = Path(__file__).parent / "apps"
# What the watcher may not load: Django, and what needs it to build the config.
HEAVY = ("django", "djsupervisor.config", "djsupervisor.conf")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "supervisord.conf").write_text(
        "[program:web]\ncommand=run\n\n"
        "[program:jobs]\ncommand=run\nautoreload_patterns=*.txt\n\n"
        "[program:sidecar]\ncommand=run\nautoreload=false\n"
    )
    return tmp_path


def a_plan(project_dir: Path, **changes: object) -> Plan:
    values: dict[str, object] = {
        "project_dir": project_dir,
        "dirs": (project_dir,),
        "patterns": ("*.py",),
        "ignore": (".*",),
        "templates": False,
        "template_dirs": (),
        "url": f"unix://{project_dir}/no.sock",
        "username": "user",
        "password": "secret",
    }
    return Plan(**{**values, **changes})  # type: ignore[arg-type]


def test_a_plan_reads_back_as_written(tmp_path: Path) -> None:
    plan = a_plan(tmp_path, templates=True, template_dirs=(tmp_path / "templates",))
    assert Plan.from_json(plan.to_json()) == plan
    assert plan.watched == "*.py, templates"


@pytest.mark.parametrize("text", ["{}", "[]", '{"supervisord": 1}', "not json"])
def test_what_is_no_plan_is_a_value_error_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "autoreload.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=str(path)):
        Plan.read(path)


@override_settings(
    DEBUG=True,
    SUPERVISOR_AUTORELOAD_DIRS=["extra"],
    SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS=["*.tmp"],
    SUPERVISOR_AUTORELOAD_PATTERNS=["*.py", "*.html"],
)
def test_writing_the_config_writes_the_plan_private(project: Path) -> None:
    config = build(Options(project_dir=str(project)))
    command = shlex.split(config.merged.sections["program:autoreload"]["command"])
    path = plan_path(config.runtime)
    # The same command whatever the options: what changes is in the plan.
    assert command == [sys.executable, "-m", "djsupervisor.autoreload", "--plan", str(path)]
    config.write()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the socket's password
    plan = Plan.read(path)
    assert plan.project_dir == project
    assert plan.dirs[0] == project and project / "extra" in plan.dirs
    assert APPS_DIR / "alpha" in plan.dirs and APPS_DIR / "beta" in plan.dirs
    assert plan.patterns == ("*.py", "*.html", "*.txt")  # web's, then jobs' own
    assert plan.ignore == ("*.tmp",)
    assert plan.templates is True
    assert plan.client == config.client and plan.client.password


@override_settings(DEBUG=True)
def test_the_plan_follows_the_options(project: Path) -> None:
    config = build(Options(project_dir=str(project), autoreload=("jobs",)))
    plan = Plan.from_json(json.dumps(autoreload_plan(config.watching, config.client)))
    assert plan.patterns == ("*.txt",)
    assert plan.templates is False and plan.template_dirs == ()


@override_settings(DEBUG=True)
def test_without_the_autoreload_program_no_plan_is_left(project: Path) -> None:
    config = build(Options(project_dir=str(project)))
    config.write()
    assert plan_path(config.runtime).exists()
    config = build(Options(project_dir=str(project), noreload=True))
    assert "program:autoreload" not in config.merged.sections
    config.write()
    assert not plan_path(config.runtime).exists()


def test_the_watcher_loads_no_django(tmp_path: Path) -> None:
    """The watcher starts from its plan alone: nothing of Django, nor of the config build."""
    (tmp_path / "code").mkdir()
    path = tmp_path / "autoreload.json"
    path.write_text(a_plan(tmp_path / "code").to_json())
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SUPERVISOR_ENABLED", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    watcher = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "djsupervisor.autoreload", "--plan", str(path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = watcher.stdout.readline() if watcher.stdout else ""
    finally:
        watcher.kill()
        _, imports = watcher.communicate(timeout=WAIT)
    assert first == f"watching {(tmp_path / 'code').resolve()} for *.py\n", imports[-2000:]
    loaded = [line.rpartition("|")[2].strip() for line in imports.splitlines() if "|" in line]
    assert "djsupervisor.autoreload.main" in loaded
    heavy = [name for name in loaded if name.split(".")[0] == "django" or name.startswith(HEAVY)]
    assert heavy == []


def test_a_missing_plan_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"autoreload: cannot read the plan: .*no\.json"):
        entry.main(["--plan", str(tmp_path / "no.json")])


def test_an_earlier_command_line_says_to_update(capsys: pytest.CaptureFixture[str]) -> None:
    # A supervisord started by an earlier djsupervisor runs the watcher with the options.
    with pytest.raises(SystemExit):
        entry.main(["--settings", "tests.settings", "-r", "web"])
    assert "--plan" in capsys.readouterr().err
