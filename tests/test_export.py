"""Export: one test per row of the mapping table (docs/exporting.rst), every format in each."""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from djsupervisor.config.dependencies import parse_check
from djsupervisor.errors import ConfigError
from djsupervisor.export.formats import CONTAINER_FORMATS, FORMATS, probe
from djsupervisor.export.model import Service
from djsupervisor.export.writer import export, parse
from djsupervisor.options import Options

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
    path = tmp_path / "shop"
    (path / "src").mkdir(parents=True)
    (path / "manage.py").write_text("")
    (path / "supervisord.conf").write_text(CONF)
    (path / ".env").write_text(f"API_KEY={SECRET}\n")
    with override_settings(
        INSTALLED_APPS=["djsupervisor"], SUPERVISOR_RUNTIME_DIR=str(short_dir), DEBUG=False
    ):
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
    project = exported.project
    line = f"{sys.executable} {project}/manage.py runserver --noreload 127.0.0.1:8000"
    assert exported.procfile["web"].endswith(f" {line}")
    assert f'ExecStart="{sys.executable}" "{project}/manage.py" "runserver"' in exported.unit(
        "shop-web.service"
    )
    # Inside the image: --python and --workdir instead of this machine's paths.
    argv = ["python3", "/srv/manage.py", "runserver", "--noreload", "127.0.0.1:8000"]
    assert exported.service("web")["command"] == [*argv[:-1], "0.0.0.0:8000"]  # published
    assert exported.container("web")["command"] == argv


def test_directory(exported: Exported) -> None:
    project = exported.project
    assert exported.procfile["web"].startswith(f"cd {project}/src && ")
    assert exported.procfile["db"].startswith("postgres")  # the project directory: no cd
    assert f"WorkingDirectory={project}/src\n" in exported.unit("shop-web.service")
    assert exported.service("web")["working_dir"] == "/srv/src"
    assert exported.container("web")["workingDir"] == "/srv/src"


def test_environment(exported: Exported) -> None:
    assert exported.procfile["web"].startswith(f"cd {exported.project}/src && MODE=prod ")
    assert 'Environment="MODE=prod"' in exported.unit("shop-web.service")
    assert exported.service("web")["environment"] == {"MODE": "prod"}
    assert exported.container("web")["env"] == [{"name": "MODE", "value": "prod"}]


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
    assert "environment" not in exported.service("beat")
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
    assert "shop-worker@0.service shop-worker@1.service" in exported.unit("shop.target")
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
    assert not any("stopasgroup" in w or "killasgroup" in w for w in exported.all_warnings())


def test_options_no_format_says_are_warned_about(exported: Exported) -> None:
    for fmt in FORMATS:
        assert exported.warned(fmt, "beat", "priority=5"), fmt
        assert exported.warned(fmt, "beat", "stdout_logfile=/var/log/beat.log"), fmt
    # Not what the config build sets for supervisord's sake.
    assert not any("startsecs" in w or "events_enabled" in w for w in exported.all_warnings())


def test_autostart(exported: Exported) -> None:
    assert exported.warned("procfile", "tail", "autostart")
    assert "shop-tail.service" not in exported.unit("shop.target")  # not wanted: start it
    assert exported.service("tail")["profiles"] == ["manual"]  # docker compose up tail
    assert exported.kubernetes["Deployment", "shop-tail"]["spec"]["replicas"] == 0


def test_oneshot(exported: Exported) -> None:
    assert exported.procfile["release"].endswith("manage.py migrate")
    assert "migrate" not in exported.procfile
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
    assert exported.warned("kubernetes", "web", "depends_on")
    # A log: check is no healthcheck: Compose can wait for its start only.
    assert exported.service("beat")["depends_on"]["tail"] == {"condition": "service_started"}
    assert exported.warned("compose", "beat", "depends_on=tail:ready")


def test_ready(exported: Exported) -> None:
    assert exported.warned("procfile", "web", "ready")
    assert exported.warned("systemd", "web", "ready")
    web = exported.service("web")["healthcheck"]
    assert web["test"][:3] == ["CMD", "python3", "-c"]
    assert "http://127.0.0.1:8000/health/" in web["test"][3]
    assert web["retries"] == 10  # ready_timeout 20 s, one check every 2 s
    db = exported.service("db")["healthcheck"]["test"][3]
    assert "socket.create_connection(('127.0.0.1', 5432)" in db
    probe = exported.container("web")["readinessProbe"]
    assert probe["httpGet"] == {"path": "/health/", "port": 8000, "scheme": "HTTP"}
    assert probe["failureThreshold"] == 10
    assert exported.container("db")["readinessProbe"]["tcpSocket"] == {"port": 5432}
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
    service = Service("web", "run", ["run"], "/app", {}, {}, ready=parse_check(url, "web"))
    assert probe(service) == {"httpGet": expected}


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


def test_only_the_projects_programs_even_in_debug_mode(project: Path) -> None:
    with override_settings(DEBUG=True):  # where the autoreload program runs
        files, _ = run_export(project, "procfile")
    names = [line.split(":")[0] for line in files["Procfile"].read_text().splitlines()]
    assert sorted(names) == ["beat", "db", "release", "tail", "web", "worker"]


def test_the_defaults_of_the_names_and_paths(project: Path) -> None:
    files, _ = run_export(project, "compose")
    compose = yaml.safe_load(files["compose.yaml"].read_text())
    web = compose["services"]["web"]
    assert web["image"] == "shop:latest"  # --name's default is given to parse() here
    assert web["working_dir"] == "/app/src"
    assert web["command"][:2] == ["python", "/app/manage.py"]
