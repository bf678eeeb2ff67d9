"""The systemd units the production docs show are valid units."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .needs import require

REPO = Path(__file__).resolve().parents[1]
PRODUCTION = REPO / "docs" / "production.rst"
PLACEHOLDER_DIR = "/srv/mysite"  # the project directory the units assume
PLACEHOLDER_PYTHON = f"{PLACEHOLDER_DIR}/.venv/bin/python"
INI_BLOCK = re.compile(r"^\.\. code-block:: ini\n\n((?:   .*\n|\n)+)", re.MULTILINE)


def documented_units() -> list[str]:
    """Return the text of every ini block of the production docs that is a service unit."""
    blocks = (
        re.sub(r"^   ", "", block, flags=re.MULTILINE)
        for block in INI_BLOCK.findall(PRODUCTION.read_text())
    )
    return [block.strip() + "\n" for block in blocks if "[Service]" in block]


def test_docs_show_the_foreground_and_the_daemonized_unit() -> None:
    types = [re.search(r"^Type=(\w+)$", unit, re.MULTILINE) for unit in documented_units()]
    assert [match and match.group(1) for match in types] == ["simple", "forking"]


@pytest.mark.parametrize("index", [0, 1], ids=["foreground", "daemonized"])
def test_systemd_accepts_the_unit(index: int, tmp_path: Path) -> None:
    require(shutil.which("systemd-analyze"), "systemd-analyze")
    # systemd-analyze checks that ExecStart's program exists: point the
    # placeholders at this interpreter and a project directory that exists.
    project = tmp_path / "mysite"
    project.mkdir()
    (project / "manage.py").write_text("")
    text = documented_units()[index]
    assert PLACEHOLDER_PYTHON in text
    text = text.replace(PLACEHOLDER_PYTHON, sys.executable).replace(PLACEHOLDER_DIR, str(project))
    checked = tmp_path / "mysite.service"
    checked.write_text(text)
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(checked)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
