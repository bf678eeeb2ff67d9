"""The command's help, its version, and choosing which programs run, as a user types them."""

from __future__ import annotations

import pytest

from djsupervisor import __version__
from djsupervisor.usage import SUBCOMMANDS

from .conftest import Project

pytestmark = pytest.mark.integration

PROGRAMS = """
[program:migrate]
command=true
oneshot=true

[program:web]
command=sleep 1000
depends_on=migrate:done

[program:worker]
command=sleep 1000
depends_on=web
"""


def test_help_lists_every_command_and_each_answers_help(project: Project) -> None:
    for args in (("help", "supervisor"), ("supervisor", "--help")):
        shown = project.run_manage(*args)
        assert shown.returncode == 0, shown.stderr
        for name in ("run", "logs", "export", "attach", "start", "tail", "getconfig", "shell"):
            assert f"\n  {name} " in shown.stdout, name
    for subcommand in SUBCOMMANDS:
        shown = project.run(subcommand.name, "--help")
        assert shown.returncode == 0, (subcommand.name, shown.stderr)
        assert shown.stdout.startswith(f"usage: manage.py supervisor {subcommand.name}")
        assert "options:" in shown.stdout and "-h, --help" in shown.stdout


def test_version_is_djsupervisors(project: Project) -> None:
    shown = project.run("--version")
    assert (shown.returncode, shown.stdout) == (0, f"{__version__}\n")


def test_leaving_out_a_program_others_need_says_which_and_how(project: Project) -> None:
    project.write("supervisord.conf", PROGRAMS)
    refused = project.run("-x", "migrate")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "CommandError: program 'migrate' is left out (-x migrate), but web depends on it "
        "(and worker on web); leave them out too (-x migrate -x web -x worker)"
    )
    # --only worker needs migrate: leaving worker out too is no fix.
    needed = project.run("-x", "migrate", "--only", "worker")
    assert needed.returncode == 1
    assert needed.stderr.strip() == (
        "CommandError: program 'migrate' is left out (-x migrate), but web depends on it "
        "(and worker on web); with --only worker it must run: drop -x migrate"
    )
    in_vain = project.run("--only", "web", "-r", "worker")
    assert in_vain.returncode == 1
    assert in_vain.stderr.strip() == (
        "CommandError: --autoreload worker: worker does not run with --only web; "
        "add --only worker, or drop --autoreload worker"
    )
    unknown = project.run("--only", "webb")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("CommandError: --only webb: no such program (programs:")


def test_only_web_starts_web_and_what_it_depends_on(project: Project) -> None:
    project.write("supervisord.conf", PROGRAMS)
    started = project.run("--daemonize", "--only", "web")
    assert started.returncode == 0, started.stderr
    project.wait_running("web")
    status = project.run("status")
    states = {line.split()[0]: line.split()[1] for line in status.stdout.splitlines()}
    assert states == {"migrate": "EXITED", "web": "RUNNING"}, status.stdout
    assert "done" in next(line for line in status.stdout.splitlines() if line.startswith("migrate"))
    # reload keeps the selection, as it keeps -x
    assert project.run("reload").returncode == 0
    project.wait_running("web")
    assert "worker" not in project.run("status").stdout
    assert project.run("shutdown").returncode == 0
