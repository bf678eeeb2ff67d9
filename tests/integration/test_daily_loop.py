"""The dependency graph in the daily loop, on a real supervisord: code changes, update, templates.

Each program of these projects writes what happens to it ('web start',
'web stop', ...) to one events file, in the order it happens.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from djsupervisor.control.stale import SERVER_URL_VARIABLE
from djsupervisor.proctable import with_environment

from ..support import WAIT, free_port, http_get, wait_for
from .conftest import Project
from .test_foreground import Lines

pytestmark = pytest.mark.integration

# A program that says when it starts and stops: 'once SECONDS' exits after
# that long, 'serve PORT' answers HTTP, 'idle' waits.
PROGRAM = """
import http.server, signal, sys, time

name, kind = sys.argv[1], sys.argv[2]

def say(what):
    with open("events.log", "a") as events:
        events.write(f"{name} {what}\\n")

def stop(*_):
    say("stop")
    sys.exit(0)

signal.signal(signal.SIGTERM, stop)
say("start")
if kind == "once":
    time.sleep(float(sys.argv[3]))
    say("exit")
elif kind == "serve":
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[3])), Hello).serve_forever()
else:
    while True:
        time.sleep(1)
"""

CHAIN = """
[program:migrate]
command={{{{ PYTHON }}}} program.py migrate once 0.3
oneshot=true
autoreload=true
autoreload_patterns=*/migrations/*.py

[program:web]
command={{{{ PYTHON }}}} program.py web serve {port}
depends_on=migrate:done
ready=http://127.0.0.1:{port}/

[program:worker]
command={{{{ PYTHON }}}} program.py worker idle
depends_on=web:ready
"""


def events(project: Project) -> list[str]:
    path = project.path / "events.log"
    return path.read_text().splitlines() if path.exists() else []


def wait_for_events(project: Project, count: int) -> list[str]:
    """Wait until ``count`` events were written, and a moment for any that should not come."""
    try:
        wait_for(lambda: len(events(project)) >= count or None, f"{count} events")
    except TimeoutError:
        raise AssertionError(f"events so far: {events(project)}") from None
    time.sleep(0.5)
    return events(project)


def wait_watching(project: Project) -> None:
    """Wait until the autoreload program watches the files."""
    wait_for(lambda: "watching" in project.run("tail", "autoreload").stdout, "autoreload")


def debug_chain(project: Project) -> None:
    project.add_settings("DEBUG = True\n")
    project.write("program.py", PROGRAM)
    project.write("app/__init__.py", "")
    project.write("app/views.py", "VERSION = 1\n")
    project.write("supervisord.conf", CHAIN.format(port=free_port()))


def test_a_code_change_restarts_by_the_graph_and_a_migration_reruns_the_oneshot_first(
    project: Project,
) -> None:
    debug_chain(project)
    result = project.run("-d")
    assert result.returncode == 0, result.stderr
    assert wait_for_events(project, 4) == [
        "migrate start",
        "migrate exit",
        "web start",
        "worker start",
    ]
    wait_watching(project)

    # A view: the worker stops before the web it depends on, each starts
    # again after its dependencies, and the one-shot is not run again.
    project.write("app/views.py", "VERSION = 2\n")
    assert wait_for_events(project, 8)[4:] == [
        "worker stop",
        "web stop",
        "web start",
        "worker start",
    ]

    # A migration: the one-shot runs again after its dependents stopped and
    # before they start again.
    project.write("app/migrations/__init__.py", "")
    project.write("app/migrations/0002_more.py", "")
    assert wait_for_events(project, 14)[8:] == [
        "worker stop",
        "web stop",
        "migrate start",
        "migrate exit",
        "web start",
        "worker start",
    ]


def test_restart_stops_dependents_first_and_starts_them_after(project: Project) -> None:
    debug_chain(project)
    assert project.run("--noreload", "-d").returncode == 0
    wait_for_events(project, 4)
    result = project.run("restart", "web")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "worker: stopped",
        "web: stopped",
        "web: started",
        "worker: started",
    ]
    assert events(project)[4:] == ["worker stop", "web stop", "web start", "worker start"]


def test_daemonize_returns_when_a_oneshot_is_not_done_in_time(project: Project) -> None:
    project.write(
        "supervisord.conf",
        """
        [program:migrate]
        command=sleep 1000
        oneshot=true
        ready_timeout=2

        [program:web]
        command=sleep 1000
        depends_on=migrate:done
        """,
    )
    started = time.monotonic()
    result = project.run("-d", timeout=30)
    assert result.returncode == 1
    assert time.monotonic() - started < 15
    assert "migrate: not done within 2 s" in result.stderr
    assert "web: blocked: migrate not done within 2 s" in result.stderr
    assert "Traceback" not in result.stderr


def test_update_leaves_a_stopped_program_stopped_and_a_running_one_running(
    project: Project,
) -> None:
    conf = "[program:web]\ncommand=sleep 1000\n[program:worker]\ncommand=sleep 1001\n"
    project.write("supervisord.conf", conf)
    assert project.run("-d").returncode == 0
    web = project.wait_running("web", "worker")["web"]
    assert project.run("stop", "worker").returncode == 0
    project.write("supervisord.conf", conf + "[program:extra]\ncommand=sleep 1002\n")
    result = project.run("update")
    assert result.returncode == 0, result.stderr
    assert project.wait_running("extra", "web")["web"] == web
    time.sleep(1.5)  # time enough for a wrong start to show
    processes = project.processes()
    assert processes["worker"]["statename"] == "STOPPED"
    assert processes["web"]["pid"] == web


TEMPLATE_URLS = """
from django.shortcuts import render
from django.urls import path

urlpatterns = [path("", lambda request: render(request, "pages/hello.html"))]
"""


def test_a_template_edit_shows_on_the_next_request(project: Project) -> None:
    port = free_port()
    project.add_settings(
        """
        DEBUG = True
        INSTALLED_APPS = ["djsupervisor", "pages"]
        TEMPLATES = [
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ]
        """
    )
    project.write("pages/__init__.py", "")
    project.write("pages/templates/pages/hello.html", "first version")
    project.write("urls.py", TEMPLATE_URLS)
    project.write(
        "supervisord.conf",
        f"""
        [program:web]
        command={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{port}
        ready=http://127.0.0.1:{port}/
        """,
    )
    assert project.run("-d").returncode == 0
    assert http_get(port) == "first version"
    wait_watching(project)
    project.write("pages/templates/pages/hello.html", "second version")
    wait_for(lambda: http_get(port) == "second version" or None, "the edited template")


def test_status_says_running_once_ready_and_the_console_keeps_the_order(project: Project) -> None:
    project.write("program.py", PROGRAM)
    project.write("supervisord.conf", CHAIN.format(port=free_port()))
    command = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    output.wait_for(r"worker started")
    lines = output.lines
    exited = next(i for i, line in enumerate(lines) if "migrate exited" in line)
    started = next(i for i, line in enumerate(lines) if "web started" in line)
    assert exited < started, lines
    # Ready, so running: not STARTING until startsecs have passed.
    status = project.run("status").stdout
    web = next(line for line in status.splitlines() if line.startswith("web "))
    assert "RUNNING" in web and web.endswith("ready"), status
    command.terminate()
    assert command.wait(WAIT) == 0


def test_reload_and_stop_follow_the_graph(project: Project) -> None:
    debug_chain(project)
    # supervisord alone would stop the worker, of the lowest priority, last.
    with (project.path / "supervisord.conf").open("a") as conf:
        conf.write("priority=1\n")
    assert project.run("--noreload", "-d").returncode == 0
    wait_for_events(project, 4)
    result = project.run("reload")
    assert result.returncode == 0, result.stderr
    # Dependents stopped first; then the reloaded supervisord starts the chain again.
    assert wait_for_events(project, 10)[4:] == [
        "worker stop",
        "web stop",
        "migrate start",
        "migrate exit",
        "web start",
        "worker start",
    ]
    # stop goes through the graph too: web stops, its dependent runs on.
    result = project.run("stop", "web")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["web: stopped"]
    assert events(project)[-1] == "web stop"
    assert project.processes()["worker"]["statename"] in ("STARTING", "RUNNING")


def test_stop_cancels_the_restart_of_a_crashed_program(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[program:crasher]\ncommand=sh -c 'sleep 0.5; exit 1'\nstartsecs=0\n",
    )
    assert project.run("-d").returncode == 0

    def spawns() -> int:
        return project.logfile().read_text().count("spawned: 'crasher'")

    # Spawned at 0, 1.5 and 4 s; the third crash, at 4.5 s, restarts it at 8.5 s.
    wait_for(lambda: spawns() == 3 or None, "the third start")
    wait_for(lambda: project.processes()["crasher"]["statename"] == "EXITED" or None, "a crash")
    result = project.run("stop", "crasher")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["crasher: ERROR (not running)"]
    time.sleep(5)
    assert spawns() == 3
    assert project.processes()["crasher"]["statename"] == "EXITED"


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.3])
def test_ctrl_c_during_a_restart_stops_everything(project: Project, delay: float) -> None:
    project.write("program.py", PROGRAM)
    project.write("supervisord.conf", CHAIN.format(port=free_port()))
    command = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    output.wait_for(r"worker started")
    wait_for_events(project, 4)
    project.client().call("djsupervisor.restartProcesses", ["web"])
    time.sleep(delay)  # somewhere in the restart: stopping, or starting again
    command.send_signal(signal.SIGINT)
    assert command.wait(WAIT) == 0, output.last()
    # Nothing is left running: no process of this supervisord's programs.
    # (A process stopped as it starts may not live to say 'stop'.)
    socket = project.runtime_dir() / "supervisor.sock"
    assert not with_environment(SERVER_URL_VARIABLE, f"unix://{socket}"), events(project)
