"""Compose: where a program listens, moved off loopback, published; SQLite shared or said."""

from __future__ import annotations

import pytest

from djsupervisor.config.program_options import parse_check
from djsupervisor.export.common import Target
from djsupervisor.export.compose import compose
from djsupervisor.export.containers import listener
from djsupervisor.export.model import Service

TARGET = Target("mysite", "mysite:1", "/app", "python", "/out")


def service(*argv: str, ready: str = "", numprocs: int = 1) -> Service:
    return Service(
        name="web",
        command=" ".join(argv),
        argv=list(argv),
        directory="/app",
        environment={},
        secrets={},
        numprocs=numprocs,
        ready=parse_check(ready, "web") if ready else None,
    )


@pytest.mark.parametrize(
    ("argv", "host", "port", "moved"),
    [
        ("python manage.py runserver --noreload 127.0.0.1:8001", "127.0.0.1", 8001, "0.0.0.0:8001"),
        ("python manage.py runserver", "127.0.0.1", 8000, "runserver 0.0.0.0:8000"),
        ("python manage.py runserver -v 2 8002", "127.0.0.1", 8002, "-v 2 0.0.0.0:8002"),
        ("python manage.py runserver [::1]:8003", "::1", 8003, "0.0.0.0:8003"),
        ("python manage.py runserver 0:8004", "0.0.0.0", 8004, "0:8004"),
        ("python -m gunicorn w --bind 127.0.0.1:8005", "127.0.0.1", 8005, "--bind 0.0.0.0:8005"),
        ("gunicorn w --bind=localhost:8006", "localhost", 8006, "--bind=0.0.0.0:8006"),
        ("/venv/bin/gunicorn w -b127.0.0.1:8007", "127.0.0.1", 8007, "-b0.0.0.0:8007"),
        ("gunicorn w", "127.0.0.1", 8000, "w --bind 0.0.0.0:8000"),
        ("gunicorn w -b 0.0.0.0:8008", "0.0.0.0", 8008, "-b 0.0.0.0:8008"),
        ("uvicorn a:app --port 8009", "127.0.0.1", 8009, "--port 8009 --host 0.0.0.0"),
        ("uvicorn a:app --host=127.0.0.1", "127.0.0.1", 8000, "--host=0.0.0.0"),
        ("daphne -b 127.0.0.1 -p 8010 a:app", "127.0.0.1", 8010, "-b 0.0.0.0 -p 8010 a:app"),
    ],
)
def test_a_known_servers_address_is_read_and_moved_off_loopback(
    argv: str, host: str, port: int, moved: str
) -> None:
    found = listener(service(*argv.split()))
    assert found is not None
    assert (found.host, found.port) == (host, port)
    assert " ".join(found.argv).endswith(moved)


@pytest.mark.parametrize(
    "argv",
    [
        "gunicorn w --bind unix:/run/app.sock",
        "gunicorn w -c gunicorn.conf.py",  # its bind, if any, is in the file
        "gunicorn w --config=gunicorn.conf.py",
        "uvicorn a:app --uds /run/app.sock",
        "daphne -u /run/app.sock a:app",
        "python manage.py db_worker",
        "sh -c 'runserver is a word here'",
    ],
)
def test_what_listens_on_no_port_of_its_own_publishes_none(argv: str) -> None:
    assert listener(service(*argv.split())) is None


def test_another_programs_port_is_its_ready_checks_said_when_on_loopback() -> None:
    export = compose([service("./serve", ready="tcp:127.0.0.1:9000")], TARGET)
    (_, context, _) = export.files["compose.yaml"]
    (entry,) = context["services"]
    assert (entry["argv"], entry["ports"]) == (["./serve"], ["127.0.0.1:9000:9000"])
    assert export.warnings == [
        "program 'web': ready checks 127.0.0.1:9000; if it listens there, nothing outside its "
        "container reaches it: make it listen on 0.0.0.0 (published on the host's "
        "127.0.0.1:9000)"
    ]


def test_runserver_is_said_to_be_the_development_server() -> None:
    export = compose([service("python", "manage.py", "runserver")], TARGET)
    assert export.warnings[0].startswith(
        "program 'web': runserver is Django's development server: export with DEBUG off"
    )


def test_a_published_port_takes_one_replica() -> None:
    export = compose([service("gunicorn", "w", "-b", "0.0.0.0:8000", numprocs=2)], TARGET)
    assert export.warnings == [
        "program 'web': numprocs cannot be expressed in Compose with a published port; "
        "one replica can publish it"
    ]


@pytest.mark.parametrize(
    ("database", "volumes", "warned"),
    [
        ("/app/data/db.sqlite3", {"sqlite": "/app/data"}, False),
        ("/var/lib/mysite/db.sqlite3", {"sqlite": "/var/lib/mysite"}, False),
        ("/app/db.sqlite3", {}, True),
    ],
)
def test_a_sqlite_database_is_shared_as_a_volume_or_said(
    database: str, volumes: dict[str, str], warned: bool
) -> None:
    target = Target("mysite", "mysite:1", "/app", "python", "/out", databases=(database,))
    export = compose([service("python", "manage.py", "migrate")], target)
    assert export.files["compose.yaml"][1]["volumes"] == volumes
    assert bool(export.warnings) is warned
    if warned:
        assert export.warnings[0].startswith(
            "the SQLite database /app/db.sqlite3 is in the project directory: each container "
            "has its own copy"
        )


def test_without_an_image_compose_builds_one_from_the_project() -> None:
    target = Target("mysite", "mysite:latest", "/app", "python", "/srv/p/deploy/compose")
    target = Target(**{**target.__dict__, "build": "/srv/p", "base_image": "python:3.13-slim"})
    export = compose([service("python", "manage.py", "migrate")], target)
    assert export.files["compose.yaml"][1]["build"] == {
        "context": "../..",
        "dockerfile": "deploy/compose/Dockerfile",
    }
    assert export.files["Dockerfile"] == ("compose/Dockerfile", {"target": target}, 0o644)


def test_an_exec_check_is_run_without_a_shell_as_everywhere_else() -> None:
    export = compose([service("./serve", ready="exec:./ready --for 'a $HOME'")], TARGET)
    (_, context, _) = export.files["compose.yaml"]
    (entry,) = context["services"]
    assert entry["healthcheck"] == ["CMD", "./ready", "--for", "a $HOME"]
