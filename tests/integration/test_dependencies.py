"""Readiness, dependencies, one-shot programs and crash-loop backoff, on real processes."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from ..support import WAIT, free_port, http_get, wait_for
from .conftest import Project
from .test_foreground import Lines

pytestmark = pytest.mark.integration

# A database stand-in: listens on its port after a second, as a real one does
# once it has recovered its files.
DB = """
import socket, sys, time
time.sleep(float(sys.argv[2]))
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
print("accepting connections", flush=True)
while True:
    server.accept()[0].close()
"""

CHAIN = """
[program:db]
command={{{{ PYTHON }}}} db.py {db} 1
ready=tcp:{db}

[program:migrate]
command={migrate}
oneshot=true
depends_on=db:ready

[program:web]
command={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{web}
ready=http://127.0.0.1:{web}/
depends_on=migrate:done

[program:worker]
command=sleep 1000
depends_on=web:ready

[program:bystander]
command=sleep 1000
"""


def chain(project: Project, migrate: str = "sleep 0.3", **extra: str) -> dict[str, int]:
    """Write the db -> migrate -> web -> worker project; return its ports."""
    ports = {"db": free_port(), "web": free_port()}
    project.write("db.py", DB)
    conf = CHAIN.format(migrate=migrate, **ports) + "".join(extra.values())
    project.write("supervisord.conf", conf)
    return ports


def spawn_times(project: Project) -> dict[str, float]:
    """Return when supervisord spawned each program, from its log (seconds since the epoch)."""
    times: dict[str, float] = {}
    for line in project.logfile().read_text().splitlines():
        found = re.match(r"(\S+ \S+),(\d+) INFO spawned: '(\w+)'", line)
        if found:
            stamp = time.mktime(time.strptime(found[1], "%Y-%m-%d %H:%M:%S"))
            times.setdefault(found[3], stamp + int(found[2]) / 1000)
    return times


def status_of(project: Project) -> dict[str, str]:
    """Return each process's whole status line, by name."""
    lines = project.run("status").stdout.splitlines()
    return {line.split()[0]: line for line in lines if line.strip()}


@pytest.mark.smoke
def test_daemonize_starts_the_chain_in_order_and_waits_for_it(project: Project) -> None:
    ports = chain(project)
    started = time.monotonic()
    result = project.run("-d")
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    # It returned once everything ran: the worker, last in the chain, too.
    status = status_of(project)
    assert "RUNNING" in status["worker"] and "RUNNING" in status["bystander"]
    assert status["db"].endswith("ready") and status["web"].endswith("ready")
    assert "EXITED" in status["migrate"] and status["migrate"].endswith("done")
    assert project.run("status").returncode == 0  # a one-shot that is done is as it should be
    assert took >= 1.3  # db's second, and migrate's 0.3 s, before web could start
    times = spawn_times(project)
    assert times["db"] < times["migrate"] < times["web"] < times["worker"]
    assert times["migrate"] - times["db"] >= 1.0
    assert times["web"] - times["migrate"] >= 0.3
    assert http_get(ports["web"]) == "hello from djsupervisor"


def test_the_foreground_says_who_waits_and_when_the_site_is_ready(project: Project) -> None:
    ports = chain(project)
    command = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    output.wait_for(r"^djsupervisor +\| worker is waiting for web \(ready\)$")
    (ready,) = output.wait_for(r"^djsupervisor +\| web is ready at ")
    assert ready.endswith(f"web is ready at http://127.0.0.1:{ports['web']}/")
    project.wait_running("worker")
    times = spawn_times(project)
    assert times["db"] < times["migrate"] < times["web"] < times["worker"]
    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0


@pytest.mark.parametrize("mode", ["foreground", "daemonize"])
def test_a_failed_one_shot_blocks_its_dependents_only(project: Project, mode: str) -> None:
    chain(project, migrate="sh -c 'exit 3'")
    if mode == "daemonize":
        result = project.run("-d")
        assert result.returncode == 1
        assert "migrate: exited with status 3" in result.stderr
        assert "web: blocked: migrate exited with status 3" in result.stderr
        assert "worker: blocked: migrate exited with status 3" in result.stderr
    else:
        command = project.start_foreground(stdout=subprocess.PIPE, text=False)
        assert command.stdout is not None
        output = Lines(command.stdout)
        output.wait_for(r"^djsupervisor +\| migrate exited with status 3$")
        output.wait_for(r"^djsupervisor +\| worker is blocked: migrate exited with status 3$")
    project.wait_running("db", "bystander")
    status = status_of(project)
    assert status["web"].endswith("blocked: migrate exited with status 3")
    assert "STOPPED" in status["worker"]
    assert project.run("status").returncode == 3


def test_a_web_server_that_cannot_bind_its_port_fails_the_start(project: Project) -> None:
    # Another server answers on the port: its answers must not count.
    port = free_port()
    squatter = HTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    try:
        project.write(
            "supervisord.conf",
            "[program:web]\n"
            f"command={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{port}\n"
            f"ready=http://127.0.0.1:{port}/\n"
            "ready_timeout=4\n",
        )
        started = time.monotonic()
        result = project.run("-d")
        took = time.monotonic() - started
    finally:
        squatter.shutdown()
    assert result.returncode == 1
    assert "web: " in result.stderr and "Traceback" not in result.stderr
    assert took < 4 + 10


def test_not_ready_within_the_timeout_blocks_dependents(project: Project) -> None:
    port = free_port()  # nothing will listen there
    project.write(
        "supervisord.conf",
        # app comes first, in the file and by name: blocked all the same.
        "[program:app]\ncommand=sleep 1000\ndepends_on=web\n"
        f"[program:db]\ncommand=sleep 1000\nready=tcp:{port}\nready_timeout=1\n"
        "[program:web]\ncommand=sleep 1000\ndepends_on=db:ready\n",
    )
    result = project.run("-d")
    assert result.returncode == 1
    assert "db: not ready within 1 s" in result.stderr
    assert "app: blocked: db not ready within 1 s" in result.stderr
    status = status_of(project)
    assert "not ready within 1 s" in status["db"]
    assert "blocked: db not ready within 1 s" in status["web"]
    assert "blocked: db not ready within 1 s" in status["app"]


def test_exec_and_log_checks(project: Project, tmp_path: Path) -> None:
    flag = tmp_path / "up"
    project.write(
        "supervisord.conf",
        "[program:flagger]\n"
        f"command=sh -c 'sleep 0.5; touch {flag}; exec sleep 1000'\n"
        # Run in the program's directory, with its environment.
        f'directory={tmp_path}\nenvironment=FLAG="{flag.name}"\n'
        "ready=exec:sh -c 'test -e \"$FLAG\"'\n"
        "[program:talker]\n"
        "command=sh -c 'sleep 0.5; echo Listening on 1234; exec sleep 1000'\n"
        "ready=log:Listening on \\d+\n"
        "[program:logger]\n"  # as Django and gunicorn log: to stderr
        "command=sh -c 'sleep 0.5; echo Booting worker >&2; exec sleep 1000'\n"
        "ready=log:Booting worker\n"
        "[program:after]\ncommand=sleep 1000\n"
        "depends_on=flagger:ready, talker:ready, logger:ready\n",
    )
    result = project.run("-d")
    assert result.returncode == 0, result.stderr
    status = status_of(project)
    assert all(status[name].endswith("ready") for name in ("flagger", "talker", "logger"))
    assert "RUNNING" in status["after"]


def test_a_dependency_on_a_numprocs_program_waits_for_all_its_processes(
    project: Project,
) -> None:
    project.write(
        "supervisord.conf",
        "[program:worker]\n"
        "command=sh -c 'sleep %(process_num)s.5; echo up; exec sleep 1000'\n"
        "numprocs=2\nprocess_name=%(program_name)s_%(process_num)s\nready=log:up\n"
        "[program:beat]\ncommand=sleep 1000\ndepends_on=worker:ready\n",
    )
    result = project.run("-d")
    assert result.returncode == 0, result.stderr
    spawned = spawn_times(project)
    # worker_1 says it is up 1.5 s after it was spawned, worker_0 after 0.5 s.
    assert spawned["beat"] > spawned["worker_1"] + 1.4  # not 0.5 s after worker_0


def test_start_brings_up_dependencies_first_and_stop_goes_in_reverse(project: Project) -> None:
    chain(project)
    assert project.run("-d").returncode == 0
    stopped = project.run("stop", "worker", "web", "db")
    assert stopped.returncode == 0, stopped.stderr
    start = project.run("start", "worker")
    assert start.returncode == 0, start.stderr
    assert start.stdout.strip() == "worker: started"
    status = status_of(project)
    assert "RUNNING" in status["db"] and status["web"].endswith("ready")
    assert status["migrate"].endswith("done")  # a one-shot that is done is not run again
    before = len(project.logfile().read_text().splitlines())
    assert project.run("shutdown").returncode == 0
    stops = stops_since(project, before)
    assert stops.index("worker") < stops.index("web") < stops.index("db")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_foreground_stops_dependents_first(
    project: Project, stop_signal: signal.Signals
) -> None:
    chain(project)
    command = project.start_foreground()
    project.wait_running("db", "web", "worker")
    before = len(project.logfile().read_text().splitlines())
    command.send_signal(stop_signal)  # Ctrl-C, or a service manager's stop
    assert command.wait(WAIT) == 0
    stops = stops_since(project, before)
    assert stops.index("worker") < stops.index("web") < stops.index("db")


def stops_since(project: Project, line: int) -> list[str]:
    """Return the programs supervisord logged as stopped after its log's ``line``, in order."""
    return [
        found[1]
        for text in project.logfile().read_text().splitlines()[line:]
        if (found := re.search(r"stopped: (\w+)", text))
    ]


def test_a_crash_loop_backs_off(project: Project) -> None:
    project.write(
        "supervisord.conf",
        "[program:crasher]\ncommand=sh -c 'sleep 1.2; exit 1'\n"
        "[program:plain]\ncommand=sh -c 'sleep 1.2; exit 1'\nrestart_backoff=false\n",
    )
    command = project.start_foreground()
    time.sleep(9)
    # Asked straight away (manage.py's own start-up takes long on a loaded
    # machine): the next restart is due at 10.6 s.
    readiness = {row[1]: row[4] for row in project.client().call("djsupervisor.getProcessStates")}
    times = project.logfile().read_text()
    crasher, plain = times.count("spawned: 'crasher'"), times.count("spawned: 'plain'")
    # Restarted after 1 s, then 2 s, then 4 s: spawned at 0, 2.2 and 5.4 s.
    assert crasher == 3, times
    assert plain >= 5
    assert readiness["crasher"].startswith("crashed; restarting in"), readiness
    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0


def test_in_debug_mode_a_crash_loop_waits_for_a_code_change(project: Project) -> None:
    project.add_settings("DEBUG = True\n")
    project.write("supervisord.conf", "[program:crasher]\ncommand=sh -c 'exit 1'\nstartsecs=0\n")
    command = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    # Five crashes: restarted after 1, 2, 4 and 8 s.
    output.wait_for(
        r"crasher exited with status 1 and crashed 5 times in a row; waiting for a code change"
    )
    spawned = project.logfile().read_text().count("spawned: 'crasher'")
    time.sleep(2)
    assert project.logfile().read_text().count("spawned: 'crasher'") == spawned == 5
    assert sum("waiting for a code change" in line for line in output.lines) == 1  # said once
    assert "waiting for a code change" in status_of(project)["crasher"]
    project.write("urls.py", project.path.joinpath("urls.py").read_text() + "\n# edited\n")
    wait_for(
        lambda: project.logfile().read_text().count("spawned: 'crasher'") > spawned,
        "the code change to start it again",
    )
    command.send_signal(signal.SIGTERM)
    assert command.wait(WAIT) == 0


def test_the_order_holds_after_reload_and_update(project: Project) -> None:
    chain(project)
    assert project.run("-d").returncode == 0
    reloaded = project.run("reload")
    assert reloaded.returncode == 0, reloaded.stderr
    project.wait_running("worker")
    log = project.logfile().read_text()
    restart = log.rindex("RPC interface 'djsupervisor' initialized")
    again = {found[1]: found.start() for found in re.finditer(r"spawned: '(\w+)'", log[restart:])}
    assert again["db"] < again["migrate"] < again["web"] < again["worker"]
    with (project.path / "supervisord.conf").open("a") as conf:
        conf.write("[program:reporter]\ncommand=sleep 1000\ndepends_on=worker:started\n")
    updated = project.run("update")
    assert updated.returncode == 0, updated.stderr
    project.wait_running("reporter")
