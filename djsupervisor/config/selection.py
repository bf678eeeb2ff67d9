"""``--only PROG``: run the named programs and what they depend on, as ``docker compose up``."""

from __future__ import annotations

from collections.abc import Collection

from ..errors import ConfigError
from .dependencies import parse_depends_on, program_origin
from .merge import Merged, drop_programs, process_sections


def select_programs(merged: Merged, only: Collection[str]) -> None:
    """Leave out every program but ``only`` and the programs they depend on, transitively.

    djsupervisor's own programs (autoreload) stay. A named program that was
    left out (``-x``, ``exclude=true``) is an error: it cannot run.
    """
    if not only:
        return
    for name in only:
        if name in merged.excluded:
            raise ConfigError(
                f"--only {name}: {name} is left out ({merged.excluded[name]}); "
                f"keep it with -i {name}, or drop --only {name}"
            )
    depends_on = {
        name: [
            dependency
            for dependency, _ in parse_depends_on(
                merged.own[name].get("depends_on", ""), program_origin(merged, section, name)
            )
        ]
        for section, name in process_sections(merged.sections)
    }
    selected: set[str] = set()
    pending = list(only)
    while pending:
        name = pending.pop()
        if name not in selected:
            selected.add(name)
            pending += depends_on.get(name, [])  # an unknown name: build_graph says so
    reason = "not needed by " + " ".join(f"--only {name}" for name in only)
    drop_programs(
        merged,
        {name: reason for name in depends_on if name not in selected | merged.internal},
    )
