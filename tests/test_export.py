"""Export: one test per row of the mapping table (docs/exporting.rst), every format in each."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from djsupervisor.config.program_options import parse_check
from djsupervisor.errors import ConfigError
from djsupervisor.export.arguments import parse
from djsupervisor.export.common import Target
from djsupervisor.export.containers import CONTAINER_FORMATS, listener, probe
from djsupervisor.export.formats import FORMATS
from djsupervisor.export.kubernetes import WAIT_TIMEOUT, kubernetes
from djsupervisor.export.model import Service
from djsupervisor.export.servers import port_words
from djsupervisor.export.systemd import systemd_wait
from djsupervisor.export.writer import export, render
from djsupervisor.options import Options
from tests.exporting import project_to_export
from tests.support import free_port

yaml = pytest.importorskip("yaml")

CONF = """
[program:web]
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py runserver --noreload 127.0.0.1:8000
directory={{ PROJECT_DIR }}/src
environment=MODE="prod"
user=nobody
autorestart=true
stopsignal=INT
stopwaitsecs=30
ready=http://127.0.0.1:8000/health/
ready_timeout=20
depends_on=migrate:done, db:ready

[program:worker]
command=worker --slot %(process_num)s
numprocs=2
process_name=%(program_name)s_%(process_num)s
autorestart=false
depends_on=db

[program:migrate]
command={{ PYTHON }} manage.py migrate
oneshot=true
depends_on=db:ready

[program:db]
command=postgres -D data
user=65534
ready=tcp:5432
stopasgroup=false

[program:tail]
command=sh -c 'tail -f $HOME/x.log'
ready=log:started
autostart=false

[program:beat]
command=beat --every 60
depends_on=worker, tail:ready
environment=TOKEN="%(ENV_DJS_EXPORT_TOKEN)s"
priority=5
stdout_logfile=/var/log/beat.log

[eventlistener:listener]
command=listen
events=PROCESS_STATE
"""
TOKEN = "from-this-machines-environment"
SECRET = "do-not-print-me"
CONTAINER_ARGS = ["--image", "shop:1", "--workdir", "/srv", "--python", "python3"]


@pytest.fixture
def project(tmp_path: Path, short_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("DJS_EXPORT_TOKEN", TOKEN)
    with project_to_export(tmp_path / "shop", CONF, short_dir) as path:
        (path / "src").mkdir()
        (path / ".env").write_text(f"API_KEY={SECRET}\n")
        yield path


class Exported:
    """The project exported in every format: files by name, warnings, parsed views."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.files: dict[str, dict[str, Path]] = {}
        self.warnings: dict[str, list[str]] = {}
        for fmt in FORMATS:
            self.files[fmt], self.warnings[fmt] = run_export(project, fmt, CONTAINER_ARGS)
        lines = self.files["procfile"]["Procfile"].read_text().splitlines()
        lines += self.files["procfile"]["Procfile.release"].read_text().splitlines()
        self.procfile = dict(line.split(": ", 1) for line in lines)
        self.compose = yaml.safe_load(self.files["compose"]["compose.yaml"].read_text())
        documents = yaml.safe_load_all(self.files["kubernetes"]["kubernetes.yaml"].read_text())
        self.kubernetes = {(d["kind"], d["metadata"]["name"]): d for d in documents if d}

    def unit(self, name: str) -> str:
        return self.files["systemd"][name].read_text()

    def service(self, name: str) -> dict[str, Any]:
        service: dict[str, Any] = self.compose["services"][name]
        return service

    def pod(self, name: str, kind: str = "Deployment") -> dict[str, Any]:
        spec: dict[str, Any] = self.kubernetes[kind, f"shop-{name}"]["spec"]["template"]["spec"]
        return spec

    def container(self, name: str, kind: str = "Deployment") -> dict[str, Any]:
        containers: list[dict[str, Any]] = self.pod(name, kind)["containers"]
        (container,) = containers
        return container

    def all_warnings(self) -> list[str]:
        return [warning for warnings in self.warnings.values() for warning in warnings]

    def warned(self, fmt: str, program: str, option: str) -> bool:
        """Tell whether ``fmt`` said it cannot express ``option`` of ``program``."""
        said = f"program {program!r}: {option} cannot be expressed in "
        return any(warning.startswith(said) for warning in self.warnings[fmt])


@pytest.fixture
def exported(project: Path) -> Exported:
    return Exported(project)


def test_command(exported: Exported) -> None:
    # --python and --workdir instead of this machine's paths, in every format;
    # honcho gives the Procfile's server its port as $PORT.
    line = "exec python3 /srv/manage.py runserver --noreload 127.0.0.1:$PORT"
    assert exported.procfile["web"].endswith(f" {line}")
    assert 'ExecStart="python3" "/srv/manage.py" "runserver"' in exported.unit("shop-web.service")
    argv = ["python3", "/srv/manage.py", "runserver", "--noreload", "127.0.0.1:8000"]
    assert exported.service("web")["command"] == [*argv[:-1], "0.0.0.0:8000"]  # published
    # Kubernetes: the pod's address, where its Service and the kubelet connect.
    assert exported.container("web")["command"] == [*argv[:-1], "0.0.0.0:8000"]


def test_directory(exported: Exported) -> None:
    # honcho runs each line where it is started: every line goes to its directory.
    assert exported.procfile["web"].startswith("cd /srv/src && ")
    assert exported.procfile["db"].startswith("cd /srv && ")
    assert "WorkingDirectory=/srv/src\n" in exported.unit("shop-web.service")
    assert exported.service("web")["working_dir"] == "/srv/src"
    assert exported.container("web")["workingDir"] == "/srv/src"


def test_environment(exported: Exported) -> None:
    # The settings module of the export goes with every program (tests.settings here).
    settings = "DJANGO_SETTINGS_MODULE=tests.settings"
    assert exported.procfile["web"].startswith(f"cd /srv/src && {settings} MODE=prod exec ")
    assert f'Environment="{settings}"\nEnvironment="MODE=prod"' in exported.unit("shop-web.service")
    assert exported.service("web")["environment"] == {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "MODE": "prod",
    }
    assert exported.container("web")["env"] == [
        {"name": "DJANGO_SETTINGS_MODULE", "value": "tests.settings"},
        {"name": "MODE", "value": "prod"},
    ]
    for fmt in FORMATS:  # the project's .env: the development one, unless --env-file
        assert any(".env, this machine's environment file" in w for w in exported.warnings[fmt])


def test_env_files_go_to_owner_only_files_or_secrets(exported: Exported) -> None:
    for fmt, files in exported.files.items():
        for path in files.values():
            text = path.read_text()
            for secret in (SECRET, TOKEN):
                if fmt == "kubernetes":
                    documents = text.split("\n---\n")
                    assert all(secret not in d or "\nkind: Secret\n" in d for d in documents)
                elif path.suffix != ".env" and path.name != ".env":
                    assert secret not in text, path
            if SECRET in text or TOKEN in text:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert exported.files["procfile"][".env"].read_text() == (
        f'API_KEY="{SECRET}"\nTOKEN="{TOKEN}"\n'
    )
    env_file = exported.project.parent / "out-systemd" / "shop-web.env"
    assert f"EnvironmentFile={env_file}\n" in exported.unit("shop-web.service")
    assert env_file.read_text() == f'API_KEY="{SECRET}"\n'
    assert exported.service("web")["env_file"] == ["web.env"]
    assert exported.kubernetes["Secret", "shop-web-env"]["stringData"] == {"API_KEY": SECRET}
    assert exported.container("web")["envFrom"] == [{"secretRef": {"name": "shop-web-env"}}]


def test_environment_from_this_machine_is_a_secret(exported: Exported) -> None:
    # %(ENV_X)s can only be this machine's value: with the secrets, and said.
    env_file = (exported.project.parent / "out-systemd" / "shop-beat.env").read_text()
    assert f'TOKEN="{TOKEN}"\n' in env_file
    assert exported.kubernetes["Secret", "shop-beat-env"]["stringData"]["TOKEN"] == TOKEN
    assert "TOKEN" not in exported.service("beat")["environment"]
    for fmt in FORMATS:
        assert any("'beat': TOKEN comes from %(ENV_...)s" in w for w in exported.warnings[fmt])


def test_user(exported: Exported) -> None:
    assert exported.warned("procfile", "web", "user")
    assert "User=nobody\n" in exported.unit("shop-web.service")
    assert exported.service("web")["user"] == "nobody"
    assert exported.warned("kubernetes", "web", "user")  # runAsUser takes a number
    assert exported.container("db")["securityContext"] == {"runAsUser": 65534}


def test_numprocs(exported: Exported) -> None:
    assert exported.warned("procfile", "worker", "numprocs")
    worker = exported.unit("shop-worker@.service")  # a template unit: one instance per process
    assert '"--slot" "%i"' in worker
    target = exported.unit("shop.target")
    assert "Wants=shop-web.service shop-worker@0.service shop-worker@1.service " in target
    # 'systemctl start shop.target' returns once every unit has started.
    assert "After=shop-web.service shop-worker@0.service shop-worker@1.service " in target
    assert exported.service("worker")["deploy"] == {"replicas": 2}
    assert exported.kubernetes["Deployment", "shop-worker"]["spec"]["replicas"] == 2
    # Containers run one command for every replica: the process number is lost.
    for fmt in CONTAINER_FORMATS:
        assert exported.warned(fmt, "worker", "%(process_num) in command")


def test_autorestart(exported: Exported) -> None:
    assert exported.warned("procfile", "web", "autorestart")  # true: nothing restarts
    assert not exported.warned("procfile", "db", "autorestart")  # unexpected: the default
    assert "Restart=always\n" in exported.unit("shop-web.service")
    assert "Restart=on-failure\n" in exported.unit("shop-db.service")
    assert "Restart=no\n" in exported.unit("shop-worker@.service")
    assert exported.service("web")["restart"] == "always"
    assert exported.service("db")["restart"] == "on-failure"
    assert exported.service("worker")["restart"] == "no"
    assert exported.warned("kubernetes", "worker", "autorestart")  # false: pods always restart
    assert not exported.warned("kubernetes", "web", "autorestart")


def test_stopsignal(exported: Exported) -> None:
    assert exported.warned("procfile", "web", "stopsignal")
    assert "KillSignal=SIGINT\n" in exported.unit("shop-web.service")
    assert "SuccessExitStatus" not in exported.unit("shop-web.service")  # clean to systemd
    assert "KillSignal=SIGTERM\n" in exported.unit("shop-db.service")
    assert exported.service("web")["stop_signal"] == "SIGINT"
    assert exported.warned("kubernetes", "web", "stopsignal")
    assert not exported.warned("kubernetes", "db", "stopsignal")


def test_stopwaitsecs(exported: Exported) -> None:
    assert exported.warned("procfile", "web", "stopwaitsecs")
    assert "TimeoutStopSec=30\n" in exported.unit("shop-web.service")
    assert exported.service("web")["stop_grace_period"] == "30s"
    assert exported.pod("web")["terminationGracePeriodSeconds"] == 30
    assert exported.pod("db")["terminationGracePeriodSeconds"] == 10  # supervisord's default


def test_stopasgroup(exported: Exported) -> None:
    # systemd signals the whole group by default, as djsupervisor's programs do.
    assert "KillMode" not in exported.unit("shop-web.service")
    assert "KillMode=mixed\n" in exported.unit("shop-db.service")  # the signal to postgres alone
    # A container's stop signal goes to its main process, the program.
    said = (": stopasgroup", ": killasgroup")
    assert not any(option in w for w in exported.all_warnings() for option in said)


def test_options_no_format_says_are_warned_about(exported: Exported) -> None:
    for fmt in FORMATS:
        assert exported.warned(fmt, "beat", "priority=5"), fmt
        assert exported.warned(fmt, "beat", "stdout_logfile=/var/log/beat.log"), fmt
    # Not what the config build sets for supervisord's sake.
    assert not any("startsecs" in w or "events_enabled" in w for w in exported.all_warnings())


def test_a_stop_signal_systemd_does_not_count_as_clean_is_a_success(project: Path) -> None:
    # supervisord counts a stop as a stop, whatever the signal the program dies of.
    (project / "supervisord.conf").write_text("[program:q]\ncommand=sleep 9\nstopsignal=QUIT\n")
    files, _ = run_export(project, "systemd")
    assert "KillSignal=SIGQUIT\nSuccessExitStatus=SIGQUIT\n" in files["shop-q.service"].read_text()


@pytest.mark.parametrize(("listening", "status"), [(True, 0), (False, 1)])
def test_the_systemd_wait_passes_once_the_check_does(listening: bool, status: int) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        if listening:
            server.listen()
        port = server.getsockname()[1]
        check = parse_check(f"tcp:127.0.0.1:{port}", "web")
        service = Service("web", "run", ["run"], "/app", {}, {}, ready=check, ready_timeout=0.5)
        wait = systemd_wait(service, sys.executable)
        assert wait is not None
        done = subprocess.run(wait, capture_output=True, text=True, timeout=30)
    assert done.returncode == status, done.stderr
    if not listening:
        assert done.stderr == f"web: not ready after 0.5 s: tcp:127.0.0.1:{port}\n"


@pytest.mark.parametrize(("command", "status"), [("true", 0), ("sh -c 'exit 3'", 1)])
def test_the_systemd_wait_runs_an_exec_check_as_words(command: str, status: int) -> None:
    check = parse_check(f"exec:{command}", "worker")
    service = Service("worker", "run", ["run"], "/app", {}, {}, ready=check, ready_timeout=0.5)
    wait = systemd_wait(service, sys.executable)
    assert wait is not None
    done = subprocess.run(wait, capture_output=True, text=True, timeout=30)
    assert done.returncode == status, done.stderr


def test_autostart(exported: Exported) -> None:
    assert exported.warned("procfile", "tail", "autostart")
    assert "shop-tail.service" not in exported.unit("shop.target")  # not wanted: start it
    assert exported.service("tail")["profiles"] == ["manual"]  # docker compose up tail
    assert exported.kubernetes["Deployment", "shop-tail"]["spec"]["replicas"] == 0


def test_oneshot(exported: Exported) -> None:
    # Not in the Procfile: honcho would stop every process when it exits.
    assert exported.procfile["release"].endswith("exec python3 manage.py migrate")
    assert "migrate" not in exported.procfile
    assert "release" not in exported.files["procfile"]["Procfile"].read_text()
    said = "run 'honcho -f Procfile.release start' before 'honcho start'"
    assert any(said in w for w in exported.warnings["procfile"])
    assert "Type=oneshot\nRemainAfterExit=yes\n" in exported.unit("shop-migrate.service")
    assert exported.service("migrate")["restart"] == "no"
    assert exported.pod("migrate", "Job")["restartPolicy"] == "Never"
    assert ("Deployment", "shop-migrate") not in exported.kubernetes


def test_depends_on(exported: Exported) -> None:
    assert exported.warned("procfile", "web", "depends_on")
    web = exported.unit("shop-web.service")
    assert "Requires=shop-migrate.service shop-db.service\n" in web
    assert "After=shop-migrate.service shop-db.service\n" in web
    assert exported.service("web")["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "db": {"condition": "service_healthy"},
    }
    assert exported.service("worker")["depends_on"] == {"db": {"condition": "service_started"}}
    # On a numprocs program: on each of its instances.
    beat = exported.unit("shop-beat.service")
    assert "Requires=shop-worker@0.service shop-worker@1.service shop-tail.service\n" in beat
    # Kubernetes: init containers wait for the migrations and for db's Service.
    migrate, db = exported.pod("web")["initContainers"]
    assert migrate["name"] == "wait-for-migrate" and migrate["workingDir"] == "/srv"
    assert migrate["command"][:2] == ["sh", "-c"]
    assert migrate["command"][4:] == ["python3", "manage.py", "migrate", "--check"]
    assert db["name"] == "wait-for-db" and db["command"][:2] == ["python3", "-c"]
    assert "socket.create_connection(('shop-db', 5432), 2)" in db["command"][2]
    assert not exported.warned("kubernetes", "web", "depends_on=migrate:done")
    assert exported.warned("kubernetes", "beat", "depends_on=worker:started")  # no Service
    assert exported.warned("kubernetes", "beat", "depends_on=tail:ready")
    # A log: check is no healthcheck: Compose can wait for its start only.
    assert exported.service("beat")["depends_on"]["tail"] == {"condition": "service_started"}
    assert exported.warned("compose", "beat", "depends_on=tail:ready")


def test_ready(exported: Exported) -> None:
    assert exported.warned("procfile", "web", "ready")
    # systemd: the unit has started (its dependents start) once the check passes.
    web = exported.unit("shop-web.service")
    assert 'ExecStartPost="python3" "-c" "import ' in web
    assert "urlopen('http://127.0.0.1:8000/health/', timeout=2)" in web
    assert "TimeoutStartSec=30\n" in web  # ready_timeout 20 s, and systemd's margin
    assert "socket.create_connection(('127.0.0.1', 5432), 2)" in exported.unit("shop-db.service")
    assert "ExecStartPost" not in exported.unit("shop-migrate.service")
    assert not exported.warned("systemd", "web", "ready")
    assert exported.warned("systemd", "tail", "ready=log:started")
    web = exported.service("web")["healthcheck"]
    assert web["test"][:3] == ["CMD", "python3", "-c"]
    assert "http://127.0.0.1:8000/health/" in web["test"][3]
    assert web["retries"] == 10  # ready_timeout 20 s, one check every 2 s
    db = exported.service("db")["healthcheck"]["test"][3]
    assert "socket.create_connection(('127.0.0.1', 5432)" in db
    probe = exported.container("web")["readinessProbe"]
    assert probe["httpGet"] == {
        "path": "/health/",
        "port": 8000,
        "scheme": "HTTP",
        "httpHeaders": [{"name": "Host", "value": "127.0.0.1:8000"}],
    }
    assert probe["failureThreshold"] == 10
    # db may listen on 127.0.0.1 only, out of the kubelet's reach: its probe runs inside.
    db_probe = exported.container("db")["readinessProbe"]["exec"]["command"]
    assert db_probe[:2] == ["python3", "-c"] and "('127.0.0.1', 5432)" in db_probe[2]
    for fmt in CONTAINER_FORMATS:  # a log line has no container equivalent
        assert exported.warned(fmt, "tail", "ready=log:")
        assert not exported.warned(fmt, "web", "ready")


def test_compose_keeps_dollars_as_written(exported: Exported) -> None:
    # Compose would put its own environment's HOME there: $$ is a literal $.
    assert exported.service("tail")["command"] == ["sh", "-c", "tail -f $$HOME/x.log"]


def test_what_no_format_has_a_place_for_is_said(exported: Exported) -> None:
    for fmt in FORMATS:
        assert "[eventlistener:listener] is not exported" in " ".join(exported.warnings[fmt])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/", {"path": "/", "port": 8000, "scheme": "HTTP"}),
        (
            "https://localhost/health?full=1",
            {"path": "/health?full=1", "port": 443, "scheme": "HTTPS"},
        ),
        ("http://localhost/x", {"path": "/x", "port": 80, "scheme": "HTTP"}),
    ],
)
def test_kubernetes_http_probes(url: str, expected: dict[str, object]) -> None:
    # gunicorn listens on all interfaces in the pod (its loopback bind moved): the kubelet
    # reaches it, and sends the check's Host (the pod's address is none ALLOWED_HOSTS has).
    argv = ["gunicorn", "w", "--bind", f"127.0.0.1:{expected['port']}"]
    service = Service("web", "run", argv, "/app", {}, {}, ready=parse_check(url, "web"))
    headers = [{"name": "Host", "value": urllib.parse.urlsplit(url).netloc}]
    assert probe(service, listener(service)) == {"httpGet": {**expected, "httpHeaders": headers}}


@pytest.mark.parametrize(
    ("argv", "ready", "expected"),
    [
        # Not a server whose bind the export knows: it may listen on loopback only.
        (["./serve"], "tcp:9000", ["python", "-c", "import socket; socket.create_connection"]),
        (["./serve"], "http://localhost:9000/", ["python", "-c", "import sys, urllib.request"]),
        # gunicorn on 9001, its check on 9000: another port, which it does not move.
        (["gunicorn", "w", "-b", "127.0.0.1:9001"], "tcp:9000", ["python", "-c", "import socket"]),
        (["./serve"], "exec:./healthy --now", ["./healthy", "--now"]),
    ],
)
def test_kubernetes_probes_run_in_the_container_where_the_kubelet_cannot_reach(
    argv: list[str], ready: str, expected: list[str]
) -> None:
    service = Service("web", "run", argv, "/app", {}, {}, ready=parse_check(ready, "web"))
    found = probe(service, listener(service))
    assert found is not None
    command = found["exec"]["command"]
    assert command[: len(expected) - 1] == expected[:-1]
    assert command[len(expected) - 1].startswith(expected[-1])


def test_kubernetes_probes_the_pods_address_on_a_check_that_is_not_loopback() -> None:
    ready = parse_check("tcp:0.0.0.0:5432", "db")
    service = Service("db", "run", ["postgres"], "/app", {}, {}, ready=ready)
    assert probe(service, listener(service)) == {"tcpSocket": {"port": 5432}}


K8S_TARGET = Target("mysite", "mysite:1", "/app", "python", "/out")


def k8s_service(name: str, *argv: str, **options: Any) -> Service:
    return Service(name, " ".join(argv), list(argv), "/app", {}, {}, **options)


def manifests(
    services: list[Service], target: Target = K8S_TARGET
) -> tuple[dict[tuple[str, str], Any], list[str]]:
    """Return the Kubernetes export's objects by (kind, name), and its warnings."""
    done = kubernetes(services, target)
    template, context, _ = done.files["kubernetes.yaml"]
    text = render(template, context)
    documents = [d for d in yaml.safe_load_all(text) if d]
    return {(d["kind"], d["metadata"]["name"]): d for d in documents}, done.warnings


def test_a_pods_waits_have_unique_names_and_give_up_saying_why() -> None:
    """Two dependencies Kubernetes names alike: each its own init container, which times out."""
    dependencies = [
        k8s_service(name, "gunicorn", "w", "-b", f"127.0.0.1:{port}")
        for name, port in (("db_1", free_port()), ("db-1", free_port()))
    ]
    migrate = k8s_service("migrate", "python", "manage.py", "migrate", oneshot=True)
    web = k8s_service(
        "wait-for-db-1", "gunicorn", "w", depends_on=[("db_1", "ready"), ("db-1", "ready")]
    )
    web.depends_on.append(("migrate", "done"))
    objects, _ = manifests([*dependencies, migrate, web])
    pod = objects["Deployment", "mysite-wait-for-db-1"]["spec"]["template"]["spec"]
    names = [c["name"] for c in [*pod["containers"], *pod["initContainers"]]]
    assert names == ["wait-for-db-1", "wait-for-db-1-2", "wait-for-db-1-3", "wait-for-migrate"]
    # Each wait, as Kubernetes runs it ($$ is a $), gives up after its time (1 s
    # here) on nothing to connect to, or migrations never applied, saying so.
    first, _, migrations = pod["initContainers"]
    timeout = str(WAIT_TIMEOUT)
    code = first["command"][2].replace(timeout, "1")
    waited = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert waited.returncode == 1
    assert re.fullmatch(r"the Service mysite-db-1-\w{6} took no connection in 1 s\n", waited.stderr)
    script = migrations["command"][2].replace("$$", "$").replace(timeout, "1")
    waited = subprocess.run(
        ["sh", "-c", script, "wait", "false"], capture_output=True, text=True, timeout=30
    )
    assert (waited.returncode, waited.stderr) == (1, "migrate's migrations not applied in 1 s\n")
    done = subprocess.run(
        ["sh", "-c", script, "wait", "true"], capture_output=True, text=True, timeout=30
    )
    assert (done.returncode, done.stderr) == (0, "")


def test_kubernetes_gives_a_listening_program_a_service_on_its_port() -> None:
    web = k8s_service("web", "python", "manage.py", "runserver", "127.0.0.1:8001", numprocs=2)
    objects, warnings = manifests([web, k8s_service("worker", "python", "manage.py", "work")])
    assert objects["Service", "mysite-web"]["spec"] == {
        "type": "ClusterIP",
        "selector": {"app": "mysite", "program": "mysite-web"},
        "ports": [{"port": 8001, "targetPort": 8001, "protocol": "TCP"}],
    }
    assert ("Service", "mysite-worker") not in objects  # it listens on no port
    (container,) = objects["Deployment", "mysite-web"]["spec"]["template"]["spec"]["containers"]
    assert container["command"][-1] == "0.0.0.0:8001"
    assert container["ports"] == [{"containerPort": 8001, "protocol": "TCP"}]
    assert (
        "program 'web': runserver binds 127.0.0.1:8001, which nothing outside its pod reaches: "
        "it binds 0.0.0.0:8001 in Kubernetes, the port of the Service 'mysite-web'"
    ) in warnings


def test_kubernetes_waits_for_a_one_shot_only_as_django_migrations() -> None:
    collect = k8s_service("collect", "python", "manage.py", "collectstatic", oneshot=True)
    web = k8s_service("web", "gunicorn", "w", depends_on=[("collect", "done")])
    objects, warnings = manifests([collect, web])
    assert "initContainers" not in objects["Deployment", "mysite-web"]["spec"]["template"]["spec"]
    assert (
        "program 'web': depends_on=collect:done cannot be expressed in Kubernetes; its Job "
        "runs at the same time as this pod"
    ) in warnings


def test_kubernetes_shares_a_sqlite_directory_as_a_claim_or_says_it_cannot() -> None:
    target = Target("mysite", "mysite:1", "/app", "python", "/out", databases=("/app/data/db",))
    migrate = k8s_service("migrate", "python", "manage.py", "migrate", oneshot=True)
    objects, warnings = manifests([migrate], target)
    claim = objects["PersistentVolumeClaim", "mysite-sqlite"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = objects["Job", "mysite-migrate"]["spec"]["template"]["spec"]
    assert pod["volumes"] == [
        {"name": "mysite-sqlite", "persistentVolumeClaim": {"claimName": "mysite-sqlite"}}
    ]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "mysite-sqlite", "mountPath": "/app/data"}
    ]
    assert any("the pods that share it run on one node" in w for w in warnings)
    inside = Target("mysite", "mysite:1", "/app", "python", "/out", databases=("/app/db",))
    objects, warnings = manifests([migrate], inside)
    assert not [kind for kind, _ in objects if kind == "PersistentVolumeClaim"]
    assert any("each container has its own copy" in w for w in warnings)


def test_kubernetes_without_an_image_writes_the_dockerfile_to_build_it() -> None:
    target = Target("mysite", "mysite:latest", "/app", "python", "/p/k8s", build="/p")
    done = kubernetes([k8s_service("web", "gunicorn", "w")], target)
    assert done.files["Dockerfile"] == ("compose/Dockerfile", {"target": target}, 0o644)
    assert any("docker build -f /p/k8s/Dockerfile -t mysite:latest /p" in w for w in done.warnings)


def test_one_warning_per_program_and_option(exported: Exported) -> None:
    for fmt, warnings in exported.warnings.items():
        said = [w.split(" cannot be expressed")[0] for w in warnings]
        assert len(said) == len(set(said)), fmt


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nomad", "--output", "x"],
            "unknown format 'nomad'; use procfile, systemd, compose, kubernetes",
        ),
        (["systemd"], "the following arguments are required: --output"),
        (["systemd", "--output", "x", "--image"], "argument --image: expected one argument"),
        (["systemd", "--output", "x", "--name", "my shop"], "--name 'my shop'"),
        (
            ["kubernetes", "--output", "x", "--name", "2shop"],
            "--name '2shop': Kubernetes names start with a letter",
        ),
    ],
)
def test_mistakes_are_named(args: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(args, "shop")


def test_an_output_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match="is a file; name a directory"):
        parse(["systemd", "--output", str(tmp_path / "f")], "shop")


def test_a_project_template_overrides_a_shipped_one(project: Path) -> None:
    # As the docs show: extend the shipped template, fill one of its blocks.
    override = project / "templates" / "djsupervisor" / "export" / "systemd" / "program.service"
    override.parent.mkdir(parents=True)
    override.write_text(
        '{% extends "djsupervisor/export/systemd/program.service" %}'
        "{% block service %}{{ block.super }}LimitNOFILE=65536\n{% endblock %}"
    )
    templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(project / "templates")],
            "APP_DIRS": True,
        }
    ]
    with override_settings(TEMPLATES=templates):
        files, _ = run_export(project, "systemd")
    web = files["shop-web.service"].read_text()
    assert "TimeoutStopSec=30\nLimitNOFILE=65536\n\n[Install]\n" in web
    assert web.startswith("# shop-web: the program 'web' of shop")
    assert "LimitNOFILE" not in files["shop.target"].read_text()


def test_the_projects_env_file_is_never_overwritten(project: Path) -> None:
    before = (project / ".env").read_text()
    with pytest.raises(ConfigError, match=r"\.env is an environment file the programs read"):
        run_export(project, "procfile", output=project)
    assert (project / ".env").read_text() == before
    assert not (project / "Procfile").exists()


def run_export(
    project: Path, fmt: str, args: list[str] | None = None, output: Path | None = None
) -> tuple[dict[str, Path], list[str]]:
    """Export ``project`` in ``fmt``; return the files written by name, and the warnings."""
    out = output or project.parent / f"out-{fmt}"
    parsed = parse([fmt, "--output", str(out), *(args or [])], "shop")
    written, warnings = export(Options(project_dir=str(project)), parsed)
    return {path.name: path for path in written}, warnings


def test_systemd_finds_its_environment_files_where_the_project_is_deployed(
    project: Path,
) -> None:
    """Exported into the project (deploy/systemd), deployed with it to --workdir."""
    inside = project / "deploy" / "systemd"
    files, _ = run_export(project, "systemd", ["--workdir", "/srv/shop"], output=inside)
    unit = files["shop-web.service"].read_text()
    assert "EnvironmentFile=/srv/shop/deploy/systemd/shop-web.env\n" in unit
    assert (inside / "shop-web.env").is_file()


def test_only_the_projects_programs_even_in_debug_mode(project: Path) -> None:
    with override_settings(DEBUG=True):  # where the autoreload program runs
        files, warnings = run_export(project, "procfile")
    text = files["Procfile"].read_text() + files["Procfile.release"].read_text()
    names = [line.split(":")[0] for line in text.splitlines()]
    assert sorted(names) == ["beat", "db", "release", "tail", "web", "worker"]
    said = "DEBUG is on in the settings tests.settings: the programs exported are the development"
    assert any(warning.startswith(said) for warning in warnings)
    assert "pass --settings=MODULE" in " ".join(warnings)


def test_the_defaults_of_the_names_and_paths(project: Path) -> None:
    files, _ = run_export(project, "compose")
    compose = yaml.safe_load(files["compose.yaml"].read_text())
    web = compose["services"]["web"]
    assert web["image"] == "shop:latest"  # --name's default is given to parse() here
    assert web["working_dir"] == "/app/src"
    assert web["command"][:2] == ["python", "/app/manage.py"]


ODD = """
[program:dump]
command=sh -c 'echo dump-$(date +%F).json > /dev/null; echo 100%%'
environment=STAMP="%%Y 50%",PRICE="$5 for $HOME"

[program:a$b]
command=sleep 1

[program:c'd]
command=sleep 1

[program:e_f]
command=sleep 1

[program:e.f]
command=sleep 1
"""
# What supervisord runs for the dump program: '%F' as written, '%%' as '%'.
DUMP_ARGV = ["sh", "-c", "echo dump-$(date +%F).json > /dev/null; echo 100%"]


def test_a_literal_percent_reaches_every_format_as_supervisord_runs_it(project: Path) -> None:
    (project / "supervisord.conf").write_text(ODD)
    procfile, _ = run_export(project, "procfile")
    assert f"exec {shlex.join(DUMP_ARGV)}\n" in procfile["Procfile"].read_text()
    assert "STAMP='%Y 50%' PRICE='$5 for $HOME' exec" in procfile["Procfile"].read_text()
    systemd, _ = run_export(project, "systemd")
    unit = systemd["shop-dump.service"].read_text()
    assert 'ExecStart="sh" "-c" "echo dump-$$(date +%%F).json > /dev/null; echo 100%%"' in unit
    assert 'Environment="STAMP=%%Y 50%%"' in unit
    # Only command lines expand variables in systemd: a value's '$' is itself.
    assert 'Environment="PRICE=$5 for $HOME"' in unit
    compose, _ = run_export(project, "compose")
    service = yaml.safe_load(compose["compose.yaml"].read_text())["services"]["dump"]
    assert service["command"] == [word.replace("$", "$$") for word in DUMP_ARGV]
    assert service["environment"]["STAMP"] == "%Y 50%"
    assert service["environment"]["PRICE"] == "$$5 for $$HOME"  # Compose's literal '$'
    kubernetes, _ = run_export(project, "kubernetes")
    documents = yaml.safe_load_all(kubernetes["kubernetes.yaml"].read_text())
    pods = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in documents if "spec" in d}
    (container,) = pods["shop-dump"]["containers"]
    # Kubernetes expands $(VAR) in commands and values: $$ is its literal '$'.
    assert container["command"] == [word.replace("$", "$$") for word in DUMP_ARGV]
    assert {"name": "STAMP", "value": "%Y 50%"} in container["env"]


@pytest.mark.parametrize(
    ("fmt", "valid"),
    [
        ("procfile", r"[A-Za-z0-9_-]+"),  # honcho's PROCFILE_LINE
        ("systemd", r"[A-Za-z0-9:_.-]+\.(service|target)|.*\.env"),
        ("kubernetes", r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"),  # a DNS label
    ],
)
def test_odd_program_names_are_valid_unique_and_said(
    project: Path, fmt: str, valid: str, tmp_path: Path
) -> None:
    (project / "supervisord.conf").write_text(ODD)
    files, warnings = run_export(project, fmt)
    if fmt == "procfile":
        names = [line.split(":")[0] for line in files["Procfile"].read_text().splitlines()]
    elif fmt == "systemd":
        names = [name for name in files if name != "shop.target"]
        assert " shop-a-b.service shop-c-d.service " in files["shop.target"].read_text()
    else:
        documents = [d for d in yaml.safe_load_all(files["kubernetes.yaml"].read_text()) if d]
        names = [d["metadata"]["name"] for d in documents if d["kind"] != "Secret"]
        pods = [d["spec"]["template"]["spec"] for d in documents if d["kind"] != "Secret"]
        assert all(re.fullmatch(valid, c["name"]) for p in pods for c in p["containers"])
    assert all(re.fullmatch(valid, name) for name in names), names
    assert len(names) == len(set(names)) == 5 * (1 + (fmt == "systemd")), names  # .env too
    for program in ("a$b", "c'd", *(("e.f",) if fmt != "systemd" else ())):  # '.': a unit's
        assert any(w.startswith(f"program {program!r} is named ") for w in warnings), program
    # The same names each time, whatever the other programs: from each program's own name.
    (project / "supervisord.conf").write_text(ODD.replace("[program:e_f]", "[program:g]"))
    again, _ = run_export(project, fmt, output=tmp_path / "again")
    if fmt != "kubernetes":
        assert {n for n in again if "a-b" in n or "c-d" in n} <= set(files)


# What Kubernetes takes as a label's value.
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def test_a_program_name_kubernetes_cannot_tell_apart_gets_its_own_object(project: Path) -> None:
    (project / "supervisord.conf").write_text(ODD)
    files, warnings = run_export(project, "kubernetes")
    documents = [d for d in yaml.safe_load_all(files["kubernetes.yaml"].read_text()) if d]
    workloads = [d for d in documents if d["kind"] in ("Deployment", "Job")]
    names = {d["metadata"]["name"] for d in workloads}
    assert len(workloads) == len(names) == 5  # dump, a$b, c'd, e_f, e.f: one object each
    # Labels take what names take: each program's object is labelled with its name.
    for workload in workloads:
        labels = workload["metadata"]["labels"], workload["spec"]["template"]["metadata"]["labels"]
        assert all(label["program"] == workload["metadata"]["name"] for label in labels)
        assert all(LABEL_VALUE.fullmatch(value) for label in labels for value in label.values())
    said = [w for w in warnings if w.startswith(("program 'e_f' is named", "program 'e.f' is"))]
    assert len(said) == 2 and all("'shop-e-f' was another program's" in w for w in said)


@pytest.mark.parametrize(
    ("argv", "line", "port"),
    [
        (["python", "manage.py", "runserver", "--noreload", "0:8000"], "... 0:$PORT", "8000"),
        (["python", "manage.py", "runserver", "-v", "2", "8001"], "... -v 2 $PORT", "8001"),
        (["python", "manage.py", "runserver"], "... runserver $PORT", "8000"),
        (
            ["gunicorn", "app.wsgi", "--bind", "127.0.0.1:8002"],
            "... --bind 127.0.0.1:$PORT",
            "8002",
        ),
        (["python", "-m", "gunicorn", "w", "-b", "[::1]:8003"], "... -b '[::1]:'$PORT", "8003"),
        (["gunicorn", "w", "--bind=0.0.0.0:8004"], "... --bind=0.0.0.0:$PORT", "8004"),
        (["uvicorn", "app:app", "--port", "8005"], "... --port $PORT", "8005"),
        (["uvicorn", "app:app"], "... app:app --port $PORT", "8000"),
        (["daphne", "-p", "8006", "app:app"], "... -p $PORT app:app", "8006"),
        (["daphne", "--port=8007", "app:app"], "... --port=$PORT app:app", "8007"),
    ],
)
def test_a_known_servers_port_is_honchos_port(argv: list[str], line: str, port: str) -> None:
    ported = port_words(argv)
    assert ported is not None
    words, old = ported
    assert old == port
    assert " ".join(words).endswith(line.removeprefix("... "))


@pytest.mark.parametrize(
    "argv",
    [
        ["gunicorn", "app.wsgi"],  # gunicorn reads PORT itself
        ["gunicorn", "app.wsgi", "--bind", "unix:/run/app.sock"],
        ["uvicorn", "app:app", "--uds", "/run/app.sock"],
        ["python", "manage.py", "db_worker"],
        ["sh", "-c", "runserver is a word here"],
    ],
)
def test_what_has_no_port_of_its_own_is_left_as_it_is(argv: list[str]) -> None:
    assert port_words(argv) is None


def test_a_procfile_says_no_path_of_this_machine_unless_given_workdir(project: Path) -> None:
    """honcho runs each line in the Procfile's folder: the project is found from there."""
    (project / "supervisord.conf").write_text(
        "[program:web]\ncommand={{ PYTHON }} {{ PROJECT_DIR }}/manage.py runserver\n"
        "directory={{ PROJECT_DIR }}/src\n"
        'environment=PYTHONPATH="{{ PROJECT_DIR }}:{{ PROJECT_DIR }}2/lib"\n'
        "[program:there]\ncommand=ls {{ PROJECT_DIR }}\ndirectory=/var/tmp\n"
        "[program:here]\ncommand=./serve --root={{ PROJECT_DIR }}/public\n"
    )
    inside = project / "deploy" / "procfile"
    files, _ = run_export(project, "procfile", output=inside)
    lines = dict(line.split(": ", 1) for line in files["Procfile"].read_text().splitlines())
    # {{ PROJECT_DIR }}2 is another directory: kept as it is.
    assert lines["web"] == (
        f"cd ../../src && DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=..:{project}2/lib "
        "exec python ../manage.py runserver $PORT"
    )
    # A directory out of the project is the user's own path; the project from there is ours.
    assert lines["there"].startswith("cd /var/tmp && ")
    assert lines["there"].endswith(f" exec ls {project}")
    assert lines["here"].startswith("cd ../.. && ")
    assert lines["here"].endswith(" exec ./serve --root=./public")
    assert str(project) not in lines["here"]
    # Asked for: paths there, as given.
    files, _ = run_export(project, "procfile", ["--workdir", "/srv/shop"], output=inside)
    web = files["Procfile"].read_text().splitlines()[0]
    assert web.startswith("web: cd /srv/shop/src && DJANGO_SETTINGS_MODULE=tests.settings ")
    assert " PYTHONPATH=/srv/shop:/srv/shop2/lib exec python /srv/shop/manage.py " in web


def test_a_procfile_line_gives_the_program_supervisords_arguments(project: Path) -> None:
    (project / "supervisord.conf").write_text(
        "[program:redirect]\ncommand=echo hi > /tmp/x $(touch /tmp/y) `id` 'a b' *\n"
    )
    files, _ = run_export(project, "procfile")
    assert files["Procfile"].read_text() == (
        "redirect: cd ../shop && DJANGO_SETTINGS_MODULE=tests.settings "
        "exec echo hi '>' /tmp/x '$(touch' '/tmp/y)' '`id`' 'a b' '*'\n"
    )


def test_host_formats_default_to_this_project_and_a_python_on_path(project: Path) -> None:
    procfile, _ = run_export(project, "procfile")
    # honcho users run it with their virtualenv active: no path of this machine's venv.
    web = procfile["Procfile"].read_text().splitlines()[0]
    assert web.startswith("web: cd ../shop/src && ")
    assert " exec python ../manage.py runserver" in web
    assert sys.executable not in procfile["Procfile"].read_text()
    systemd, _ = run_export(project, "systemd")
    unit = systemd["shop-web.service"].read_text()
    assert f'ExecStart="{sys.executable}" "{project}/manage.py"' in unit
    assert f"WorkingDirectory={project}/src\n" in unit


def test_settings_and_env_file_are_the_ones_given(project: Path) -> None:
    production = project / "production.env"
    production.write_text("API_KEY=production-key\n")
    args = ["--settings", "shop.production", "--env-file", str(production)]
    for fmt in FORMATS:
        files, warnings = run_export(project, fmt, args)
        text = "".join(path.read_text() for path in files.values())
        assert "shop.production" in text and "tests.settings" not in text, fmt
        assert "production-key" in text and SECRET not in text, fmt
        assert not any("this machine's environment file" in w for w in warnings), fmt


def test_a_settings_module_of_the_env_file_is_kept_unless_one_is_given(project: Path) -> None:
    (project / ".env").write_text("DJANGO_SETTINGS_MODULE=shop.from_env\n")
    files, _ = run_export(project, "systemd")
    assert "DJANGO_SETTINGS_MODULE" not in files["shop-db.service"].read_text()
    assert "shop.from_env" in files["shop-db.env"].read_text()
    files, _ = run_export(project, "systemd", ["--settings", "shop.given"])
    assert 'Environment="DJANGO_SETTINGS_MODULE=shop.given"' in files["shop-db.service"].read_text()
    assert "shop-db.env" not in files


def test_an_env_file_that_is_not_there_is_named(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"--env-file nowhere\.env: no such file"):
        parse(["procfile", "--output", "x", "--env-file", "nowhere.env"], "shop")


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("manage.py/deploy", r"--output .*/manage\.py/deploy is below .*/manage\.py, a file"),
        ("/proc/djsupervisor-export", r"cannot write /proc/djsupervisor-export .*: No such file"),
    ],
)
def test_an_output_that_cannot_be_is_one_line(project: Path, output: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        run_export(project, "procfile", output=project / output)


def test_an_export_that_fails_writes_nothing(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "new" / "deploy"
    (output / "Procfile.release").mkdir(parents=True)  # where a file is to go
    with pytest.raises(ConfigError, match=r"cannot write .*/Procfile\.release .*: Is a directory"):
        run_export(project, "procfile", output=output)
    assert [path.name for path in output.iterdir()] == ["Procfile.release"]
    (output / "Procfile.release").rmdir()
    output.chmod(0o500)  # as root, an immutable directory is one nobody can write to
    immutable = os.geteuid() == 0 and shutil.which("chattr")
    if immutable:
        subprocess.run(["chattr", "+i", str(output)], check=True)
    try:
        with pytest.raises(ConfigError, match=r"cannot write .*/deploy/Procfile .*: (Op|Perm)"):
            run_export(project, "procfile", output=output)
        with pytest.raises(ConfigError, match=r"cannot write .*/deploy/x .*: (Op|Perm)"):
            run_export(project, "procfile", output=output / "x")
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(output)], check=True)
        output.chmod(0o700)
    assert list(output.iterdir()) == []
