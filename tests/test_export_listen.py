"""What listen= (a socket supervisord holds across restarts) becomes in each export format."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from djsupervisor.export.arguments import parse
from djsupervisor.export.common import Export, Target
from djsupervisor.export.compose import compose
from djsupervisor.export.containers import listener
from djsupervisor.export.kubernetes import DRAIN_SECONDS, kubernetes
from djsupervisor.export.model import Service
from djsupervisor.export.procfile import procfile
from djsupervisor.export.systemd import systemd
from djsupervisor.export.writer import export, render
from djsupervisor.options import Options
from tests.exporting import project_to_export

from .needs import require

yaml = pytest.importorskip("yaml")

TARGET = Target("mysite", "mysite:1", "/app", "python", "/out")


def service(*argv: str, listen: str | None = "127.0.0.1:8001", **options: Any) -> Service:
    return Service(options.pop("name", "web"), " ".join(argv), list(argv), "/app", {}, {},
                   listen=listen, **options)  # fmt: skip


def rendered(done: Export) -> dict[str, str]:
    """Return the text of each file of an export, by name."""
    return {name: render(template, context) for name, (template, context, _) in done.files.items()}


@pytest.mark.parametrize(
    ("listen", "stream"),
    [
        ("127.0.0.1:8001", "127.0.0.1:8001"),
        ("[::1]:8001", "[::1]:8001"),
        ("unix:/run/mysite/web.sock", "/run/mysite/web.sock"),
    ],
)
def test_systemd_holds_the_socket_in_a_socket_unit_beside_the_service(
    listen: str, stream: str
) -> None:
    files = rendered(systemd([service("gunicorn", "w", listen=listen)], TARGET))
    socket = files["mysite-web.socket"]
    assert "\n[Socket]\n" in socket
    assert f"\nListenStream={stream}\n" in socket
    assert "\nPartOf=mysite.target\n" in socket
    unit = files["mysite-web.service"]
    # Started with its socket, which it gets as fd 3 with LISTEN_FDS and its own LISTEN_PID.
    assert "\nRequires=mysite-web.socket\nAfter=mysite-web.socket\n" in unit
    assert 'ExecStart="gunicorn" "w"\n' in unit  # no --bind: gunicorn takes fd 3


def test_systemd_gives_one_socket_to_every_instance_of_a_numprocs_program() -> None:
    web = service("gunicorn", "w", numprocs=2, template_command="gunicorn w")
    files = rendered(systemd([web], TARGET))
    socket = files["mysite-web.socket"]
    # The instances' template unit is no service of the socket's name: it names one.
    assert "\nService=mysite-web@0.service\n" in socket
    unit = files["mysite-web@.service"]
    assert "\nSockets=mysite-web.socket\n" in unit
    assert "\nRequires=mysite-web.socket\nAfter=mysite-web.socket\n" in unit


def test_systemd_writes_no_socket_for_a_program_without_listen() -> None:
    files = rendered(systemd([service("gunicorn", "w", listen=None)], TARGET))
    assert sorted(files) == ["mysite-web.service", "mysite.target"]
    assert ".socket" not in files["mysite-web.service"]


@pytest.mark.parametrize("numprocs", [1, 2])
def test_systemd_accepts_the_socket_and_its_service(tmp_path: Path, numprocs: int) -> None:
    require(shutil.which("systemd-analyze"), "systemd-analyze")
    command = f"{sys.executable} -m http.server"
    web = Service(
        "web",
        command,
        command.split(),
        str(tmp_path),
        {},
        {},
        numprocs=numprocs,
        template_command=command,
        listen="127.0.0.1:8001",
        depends_on=[("db", "started")],
    )
    db = Service("db", command, command.split(), str(tmp_path), {}, {}, listen="unix:/run/x.sock")
    out = tmp_path / "out"
    out.mkdir()
    for name, text in rendered(systemd([web, db], TARGET)).items():
        (out / name).write_text(text)
    units = sorted(str(path) for path in out.iterdir())
    assert [Path(unit).name for unit in units if unit.endswith(".socket")] == [
        "mysite-db.socket",
        "mysite-web.socket",
    ]
    instances = [f"{out}/mysite-web@{n}.service" for n in range(numprocs)] if numprocs > 1 else []
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=false", *units, *instances],
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = verified.stdout + verified.stderr
    assert verified.returncode == 0, said
    assert not any(word in said.lower() for word in ("ignoring", "unknown", "invalid", "error"))


def manifests(services: list[Service]) -> tuple[dict[tuple[str, str], Any], list[str]]:
    done = kubernetes(services, TARGET)
    documents = [d for d in yaml.safe_load_all(rendered(done)["kubernetes.yaml"]) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in documents}, done.warnings


def test_kubernetes_rolls_a_listening_program_over_without_dropping_a_replica() -> None:
    web = service("gunicorn", "w", "-b", "127.0.0.1:8001", stopwaitsecs=30, numprocs=2)
    worker = service("python", "manage.py", "work", listen=None, name="worker")
    objects, _ = manifests([web, worker])
    spec = objects["Deployment", "mysite-web"]["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    # The pod leaves the Service's endpoints first, then gets SIGTERM, then its stop wait.
    assert container["lifecycle"] == {
        "preStop": {"exec": {"command": ["sleep", str(DRAIN_SECONDS)]}}
    }
    assert pod["terminationGracePeriodSeconds"] > DRAIN_SECONDS + 30
    # The port is still the Service's.
    assert container["ports"] == [{"containerPort": 8001, "protocol": "TCP"}]
    assert objects["Service", "mysite-web"]["spec"]["ports"][0]["port"] == 8001
    # A program without listen= is rolled over as before.
    other = objects["Deployment", "mysite-worker"]["spec"]
    assert "strategy" not in other
    assert "lifecycle" not in other["template"]["spec"]["containers"][0]
    assert other["template"]["spec"]["terminationGracePeriodSeconds"] == 10


def test_kubernetes_manifests_with_listen_are_valid(tmp_path: Path) -> None:
    validate = pytest.importorskip("kubernetes_validate")
    web = service("gunicorn", "w")
    job = service("python", "manage.py", "migrate", listen=None, oneshot=True, name="migrate")
    objects, _ = manifests([web, job])
    assert "strategy" not in objects["Job", "mysite-migrate"]["spec"]
    path = tmp_path / "kubernetes.yaml"
    path.write_text(rendered(kubernetes([web, job], TARGET))["kubernetes.yaml"])
    done = subprocess.run(
        [sys.executable, "-m", validate.__name__, "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("argv", "listen", "command", "port"),
    [
        # gunicorn without --bind takes the held socket: in a container it binds it.
        ("gunicorn w", "127.0.0.1:8001", "gunicorn w --bind 0.0.0.0:8001", 8001),
        ("gunicorn w -b 127.0.0.1:9000", "0.0.0.0:8002", "gunicorn w -b 0.0.0.0:8002", 8002),
        ("uvicorn a:app --fd 3", "8003", "uvicorn a:app --host 0.0.0.0 --port 8003", 8003),
        ("daphne --fd=3 a:app", "[::]:8004", "daphne a:app --bind :: --port 8004", 8004),
        # No socket to publish: as without listen=.
        ("gunicorn w", "unix:/run/w.sock", "gunicorn w --bind 0.0.0.0:8000", 8000),
    ],
)
def test_containers_bind_where_listen_says(argv: str, listen: str, command: str, port: int) -> None:
    from djsupervisor.config.program_options import parse_listen

    found = listener(service(*argv.split(), listen=parse_listen(listen, "web")))
    assert found is not None
    assert (" ".join(found.argv), found.port) == (command, port)


@pytest.mark.parametrize(
    ("fmt", "name"), [(compose, "Compose"), (procfile, "a Procfile")], ids=["compose", "procfile"]
)
def test_platforms_that_restart_without_a_held_socket_say_so(fmt: Any, name: str) -> None:
    done = fmt([service("gunicorn", "w"), service("sleep", "1", listen=None, name="x")], TARGET)
    said = [w for w in done.warnings if "listen=" in w and "cannot be expressed" in w]
    assert said == [
        f"program 'web': listen=127.0.0.1:8001 cannot be expressed in {name}; nothing holds "
        "its socket while it restarts: connections are refused until it listens again"
    ]


def test_compose_still_publishes_a_listening_programs_port() -> None:
    done = compose([service("gunicorn", "w")], TARGET)
    text = rendered(done)["compose.yaml"]
    web = yaml.safe_load(text)["services"]["web"]
    assert web["ports"] == ["127.0.0.1:8001:8001"]
    assert web["command"] == ["gunicorn", "w", "--bind", "0.0.0.0:8001"]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["gunicorn", "w"], "exec gunicorn w --bind 127.0.0.1:$PORT"),
        (["uvicorn", "a:app", "--fd", "3"], "exec uvicorn a:app --host 127.0.0.1 --port $PORT"),
    ],
)
def test_a_procfile_has_a_known_server_bind_listens_address_itself_on_port(
    argv: list[str], line: str
) -> None:
    # Under honcho nothing holds the socket: the server binds it, on honcho's $PORT.
    done = procfile([service(*argv)], TARGET)
    assert rendered(done)["Procfile"].splitlines()[-1].endswith(line)
    assert not any("has no socket" in warning for warning in done.warnings)


@pytest.mark.parametrize(
    ("argv", "listen"),
    [
        (["myserver", "--fd", "3"], "127.0.0.1:8001"),
        (["uvicorn", "a:app", "--fd", "3"], "unix:/run/mysite/api.sock"),
    ],
    ids=["unknown server", "unix socket"],
)
def test_procfile_says_a_descriptor_has_no_socket_there(argv: list[str], listen: str) -> None:
    done = procfile([service(*argv, listen=listen)], TARGET)
    assert any("--fd 3 has no socket" in warning for warning in done.warnings)


CONF = """
[program:web]
command=gunicorn w
listen=8001

[program:api]
command=uvicorn a:app --fd {{ LISTEN_FD }}
listen=unix:{{ PROJECT_DIR }}/api.sock
"""


@pytest.fixture
def project(tmp_path: Path, short_dir: Path) -> Iterator[Path]:
    with project_to_export(tmp_path / "shop", CONF, short_dir) as path:
        yield path


def test_the_export_reads_listen_from_the_config(project: Path) -> None:
    out = project.parent / "out"
    parsed = parse(["systemd", "--output", str(out), "--workdir", "/srv/shop"], "shop")
    written, warnings = export(Options(project_dir=str(project)), parsed)
    assert {path.name for path in written} >= {"shop-web.socket", "shop-api.socket"}
    assert "\nListenStream=127.0.0.1:8001\n" in (out / "shop-web.socket").read_text()
    assert "\nListenStream=/srv/shop/api.sock\n" in (out / "shop-api.socket").read_text()
    assert '"--fd" "3"' in (out / "shop-api.service").read_text()
    assert not any("listen" in warning for warning in warnings)
