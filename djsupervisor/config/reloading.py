"""Which programs a code change reloads, and on which files: autoreload's part of the graph.

A program takes part unless it says ``autoreload=false`` (a one-shot only if
it says ``autoreload=true``); naming programs with ``--autoreload`` narrows
the set to them. Each reloads on the files its ``autoreload_patterns``
match (by default the SUPERVISOR_AUTORELOAD_PATTERNS setting's) and, unless
it names its own patterns or is a one-shot, on any file of Django's template
directories, as runserver's reloader does: the cached template loader keeps
an edited template unseen until the process restarts.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path

from ..client import Client
from ..conf import ProjectSettings
from ..graph import Graph
from ..runtime import RuntimeDir, write_private
from .merge import Merged
from .program_options import ProgramOptions


def apply_reload_rules(
    graph: Graph, merged: Merged, only: Collection[str], default_patterns: Sequence[str]
) -> None:
    """Record in ``graph`` which programs a code change reloads, how, and on what.

    Nothing reloads unless the autoreload program runs (``graph.debug``).
    """
    for name, program in graph.programs.items():
        options = merged.options.get(name, ProgramOptions())
        if only:
            program.reload = name in only
        elif program.oneshot:
            program.reload = options.autoreload is True
        else:
            program.reload = options.autoreload is not False
        program.reload = program.reload and graph.debug and name not in merged.internal
        program.reload_signal = options.autoreload_signal
        if options.autoreload_patterns is not None:
            program.reload_patterns = list(options.autoreload_patterns)
        else:
            program.reload_patterns = list(default_patterns)
            program.reload_templates = not program.oneshot


def watched_patterns(graph: Graph) -> tuple[list[str], bool]:
    """Return the patterns of every program a change reloads, and whether templates count."""
    reloading = [program for program in graph.programs.values() if program.reload]
    patterns = [pattern for program in reloading for pattern in program.reload_patterns]
    return list(dict.fromkeys(patterns)), any(program.reload_templates for program in reloading)


PLAN_FILE = "autoreload.json"  # in the runtime directory


def watching_plan(project_dir: Path, graph: Graph, project: ProjectSettings) -> dict[str, object]:
    """Return what the autoreload program watches (its plan, less how to reach supervisord).

    The project directory, every installed app's, SUPERVISOR_AUTORELOAD_DIRS
    (relative to the project directory) and, when templates count, Django's
    template directories: the watcher leaves out those that are missing, nested
    or installed packages. The watcher reads the plan as autoreload/plan.py's
    ``Plan`` (which config does not import: autoreload depends on config's
    side, not the other way).
    """
    patterns, templates = watched_patterns(graph)
    template_dirs = project.template_dirs() if templates else []
    dirs = [project_dir, *project.app_dirs]
    dirs += [project_dir / extra for extra in project.autoreload_dirs]
    return {
        "project_dir": str(project_dir),
        "dirs": [str(path) for path in [*dirs, *template_dirs]],
        "patterns": patterns,
        "ignore": list(project.autoreload_ignore_patterns),
        "templates": templates,
        "template_dirs": [str(path) for path in template_dirs],
    }


def autoreload_plan(watching: dict[str, object], client: Client) -> dict[str, object]:
    """Return the autoreload program's plan: what it watches, and how it reaches supervisord."""
    credentials = {"url": client.url, "username": client.username, "password": client.password}
    return {**watching, "supervisord": credentials}


PLAN_FILE = "autoreload.json"  # in the runtime directory


def plan_path(runtime: RuntimeDir) -> Path:
    """Return where the autoreload program's plan lives: the runtime directory."""
    return runtime.path / PLAN_FILE


def write_autoreload_plan(runtime: RuntimeDir, watching: dict[str, object], client: Client) -> None:
    """Write the autoreload program's plan if it runs (``watching``); else remove an old one.

    Readable by the owner only: it holds the control socket's password.
    """
    path = plan_path(runtime)
    if watching:
        plan = autoreload_plan(watching, client)
        write_private(path, json.dumps(plan, indent=2) + "\n")
    else:
        path.unlink(missing_ok=True)
