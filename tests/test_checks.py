"""``manage.py check`` reports a broken supervisord config by a stable id."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from djsupervisor.checks import check_supervisor_config

GOOD = "[program:web]\ncommand=run\nautoreload=false\n"


@pytest.fixture
def conf_file(tmp_path: Path) -> Path:
    return tmp_path / "supervisord.conf"


def ids_for(conf_file: Path, text: str, **settings: object) -> list[str]:
    conf_file.write_text(text)
    with override_settings(SUPERVISOR_CONFIG_FILE=str(conf_file), **settings):
        return [str(message.id) for message in check_supervisor_config()]


def test_good_config_passes(conf_file: Path) -> None:
    assert ids_for(conf_file, GOOD) == []
    conf_file.write_text(GOOD)
    with override_settings(SUPERVISOR_CONFIG_FILE=str(conf_file)):
        call_command("check")


@pytest.mark.parametrize(
    ("text", "settings", "check_id"),
    [
        ("[program:web]\ncommand={% if %}\n", {}, "djsupervisor.E001"),
        ("[program:web]\ncommand=run\nnot an option\n", {}, "djsupervisor.E002"),
        ("[program:web]\nstartsecs=1\n", {}, "djsupervisor.E003"),
        (GOOD + "exclude=maybe\n", {}, "djsupervisor.E004"),
        (GOOD + "autoreload_signal=RELOAD\n", {}, "djsupervisor.E004"),
        (GOOD + "ready_timeout=nan\n", {}, "djsupervisor.E004"),
        (GOOD + "ready_timeout=inf\n", {}, "djsupervisor.E004"),
        (GOOD + "ready_timeout=0\n", {}, "djsupervisor.E004"),
        (GOOD + "ready_timeout=-1\n", {}, "djsupervisor.E004"),
        (GOOD, {"SUPERVISOR_AUTORELOAD_PATTERNS": "*.py"}, "djsupervisor.E005"),
        (GOOD, {"SUPERVISOR_AUTORELOAD_IGNORE_PATTERNS": [".*", 1]}, "djsupervisor.E005"),
        (GOOD, {"SUPERVISOR_AUTORELOAD_DIRS": None}, "djsupervisor.E005"),
        (GOOD + "startsecs=soon\n", {}, "djsupervisor.E006"),
        (GOOD + "autorestart=maybe\n", {}, "djsupervisor.E006"),
        (GOOD, {"SUPERVISOR_ALLOW_UNAUTHENTICATED_SERVER": "yes"}, "djsupervisor.E005"),
        ("[program:web]\ncommand=echo 'x\n", {}, "djsupervisor.E010"),
        ("[inet_http_server]\nport=127.0.0.1:9\n" + GOOD, {}, "djsupervisor.E011"),
        ("[supervisord]\nuser=nobody\n" + GOOD, {}, "djsupervisor.E012"),
        (GOOD + "ready=tcp:nope\n", {}, "djsupervisor.E013"),
        (GOOD + 'ready=exec:sh -c "echo\n', {}, "djsupervisor.E013"),
        (GOOD + "depends_on=db\n", {}, "djsupervisor.E014"),
        (GOOD + "depends_on=web\n", {}, "djsupervisor.E014"),
        (GOOD + "autorelaod=false\n", {}, "djsupervisor.W001"),
    ],
)
def test_each_mistake_has_its_id(
    conf_file: Path, text: str, settings: dict[str, object], check_id: str
) -> None:
    assert ids_for(conf_file, text, **settings) == [check_id]


def test_missing_config_file(tmp_path: Path) -> None:
    with override_settings(SUPERVISOR_CONFIG_FILE=str(tmp_path / "nope.conf")):
        assert [m.id for m in check_supervisor_config()] == ["djsupervisor.E007"]


def test_messages_name_the_file_and_line(conf_file: Path) -> None:
    conf_file.write_text("[program:web]\ncommand=run\n\n{% if %}\n")
    with override_settings(SUPERVISOR_CONFIG_FILE=str(conf_file)):
        (message,) = check_supervisor_config()
    assert isinstance(message, Error)
    assert message.msg.startswith(f"{conf_file}, line 4: template error")


def test_unknown_option_suggests_the_known_one(conf_file: Path) -> None:
    conf_file.write_text(GOOD + "autoreload_sginal=HUP\n")
    with override_settings(SUPERVISOR_CONFIG_FILE=str(conf_file)):
        (message,) = check_supervisor_config()
    assert isinstance(message, Warning)
    assert message.hint == "did you mean 'autoreload_signal'?"


def test_broken_config_fails_manage_py_check(conf_file: Path) -> None:
    conf_file.write_text("[program:web]\nstartsecs=1\n")
    with (
        override_settings(SUPERVISOR_CONFIG_FILE=str(conf_file)),
        pytest.raises(SystemCheckError, match=r"djsupervisor.E003.*program 'web' has no command"),
    ):
        call_command("check")


def test_checking_creates_no_runtime_directory(conf_file: Path) -> None:
    # Short on purpose: the control socket's path must fit in a unix socket's.
    with tempfile.TemporaryDirectory(prefix="djs-") as base:
        runtime = Path(base) / "runtime"
        assert ids_for(conf_file, GOOD, SUPERVISOR_RUNTIME_DIR=str(runtime)) == []
        assert not runtime.exists()
