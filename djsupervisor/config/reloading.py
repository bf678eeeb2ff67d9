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

from collections.abc import Collection, Sequence

from ..errors import OptionError
from ..graph import Graph
from ..patterns import split
from .merge import Merged


def apply_reload_rules(
    graph: Graph, merged: Merged, only: Collection[str], default_patterns: Sequence[str]
) -> None:
    """Record in ``graph`` which programs a code change reloads, how, and on what.

    Nothing reloads unless the autoreload program runs (``graph.debug``).
    """
    for name, program in graph.programs.items():
        own = merged.own.get(name, {})
        if only:
            program.reload = name in only
        elif program.oneshot:
            program.reload = own.get("autoreload") == "true"
        else:
            program.reload = own.get("autoreload", "true") != "false"
        program.reload = program.reload and graph.debug and name not in merged.internal
        program.reload_signal = own.get("autoreload_signal")
        if "autoreload_patterns" in own:
            program.reload_patterns = split(own["autoreload_patterns"])
            if not program.reload_patterns:
                raise OptionError(
                    f"program {name!r}: autoreload_patterns is empty; give glob patterns "
                    "such as '*.py' or '*/migrations/*.py', or set autoreload=false"
                )
        else:
            program.reload_patterns = list(default_patterns)
            program.reload_templates = not program.oneshot


def watched_patterns(graph: Graph) -> tuple[list[str], bool]:
    """Return the patterns of every program a change reloads, and whether templates count."""
    reloading = [program for program in graph.programs.values() if program.reload]
    patterns = [pattern for program in reloading for pattern in program.reload_patterns]
    return list(dict.fromkeys(patterns)), any(program.reload_templates for program in reloading)
