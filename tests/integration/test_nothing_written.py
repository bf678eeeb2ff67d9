"""Commands that only read the config leave the disk as they found it."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from .conftest import Project

pytestmark = pytest.mark.integration


CONF = """
[program:web]
command=sleep 1000

[program:nginx]
command=nginx -c {{ "n.conf"|templated }}
"""


def tree(path: Path) -> set[Path]:
    return set(path.rglob("*"))


@pytest.mark.smoke
def test_getconfig_check_and_status_create_nothing(project: Project) -> None:
    project.write("supervisord.conf", CONF)
    project.write("n.conf", "root {{ PROJECT_DIR }};")
    with tempfile.TemporaryDirectory(prefix="djs-") as scratch:
        base = Path(scratch) / "fresh"  # a runtime base nobody has used
        project.add_settings(f"SUPERVISOR_RUNTIME_DIR = {str(base)!r}\nDEBUG = True\n")
        project.env["PYTHONDONTWRITEBYTECODE"] = "1"  # Python's own caches are not ours
        before = tree(project.path)
        getconfig = project.run("getconfig")
        assert getconfig.returncode == 0, getconfig.stderr
        assert str(base) in getconfig.stdout  # the paths it will use, named only
        check = project.run_manage("check")
        assert check.returncode == 0, check.stderr
        status = project.run("status")
        assert status.returncode == 1
        assert "supervisord is not running for this project" in status.stderr
        assert not base.exists()
        assert tree(project.path) == before
