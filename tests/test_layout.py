"""The layout's rules: no Django inside supervisord, lean helpers, no cycle between packages.

docs/how-it-works.rst draws the packages and the process each runs in.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

import djsupervisor
import djsupervisor.inside

PACKAGE = Path(djsupervisor.__file__).parent
# What the code inside supervisord may use of djsupervisor: the shared
# vocabulary and values, all standard library.
SHARED = {
    *("protocol", "journal", "proctable", "runtime", "graph", "patterns", "clock", "errors"),
    "schedules",
}


def loaded_by(modules: list[str]) -> list[str]:
    """Return the modules a fresh Python has loaded once it has imported ``modules``."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import importlib, json, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    names: list[str] = json.loads(loaded.stdout)
    return names


def test_the_code_inside_supervisord_loads_no_django() -> None:
    names = loaded_by(
        [
            f"djsupervisor.inside.{info.name}"
            for info in pkgutil.iter_modules(djsupervisor.inside.__path__)
        ]
    )
    assert "djsupervisor.inside.rpcinterface" in names  # the factory supervisord loads
    assert [name for name in names if name.split(".")[0] == "django"] == []
    ours = {name.split(".")[1] for name in names if name.startswith("djsupervisor.")}
    assert ours <= SHARED | {"inside"}, ours - SHARED


def test_supervisord_loads_no_module_its_start_does_not_use() -> None:
    """Loaded where used: the parent-death signal, a listen= socket, exec and http checks."""
    # What supervisor loads itself is not djsupervisor's to spare (on Python
    # 3.10, its use of platform loads subprocess).
    supervisors = set(loaded_by(["supervisor.supervisord"]))
    names = set(loaded_by(["djsupervisor.inside.__main__"]))  # as the command starts it
    assert "djsupervisor.inside.rpcinterface" in names
    assert (names - supervisors) & {"ctypes", "subprocess", "urllib.request"} == set()


@pytest.mark.parametrize(
    "program",
    [
        "djsupervisor.control.__main__",  # the console: the client to stop supervisord
        "djsupervisor.autoreload.__main__",  # the watcher: the client with the first change
    ],
)
def test_the_console_and_the_watcher_load_no_django_and_no_xmlrpc_client(program: str) -> None:
    names = loaded_by([program])
    assert [name for name in names if name.split(".")[0] in ("django", "xmlrpc")] == []
    assert "djsupervisor.client" not in names


def unit(module: str) -> str:
    """Return what the import rules are about: a subpackage, or a top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "djsupervisor"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """Return the djsupervisor modules ``path`` imports when it runs (not for type checking)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for branch in ast.walk(tree)
        if isinstance(branch, ast.If) and "TYPE_CHECKING" in ast.unparse(branch.test)
        for statement in branch.body
        for node in ast.walk(statement)
    }
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = (
                package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            )
            target = ".".join([*base, node.module] if node.module else base)
            submodules = {f"{target}.{alias.name}" for alias in node.names} & modules
            found |= submodules or ({target} & modules)
    return found


def test_packages_import_each_other_in_one_direction() -> None:
    paths = [path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts]
    modules = {module_name(path) for path in paths}
    edges: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        source = unit(module_name(path))
        edges[source] |= {unit(m) for m in runtime_imports(path, modules)} - {source}
    cycles = [sorted(component) for component in strongly_connected(edges) if len(component) > 1]
    assert cycles == [], {name: sorted(edges[name]) for cycle in cycles for name in cycle}


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Return the strongly connected components of the graph (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            found.append(component)

    for node in list(edges):
        if node not in index:
            visit(node)
    return found
