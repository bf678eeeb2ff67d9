"""``reload``, ``update`` and the shell's keep the options supervisord was started with."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

import pytest

from djsupervisor.graph import read_graph
from djsupervisor.proctable import ProcessId

from ..support import WAIT, alive, wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

WEB_AND_WORKER = """
[program:web]
command=sleep 1000

[program:worker]
command=sleep 1000
"""
EXTRA = "\n[program:extra]\ncommand=sleep 1000\n"


def start(project: Project, *args: str) -> None:
    started = project.run("-d", *args)
    assert started.returncode == 0, started.stderr


def reload(project: Project, *args: str) -> None:
    """Run ``reload`` and wait until supervisord has restarted ``web`` under the new config."""
    before = project.wait_running("web")["web"]
    reloaded = project.run(*args, "reload")
    assert reloaded.returncode == 0, reloaded.stderr
    wait_for(lambda: project.wait_running("web")["web"] != before, "web to restart")


def rendered(project: Project) -> configparser.RawConfigParser:
    """Return the config the running supervisord reads, from the runtime directory."""
    parser = configparser.RawConfigParser(interpolation=None)
    parser.read_string((project.runtime_dir() / "supervisord.conf").read_text())
    return parser


def test_reload_keeps_the_pidfile_of_the_start(project: Project, tmp_path: Path) -> None:
    project.write("supervisord.conf", WEB_AND_WORKER)
    pidfile = tmp_path / "run" / "app.pid"
    pidfile.parent.mkdir()
    start(project, "--pidfile", str(pidfile))
    supervisord = int(pidfile.read_text())
    project.seen.add(ProcessId.of(supervisord))  # not at the default pidfile: teardown must know it
    reload(project)
    assert rendered(project)["supervisord"]["pidfile"] == str(pidfile)
    # supervisord removes its pidfile while it restarts, then writes it anew.
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), "the pidfile")
    assert int(pidfile.read_text()) == supervisord
    assert not (project.runtime_dir() / "supervisord.pid").exists()
    shutdown = project.run("shutdown")
    assert shutdown.returncode == 0, shutdown.stderr
    assert not alive([supervisord])


def test_reload_keeps_an_excluded_program_out(project: Project) -> None:
    project.write("supervisord.conf", WEB_AND_WORKER)
    start(project, "-x", "worker")
    reload(project)
    status = project.run("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "web" in status.stdout and "worker" not in status.stdout


def test_reload_keeps_noreload(project: Project) -> None:
    project.add_settings("DEBUG = True\n")
    project.write("supervisord.conf", WEB_AND_WORKER)
    start(project, "--noreload")
    reload(project)
    status = project.run("status").stdout
    assert "worker" in status and "autoreload" not in status
    assert "program:autoreload" not in rendered(project).sections()


def test_reload_keeps_nolaunch_and_autoreload(project: Project) -> None:
    project.add_settings("DEBUG = True\n")
    project.write("supervisord.conf", WEB_AND_WORKER)
    start(project, "-n", "worker", "-r", "web")
    # -r is in the graph supervisord reads (the autoreload program's command names no option).
    graph = project.runtime_dir() / "graph.json"
    assert [name for name, p in read_graph(graph).programs.items() if p.reload] == ["web"]
    reload(project)
    config = rendered(project)
    autoreload = [name for name, p in read_graph(graph).programs.items() if p.reload] == ["web"]
    assert (config["program:worker"].get("autostart"), autoreload) == ("false", True)
    project.wait_running("autoreload")  # started with web, after the restart
    assert project.processes()["worker"]["statename"] == "STOPPED"


def test_an_option_given_to_reload_takes_the_kept_ones_place(project: Project) -> None:
    project.write("supervisord.conf", WEB_AND_WORKER + EXTRA)
    start(project, "-x", "worker")
    reload(project, "-x", "extra")
    assert set(project.processes()) == {"web", "worker"}
    reload(project)  # and is kept in turn
    assert set(project.processes()) == {"web", "worker"}


def test_update_keeps_the_options_of_the_start(project: Project) -> None:
    project.write("supervisord.conf", WEB_AND_WORKER)
    start(project, "-x", "worker")
    web = project.wait_running("web")["web"]
    project.write("supervisord.conf", WEB_AND_WORKER + EXTRA)
    updated = project.run("update")
    assert updated.returncode == 0, updated.stderr
    assert "extra: added process group" in updated.stdout
    assert project.wait_running("web", "extra")["web"] == web  # unchanged: still running
    assert "worker" not in project.processes()


def test_the_shells_update_keeps_the_options_of_the_start(project: Project) -> None:
    project.write("supervisord.conf", WEB_AND_WORKER)
    start(project, "-x", "worker")
    project.wait_running("web")
    project.write("supervisord.conf", WEB_AND_WORKER + EXTRA)
    shell = subprocess.run(
        project.command("shell"),
        input="update\n",
        capture_output=True,
        text=True,
        cwd=project.path,
        env=project.env,
        timeout=WAIT,
    )
    assert "extra: added process group" in shell.stdout, shell.stdout + shell.stderr
    project.wait_running("web", "extra")
    assert "worker" not in project.processes()
