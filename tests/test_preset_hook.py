"""The core knows no preset: the presets use the public hook, djsupervisor.presets, and only it.

A third-party app ships a preset the way djsupervisor's own do
(docs/presets/index.rst); these tests keep djsupervisor's own honest.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import djsupervisor

PACKAGE = Path(djsupervisor.__file__).parent
CONTRIB = PACKAGE / "contrib"
HOOK = "djsupervisor.presets"

# Import the core's modules as manage.py check and supervisor do, run the
# checks that see the presets, and list the djsupervisor.contrib modules
# loaded. INSTALLED_APPS is the first argument, as JSON.
LOADER = """
import json, sys, tempfile
from pathlib import Path

import django
from django.conf import settings

settings.configure(INSTALLED_APPS=json.loads(sys.argv[1]), DATABASES={})
django.setup()

import djsupervisor.checks, djsupervisor.conf, djsupervisor.config.build
from djsupervisor.options import Options

project = Path(tempfile.mkdtemp())
(project / "manage.py").write_text("")
(project / "supervisord.conf").write_text("[program:web]\\ncommand=run\\n")
config = djsupervisor.config.build.build(Options(project_dir=str(project), noreload=True))
list(djsupervisor.checks.setting_errors())
djsupervisor.checks.config_messages(config.merged.sections)
print(json.dumps(sorted(name for name in sys.modules if name.startswith("djsupervisor.contrib"))))
"""


def contrib_modules_loaded(installed: list[str]) -> list[str]:
    """Return the ``djsupervisor.contrib`` modules the core loads with ``installed`` apps."""
    loaded = subprocess.run(
        [sys.executable, "-c", LOADER, json.dumps(installed)],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
    )
    assert loaded.returncode == 0, loaded.stderr
    names: list[str] = json.loads(loaded.stdout)
    return names


def test_the_core_loads_no_preset_unless_one_is_installed() -> None:
    assert contrib_modules_loaded(["djsupervisor", "tests.apps.alpha"]) == []
    installed = contrib_modules_loaded(["djsupervisor", "djsupervisor.contrib.huey"])
    assert "djsupervisor.contrib.huey.apps" in installed  # what the test would see


def imported(path: Path) -> set[str]:
    """Return the modules ``path`` imports, anywhere in it, as absolute names."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    else:
        package = package.removesuffix(".__init__")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join([*base, node.module or ""] if node.level else [node.module or ""])
            found |= {f"{target.rstrip('.')}.{alias.name}" for alias in node.names}
    return found


def test_the_core_imports_no_preset() -> None:
    core = [path for path in PACKAGE.rglob("*.py") if CONTRIB not in path.parents]
    found = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in imported(path) if name.startswith("djsupervisor.contrib")
        )
        for path in core
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_the_presets_use_only_the_public_hook() -> None:
    found = {
        str(path.relative_to(PACKAGE)): sorted(
            name
            for name in imported(path)
            if name.startswith("djsupervisor.")
            and not name.startswith(("djsupervisor.contrib", f"{HOOK}."))
            and name != HOOK
        )
        for path in CONTRIB.rglob("*.py")
    }
    assert {path: names for path, names in found.items() if names} == {}
