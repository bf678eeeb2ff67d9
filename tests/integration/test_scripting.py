"""For scripts: ``status --json``, ``logs --json`` and ``wait``, on a real supervisord."""

from __future__ import annotations

import json
import time

import pytest

from ..support import free_port, wait_for
from .conftest import Project

pytestmark = pytest.mark.integration

# A server that listens after DELAY seconds: its ready=tcp check passes then.
SLOW_SERVER = (
    '{{{{ PYTHON }}}} -c "import socket, time; time.sleep({delay}); '
    "s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(1000)\""
)
TALKER = (
    "{{ PYTHON }} -c \"import sys, time; print('to stdout', flush=True); "
    "print('to stderr', file=sys.stderr, flush=True); time.sleep(1000)\""
)
FIELDS = {
    "name",
    "program",
    "process",
    "state",
    "pid",
    "uptime",
    "ready",
    "readiness",
    "restarts",
    "description",
    "schedule",
}


def test_status_json_parses_and_says_each_process(project: Project) -> None:
    port = free_port()
    project.write(
        "supervisord.conf",
        f"""
        [program:migrate]
        command=true
        oneshot=true

        [program:db]
        command={SLOW_SERVER.format(delay=0, port=port)}
        ready=tcp:{port}
        depends_on=migrate:done

        [program:pool]
        command=sleep 1000
        numprocs=2
        process_name=%(program_name)s_%(process_num)d
        """,
    )
    assert project.run("-d").returncode == 0
    assert project.run("wait").returncode == 0
    shown = project.run("status", "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    processes = {process["name"]: process for process in json.loads(shown.stdout)}
    assert set(processes) == {"migrate", "db", "pool:pool_0", "pool:pool_1"}
    assert all(set(process) == FIELDS for process in processes.values())
    db = processes["db"]
    assert (db["program"], db["state"], db["ready"], db["readiness"]) == (
        "db",
        "RUNNING",
        True,
        "ready",
    )
    assert db["pid"] == project.processes()["db"]["pid"]
    assert isinstance(db["uptime"], int) and db["uptime"] >= 0
    migrate = processes["migrate"]
    assert (migrate["state"], migrate["pid"], migrate["uptime"], migrate["readiness"]) == (
        "EXITED",
        None,
        None,
        "done",
    )
    assert processes["pool:pool_1"]["program"] == "pool"
    assert processes["pool:pool_1"]["ready"] is None  # no check

    project.run("stop", "db")
    one = project.run("status", "--json", "db", "nope")
    assert one.returncode == 3  # as status: a process is not running
    assert [process["name"] for process in json.loads(one.stdout)] == ["db"]
    assert one.stderr.strip() == "nope: ERROR (no such process)"


def test_logs_json_gives_one_object_per_line(project: Project) -> None:
    project.write("supervisord.conf", f"[program:talker]\ncommand={TALKER}\n")
    assert project.run("-d").returncode == 0

    def both_lines() -> list[dict[str, object]] | None:
        shown = project.run("logs", "--json", "talker")
        lines = [json.loads(line) for line in shown.stdout.splitlines()]
        return lines if len(lines) == 2 else None

    lines = wait_for(both_lines, "talker's two lines in the journal")
    assert {(line["stream"], line["line"]) for line in lines} == {
        ("stdout", "to stdout"),
        ("stderr", "to stderr"),
    }
    for line in lines:
        assert (line["program"], line["process"]) == ("talker", "talker")
        assert abs(float(line["time"]) - time.time()) < 60  # type: ignore[arg-type]
    assert project.run("logs", "--json", "-n", "1").stdout.count("\n") == 1


def test_wait_returns_once_a_slow_program_is_ready(project: Project) -> None:
    # Started in the foreground (as in a script: 'manage.py supervisor &'),
    # which does not wait for the programs as --daemonize does.
    port = free_port()
    slow = SLOW_SERVER.format(delay=2, port=port)
    project.write("supervisord.conf", f"[program:slow]\ncommand={slow}\nready=tcp:{port}\n")
    began = time.monotonic()
    project.start_foreground()
    waited = project.run("wait", "slow", "--timeout", "20")  # supervisord may not answer yet
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert time.monotonic() - began > 2  # it waited for the port
    assert project.processes()["slow"]["statename"] == "RUNNING"
    assert json.loads(project.run("status", "--json").stdout)[0]["ready"] is True


def test_wait_fails_within_its_timeout_for_a_program_never_ready(project: Project) -> None:
    port = free_port()  # nothing ever listens there
    project.write(
        "supervisord.conf",
        f"[program:never]\ncommand=sleep 1000\nready=tcp:{port}\nready_timeout=600\n",
    )
    project.start_foreground()
    project.wait_running("never")
    began = time.monotonic()
    waited = project.run("wait", "--timeout", "2")
    took = time.monotonic() - began
    assert waited.returncode == 1
    assert waited.stderr.strip() == "never: not up after 2 s (RUNNING not ready)"
    assert 2 <= took < 10


def test_wait_says_what_is_wrong_with_its_words_or_names(project: Project) -> None:
    project.write("supervisord.conf", "[program:web]\ncommand=sleep 1000\n")
    assert project.run("-d").returncode == 0
    assert project.run("wait", "web").returncode == 0
    for words, error in [
        (["nope"], "wait: no such process: nope"),
        (
            ["--timeout", "soon"],
            "wait: --timeout takes a number of seconds, e.g. 'wait --timeout 30 web'",
        ),
    ]:
        refused = project.run("wait", *words)
        assert refused.returncode == 1
        assert refused.stderr.strip() == f"CommandError: {error}"
    project.run("stop", "web")
    stopped = project.run("wait", "web", "--timeout", "30")
    assert stopped.returncode == 1
    assert stopped.stderr.strip() == "web: stopped, and nothing starts it"
