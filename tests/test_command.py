"""``manage.py supervisor`` driven through Django's call_command, in this process."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from djsupervisor.control.stale import SERVER_URL_VARIABLE
from djsupervisor.proctable import (
    ProcessId,
    read_pid,
    stop_process_groups,
    with_environment,
)
from djsupervisor.runtime import RuntimeDir

CONF = """
[program:sleeper]
command=sleep 1000

[program:idle]
command=sleep 1000
autostart=false
"""


@pytest.fixture
def project(tmp_path: Path, short_dir: Path) -> Iterator[Path]:
    """Return a project directory whose runtime directory is under ``short_dir``."""
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "supervisord.conf").write_text(CONF)
    with override_settings(
        INSTALLED_APPS=["djsupervisor"], SUPERVISOR_RUNTIME_DIR=str(short_dir), DEBUG=False
    ):
        yield tmp_path
        runtime = RuntimeDir.for_project(tmp_path, str(short_dir))
        supervisord = read_pid(runtime.pidfile)
        left = with_environment(SERVER_URL_VARIABLE, f"unix://{runtime.socket}")
        stop_process_groups([*left, *([ProcessId.of(supervisord)] if supervisord else [])])


def supervisor(project: Path, *args: str) -> str:
    """Run ``manage.py supervisor ARGS`` in this process; return what it printed."""
    out = io.StringIO()
    call_command("supervisor", "--project-dir", str(project), *args, stdout=out, stderr=out)
    return out.getvalue()


def test_getconfig_prints_the_merged_config(project: Path) -> None:
    text = supervisor(project, "getconfig")
    assert "[program:sleeper]\n" in text and "\ncommand=sleep 1000\n" in text
    assert text.startswith("[supervisord]\n")


def test_errors_are_command_errors_with_a_status(project: Path) -> None:
    with pytest.raises(CommandError, match="supervisord is not running for this project") as exc:
        supervisor(project, "status")
    assert exc.value.returncode == 1
    with pytest.raises(CommandError, match="--daemonize only applies to starting"):
        supervisor(project, "--daemonize", "status")
    with pytest.raises(CommandError, match="getconfig takes no arguments"):
        supervisor(project, "getconfig", "web")


def test_start_status_stop_and_shutdown(project: Path) -> None:
    assert "supervisord is running (pid " in supervisor(project, "--daemonize")
    status = supervisor(project, "status", "sleeper")
    assert status.split()[:2] in (["sleeper", "STARTING"], ["sleeper", "RUNNING"])
    # A stopped process makes status exit 3, as supervisorctl's does.
    with pytest.raises(CommandError) as exc:
        supervisor(project, "status", "idle")
    assert exc.value.returncode == 3
    with pytest.raises(CommandError, match="already running for this project"):
        supervisor(project, "--daemonize")
    assert supervisor(project, "shutdown").endswith("Shut down\n")
    with pytest.raises(CommandError, match="not running"):
        supervisor(project, "status")
