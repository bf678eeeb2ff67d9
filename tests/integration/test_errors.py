"""Every bad input: one clear line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest

from ..support import WAIT, free_port, http_get, wait_for
from .conftest import Project, Result
from .test_foreground import Lines

pytestmark = pytest.mark.integration


def assert_one_clear_error(result: Result, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("conf", "fragments"),
    [
        ("[program:web]\ncommand=x\n{% if %}\n", ["supervisord.conf, line 3: template error"]),
        (
            "[program:web]\ncommand=x\nthis is not ini\n",
            ["supervisord.conf, line 3: cannot parse 'this is not ini'"],
        ),
        ("command=x\n", ["supervisord.conf, line 1: text before the first [section] header"]),
        (
            "[program:worker]\nautostart=true\n",
            ["program 'worker' has no command", "supervisord.conf"],
        ),
        (
            "[program:web]\ncommand=x\nautostart=maybe\n",
            ["not a valid boolean value: 'maybe'", "supervisord.conf"],
        ),
        (
            "[program:web]\ncommand=x\nexclude=perhaps\n",
            ["program 'web'", "exclude='perhaps' is not a boolean"],
        ),
    ],
)
def test_bad_config(project: Project, conf: str, fragments: list[str]) -> None:
    project.write("supervisord.conf", conf)
    for args in (("--daemonize",), ("getconfig",), ("reload",)):
        assert_one_clear_error(project.run(*args), *fragments)


def test_missing_config_file(project: Project) -> None:
    assert_one_clear_error(
        project.run("--config-file", "nope.conf", "-d"), "nope.conf does not exist"
    )
    assert_one_clear_error(project.run("getconfig"), "no supervisord.conf in", "create it")


def test_unknown_program(project: Project) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    assert_one_clear_error(
        project.run("-x", "wbe", "-d"), "--exclude wbe: no such program (programs: web)"
    )


def test_command_while_not_running(project: Project) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    for command in ("status", "shutdown", "reload", "shell"):
        assert_one_clear_error(
            project.run(command),
            "supervisord is not running for this project",
            "start it with 'python manage.py supervisor --daemonize'",
        )


def write_wrong_credentials(project: Project) -> int:
    """Have the config give supervisorctl a password supervisord refuses; return its port."""
    port = free_port()
    project.write(
        "supervisord.conf",
        f"[inet_http_server]\nport=127.0.0.1:{port}\nusername=admin\npassword=right\n"
        "[supervisorctl]\npassword=wrong\n"
        "[program:web]\ncommand=sleep 1000\n",
    )
    return port


def test_credentials_supervisord_refuses(project: Project) -> None:
    port = write_wrong_credentials(project)
    assert_one_clear_error(
        project.run("-d"),
        f"supervisord at http://127.0.0.1:{port} refused the request: 401 Unauthorized",
        "check the username and password in the config's [supervisorctl] section",
    )
    # The supervisord that nothing could control is gone again.
    wait_for(lambda: not project.runtime_dir().joinpath("supervisord.pid").exists(), "its exit")


def test_credentials_refused_in_the_foreground_are_said_at_once(project: Project) -> None:
    """Said as the programs start, not when Ctrl-C cannot stop them as asked."""
    port = write_wrong_credentials(project)
    command = project.start_foreground(stderr=subprocess.PIPE, text=False)
    assert command.stderr is not None
    errors = Lines(command.stderr)
    errors.wait_for(
        f"^djsupervisor: supervisord at http://127.0.0.1:{port} refused the request: "
        "401 Unauthorized; check the username and password in the config's "
        r"\[supervisorctl\] section$"
    )
    command.send_signal(signal.SIGTERM)  # stopped by supervisord's own shutdown, then
    assert command.wait(WAIT) == 0


def test_supervisord_failing_to_start_says_why(project: Project) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        project.write(
            "supervisord.conf",
            f"[inet_http_server]\nport=127.0.0.1:{port}\nusername=u\npassword=p\n"
            "[program:web]\ncommand=sleep 1000\n",
        )
        assert_one_clear_error(
            project.run("-d"), "supervisord could not start", "already listening"
        )


def test_daemonize_with_a_command(project: Project) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    assert_one_clear_error(
        project.run("-d", "status"), "--daemonize only applies to starting supervisord"
    )


def test_manage_py_check_reports_by_id(project: Project) -> None:
    project.write("supervisord.conf", "[program:web]\nstartsecs=1\n")
    broken = project.run_manage("check")
    assert broken.returncode == 1
    assert "(djsupervisor.E003) program 'web' has no command" in broken.stderr
    assert "Traceback" not in broken.stderr
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1\n")
    good = project.run_manage("check")
    assert good.returncode == 0, good.stderr
    assert "no issues" in good.stdout


@pytest.mark.parametrize(
    ("option", "check_id"),
    [
        ("ready_timeout=nan", "E004"),
        ("ready_timeout=inf", "E004"),
        ("ready_timeout=0", "E004"),
        ("ready_timeout=-1", "E004"),
        ('ready=exec:sh -c "echo', "E013"),
        ("autorestart=maybe", "E006"),
    ],
)
def test_a_bad_readiness_or_restart_value_is_refused_before_anything_runs(
    project: Project, option: str, check_id: str
) -> None:
    conf = project.write("supervisord.conf", f"[program:web]\ncommand=sleep 1000\n{option}\n")
    name = option.partition("=")[0]
    checked = project.run_manage("check")
    assert checked.returncode != 0
    assert "Traceback" not in checked.stderr
    assert f"(djsupervisor.{check_id}) program 'web' (from {conf}): {name}=" in checked.stderr
    assert_one_clear_error(project.run("-d"), f"program 'web' (from {conf}): {name}=")
    assert not (project.runtime_dir() / "supervisord.pid").exists()  # it never started


def test_a_broken_config_does_not_keep_a_program_from_restarting(project: Project) -> None:
    port = free_port()
    command = "{{ PYTHON }} manage.py runserver --noreload 127.0.0.1:" + str(port)
    project.write("supervisord.conf", f"[program:web]\ncommand={command}\n")
    assert project.run("-d").returncode == 0
    assert wait_for(lambda: http_get(port), "web to serve")
    project.write("supervisord.conf", "[program:web]\nstartsecs=1\n")  # djsupervisor.E003
    # runserver runs the system checks as it starts; djsupervisor's is not
    # its business there, as the running supervisord was checked already.
    restart = project.run("restart", "web")
    assert restart.returncode == 0, restart.stdout + restart.stderr
    assert wait_for(lambda: http_get(port), "web to serve again")


def test_a_bad_value_does_not_lock_out_the_running_supervisord(project: Project) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    assert project.run("-d").returncode == 0
    project.wait_running("web")
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\nautostart=maybe\n")
    # status and stop act on the config supervisord holds; reload refuses the new one.
    assert "RUNNING" in project.run("status").stdout
    assert_one_clear_error(project.run("reload"), "not a valid boolean value: 'maybe'")
    project.write("supervisord.conf", "[program:web\n{% if %}")  # unparsable, bad template
    assert "RUNNING" in project.run("status").stdout
    assert project.run("stop", "web").returncode == 0
