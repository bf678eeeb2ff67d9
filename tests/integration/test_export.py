"""export, checked by the real tools: systemd-analyze, docker-compose, kubernetes-validate."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ..needs import require
from ..support import REPO, WAIT
from .conftest import Project

pytestmark = pytest.mark.integration
FORMATS = ("procfile", "systemd", "compose", "kubernetes")
SECRET = "never-inline-7f3a"
DEPLOY = REPO / "deploy" / "systemd"
SYSTEMD_UNITS = (".service", ".timer", ".target")  # what systemd-analyze verify reads
PLACEHOLDER_DIR = "/srv/mysite"  # where deploy/'s units say the example project is
PLACEHOLDER_PYTHON = f"{PLACEHOLDER_DIR}/.venv/bin/python"

EVERYTHING = """
[program:web]
command={{ PYTHON }} manage.py runserver --noreload 127.0.0.1:8000
environment=MODE="prod"
user=nobody
autorestart=true
stopsignal=INT
stopwaitsecs=30
ready=http://127.0.0.1:8000/
depends_on=migrate:done, db:ready

[program:worker]
command=sleep %(process_num)s000
numprocs=2
process_name=%(program_name)s_%(process_num)s
depends_on=db

[program:migrate]
command={{ PYTHON }} manage.py migrate --noinput
oneshot=true
depends_on=db:ready

[program:db]
command=sleep 1000
ready=tcp:5432
stopasgroup=false

[program:beat]
command=sh -c 'sleep 1000 && echo $HOME'
depends_on=worker
autostart=false

[program:report]
command={{ PYTHON }} manage.py report
schedule=0 9 1,15 * mon
depends_on=migrate:done
"""


def validate(fmt: str, output: Path) -> None:
    """Check the files of ``fmt`` with the real tool."""
    if fmt == "systemd":
        units = sorted(str(p) for p in output.iterdir() if p.suffix in SYSTEMD_UNITS)
        tool = ["systemd-analyze", "verify", "--man=false", *units]
    elif fmt == "compose":
        tool = ["docker-compose", "-f", str(output / "compose.yaml"), "config", "-q"]
    elif fmt == "kubernetes":
        require(importlib.util.find_spec("kubernetes_validate"), "kubernetes-validate")
        tool = [sys.executable, "-m", "kubernetes_validate", "--strict", "kubernetes.yaml"]
    else:
        honcho = Path(sys.executable).with_name("honcho")
        require(honcho.exists(), "honcho")
        tool = [str(honcho), "check"]  # it reads the Procfile as 'honcho start' does
    require(shutil.which(tool[0]), tool[0])
    done = subprocess.run(tool, capture_output=True, text=True, timeout=WAIT, cwd=output)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    # systemd-analyze exits 0 on unknown keys and bad values: it says 'ignoring'.
    assert not re.search(r"ignoring|Unknown|invalid|error", said, re.IGNORECASE), said
    if fmt == "procfile":
        assert "Valid procfile detected" in said, said


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_mapped_option_exports_valid_files(project: Project, fmt: str) -> None:
    project.write("supervisord.conf", EVERYTHING)
    project.write(".env", f"API_KEY={SECRET}\n")
    output = project.path.parent / "out"
    done = project.run("export", fmt, "--output", str(output), "--image", "shop:1")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    validate(fmt, output)
    assert_secret_only_in_env_files(fmt, output)
    # The scheduled program: a timer and a CronJob; a warning where there is no scheduler.
    if fmt == "systemd":
        timer = (output / f"{project.path.name}-report.timer").read_text()
        assert "\nOnCalendar=*-*-01,15 09:00:00 " in timer
        assert "\nOnCalendar=Mon *-*-* 09:00:00 " in timer
    elif fmt == "kubernetes":
        assert "\nkind: CronJob\n" in (output / "kubernetes.yaml").read_text()
    else:
        assert "program 'report': schedule=0 9 1,15 * MON cannot be expressed" in done.stderr


def assert_secret_only_in_env_files(fmt: str, output: Path) -> None:
    """Check that SECRET is in the export, and only in env files or Kubernetes Secrets."""
    found = False
    for path in output.iterdir():
        text = path.read_text()
        found = found or SECRET in text
        if fmt == "kubernetes":
            assert all(SECRET not in d or "\nkind: Secret\n" in d for d in text.split("\n---\n"))
        else:
            assert (SECRET in text) == (path.name.endswith(".env")), path
    assert found, f"no {fmt} file holds the env file's value"


def tree(path: Path) -> set[Path]:
    """Return what is below ``path``, but Python's bytecode cache (settings.py's, imported)."""
    return {found for found in path.rglob("*") if "__pycache__" not in found.parts}


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_creates_nothing_but_its_output(project: Project, fmt: str) -> None:
    project.write("supervisord.conf", EVERYTHING)
    project.write(".env", f"API_KEY={SECRET}\n")
    with tempfile.TemporaryDirectory(prefix="djs-") as scratch:
        base = Path(scratch) / "fresh"
        project.add_settings(f"SUPERVISOR_RUNTIME_DIR = {str(base)!r}\n")
        project.env["PYTHONDONTWRITEBYTECODE"] = "1"
        before = tree(project.path)
        output = Path(scratch) / "out"
        assert project.run("export", fmt, "--output", str(output)).returncode == 0
        assert not base.exists()
        assert tree(project.path) == before
        assert tree(Path(scratch)) == {output, *output.iterdir()}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("export", "nomad", "--output", "x"), "export: unknown format 'nomad'"),
        (("export", "systemd", "--output", "manage.py"), "is a file; name a directory"),
        (
            ("export", "procfile", "--output", "manage.py/deploy"),
            "--output manage.py/deploy is below {project}/manage.py, a file; name a directory",
        ),
        (
            ("export", "systemd", "--output", "/proc/djsupervisor-export"),
            "cannot write /proc/djsupervisor-export (--output /proc/djsupervisor-export): "
            "No such file or directory; name a directory you can write to",
        ),
        (
            ("export", "compose", "--output", "locked/deploy"),
            "cannot write {project}/locked/deploy (--output {project}/locked/deploy): ",
        ),
        (
            ("export", "kubernetes", "--output", "locked"),
            "cannot write {project}/locked/kubernetes.yaml (--output {project}/locked): ",
        ),
        (("export", "systemd", "--output", "x", "--env-file", "prod.env"), "prod.env: no such"),
        # A path the system refuses to look at (EACCES for another user alike).
        (("export", "procfile", "--output", f"/tmp/{'a' * 300}/x"), ": File name too long"),
    ],
)
def test_export_mistakes_are_one_line(project: Project, args: tuple[str, ...], says: str) -> None:
    project.write("supervisord.conf", EVERYTHING)
    locked = project.path / "locked"
    locked.mkdir(mode=0o500)  # nobody may write there; root neither, once immutable
    immutable = os.geteuid() == 0 and shutil.which("chattr")
    if immutable:
        subprocess.run(["chattr", "+i", str(locked)], check=True)
    before = tree(project.path)
    try:
        done = project.run(*args)
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert says.format(project=project.path) in done.stderr and "Traceback" not in done.stderr
    assert tree(project.path) == before  # nothing half-written
    assert not Path("/proc/djsupervisor-export").exists()


ODD = """
[program:dump]
command=sh -c 'sleep 1000; echo dump-$(date +%F).json 100%%'
environment=STAMP="%%Y 50%"
{names}
"""
ODD_NAMES = "".join(
    f"[program:{name}]\ncommand=sleep 1000\n" for name in ("a$b", "c'd", "e_f", "e.f")
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_literal_percent_exports_valid_files(project: Project, fmt: str) -> None:
    project.write("supervisord.conf", ODD.format(names=""))
    output = project.path.parent / "out"
    done = project.run("export", fmt, "--output", str(output))
    assert done.returncode == 0, done.stderr
    validate(fmt, output)
    # systemd's ExecStart= says a '%' as '%%'.
    assert re.search(r"date \+%%?F", "".join(path.read_text() for path in output.iterdir()))


@pytest.mark.parametrize("fmt", FORMATS)
def test_odd_program_names_export_valid_files(project: Project, fmt: str) -> None:
    project.write("supervisord.conf", ODD.format(names=ODD_NAMES))
    output = project.path.parent / "out"
    done = project.run("export", fmt, "--output", str(output))
    assert done.returncode == 0, done.stderr
    validate(fmt, output)
    assert "program 'a$b' is named " in done.stderr


def example_export(project: Project, fmt: str, secret: bool = False) -> Path:
    """Export the example project (in production: gunicorn, no autoreload) to a new directory."""
    shutil.rmtree(project.path)
    shutil.copytree(
        REPO / "example_project", project.path, ignore=shutil.ignore_patterns("*.sqlite3")
    )
    project.env["DJANGO_DEBUG"] = "0"
    if secret:
        project.write(".env", f"DJANGO_SECRET_KEY={SECRET}\n")  # as in production
    output = project.path.parent / f"example-{fmt}"
    done = project.run("export", fmt, "--output", str(output), "--name", "mysite")
    assert done.returncode == 0, done.stderr
    return output


@pytest.mark.smoke
@pytest.mark.parametrize("fmt", FORMATS)
def test_the_example_project_exports_valid_files(project: Project, fmt: str) -> None:
    pytest.importorskip("django_tasks_db", reason="the example needs the [example] extra")
    output = example_export(project, fmt, secret=True)
    validate(fmt, output)
    assert_secret_only_in_env_files(fmt, output)


@pytest.mark.smoke
def test_deploy_holds_the_example_projects_systemd_export(project: Project) -> None:
    pytest.importorskip("django_tasks_db", reason="the example needs the [example] extra")
    output = example_export(project, "systemd")
    exported = {
        path.name: path.read_text()
        .replace(str(output), f"{PLACEHOLDER_DIR}/deploy/systemd")
        .replace(sys.executable, PLACEHOLDER_PYTHON)
        .replace(str(project.path), PLACEHOLDER_DIR)
        for path in output.iterdir()
    }
    if os.environ.get("DJSUPERVISOR_REGENERATE"):
        for path in DEPLOY.iterdir():
            path.unlink()
        for name, text in exported.items():
            (DEPLOY / name).write_text(text)
    shipped = {path.name: path.read_text() for path in DEPLOY.iterdir()}
    assert shipped == exported, (
        "deploy/systemd differs from the export: regenerate it with "
        "DJSUPERVISOR_REGENERATE=1 pytest tests/integration/test_export.py -k deploy"
    )
