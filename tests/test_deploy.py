"""The systemd units the production docs show are the files shipped in deploy/, and valid."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNITS = sorted((REPO / "deploy" / "systemd").glob("*.service"))
PLACEHOLDER_DIR = "/srv/mysite"  # the project directory the units assume
PLACEHOLDER_PYTHON = f"{PLACEHOLDER_DIR}/.venv/bin/python"


def test_docs_show_the_shipped_units() -> None:
    production = (REPO / "docs" / "production.rst").read_text()
    included = re.findall(r"^\.\. literalinclude:: (\S+\.service)$", production, re.MULTILINE)
    assert sorted((REPO / "docs" / path).resolve() for path in included) == UNITS
    assert len(UNITS) == 2


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
@pytest.mark.parametrize("unit", UNITS, ids=lambda path: path.name)
def test_systemd_accepts_the_unit(unit: Path, tmp_path: Path) -> None:
    # systemd-analyze checks that ExecStart's program exists: point the
    # placeholders at this interpreter and a project directory that exists.
    project = tmp_path / "mysite"
    project.mkdir()
    (project / "manage.py").write_text("")
    text = unit.read_text()
    assert PLACEHOLDER_PYTHON in text
    text = text.replace(PLACEHOLDER_PYTHON, sys.executable).replace(PLACEHOLDER_DIR, str(project))
    checked = tmp_path / unit.name
    checked.write_text(text)
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(checked)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
