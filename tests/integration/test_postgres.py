"""The Django recipe with a real PostgreSQL: the database, then migrate, then the web server."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..needs import require
from ..support import WAIT, free_port, http_get
from .conftest import Project

pytestmark = pytest.mark.integration
psycopg = pytest.importorskip("psycopg", reason="needs psycopg (pip install psycopg[binary])")
SERVERS = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres")) or list(
    filter(None, [shutil.which("postgres")])
)
require(SERVERS, "PostgreSQL's server (postgres, initdb)")
BIN = Path(SERVERS[-1]).parent
AS_ROOT = os.getuid() == 0  # PostgreSQL refuses to run as root: then as its own user


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Return a new, initialised PostgreSQL data directory (trusting local connections)."""
    top = Path(tempfile.mkdtemp(prefix="djs-pg-"))
    data = top / "data"
    data.mkdir(mode=0o700)
    initdb = [str(BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"]
    if AS_ROOT:
        shutil.chown(data, "postgres", "postgres")
        top.chmod(0o755)
        initdb = ["runuser", "-u", "postgres", "--", *initdb]
    done = subprocess.run(initdb, capture_output=True, text=True, timeout=WAIT * 4, cwd=top)
    assert done.returncode == 0, done.stderr
    yield data
    shutil.rmtree(top, ignore_errors=True)


def test_migrate_runs_once_postgres_is_ready_then_web_starts(
    project: Project, data_dir: Path
) -> None:
    db_port, web_port = free_port(), free_port()
    project.add_settings(
        f"""
INSTALLED_APPS += ["django.contrib.contenttypes", "django.contrib.auth"]
DATABASES = {{
    "default": {{
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": {db_port},
        "NAME": "postgres",
        "USER": "postgres",
    }}
}}
"""
    )
    user = "user=postgres\n" if AS_ROOT else ""
    project.write(
        "supervisord.conf",
        f"""
[program:db]
command={BIN / "postgres"} -D {data_dir} -p {db_port} -k {data_dir} -c listen_addresses=127.0.0.1
directory={data_dir}
{user}ready=exec:{BIN / "pg_isready"} -h 127.0.0.1 -p {db_port}
stopsignal=INT

[program:migrate]
command={{{{ PYTHON }}}} manage.py migrate --noinput
oneshot=true
depends_on=db:ready

[program:web]
command={{{{ PYTHON }}}} manage.py runserver --noreload 127.0.0.1:{web_port}
ready=http://127.0.0.1:{web_port}/
depends_on=migrate:done
""",
    )
    started = project.run("-d", timeout=WAIT * 4)
    assert started.returncode == 0, started.stderr
    status = project.run("status").stdout
    assert "migrate" in status and "done" in status
    with psycopg.connect(host="127.0.0.1", port=db_port, user="postgres", dbname="postgres") as db:
        applied = db.execute("select count(*) from django_migrations").fetchone()
    assert applied is not None and applied[0] > 0
    assert http_get(web_port) == "hello from djsupervisor"
    assert project.run("shutdown").returncode == 0
