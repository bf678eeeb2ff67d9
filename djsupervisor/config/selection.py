"""``--only PROG``: run the named programs and what they depend on, as ``docker compose up``."""

from __future__ import annotations

from ..errors import ConfigError, DependencyError
from ..options import Options
from .dependencies import keep_fix, left_out
from .merge import Merged, drop_programs, process_sections

# The options that act on a program, so name one --only leaves out in vain.
ACTING_FLAGS = (("--launch", "launch"), ("--nolaunch", "nolaunch"), ("--autoreload", "autoreload"))


def select_programs(merged: Merged, options: Options) -> None:
    """Leave out every program but ``options.only`` and the programs they depend on, transitively.

    djsupervisor's own programs (autoreload) stay. A named program that was
    left out (``-x``, ``exclude=true``) is an error: it cannot run. So is a
    program the selection needs that was left out, and a program that
    ``--launch``, ``--nolaunch`` or ``--autoreload`` names but the selection
    leaves out: the flag could not have any effect.
    """
    _check_left_out_flags(merged, options)
    only = options.only
    if not only:
        return
    for name in only:
        if name in merged.excluded:
            raise ConfigError(
                f"--only {name}: {name} is left out ({merged.excluded[name]}); "
                f"keep it with -i {name}, or drop --only {name}"
            )
    depends_on = {
        name: merged.options[name].dependencies for _, name in process_sections(merged.sections)
    }
    selected: set[str] = set()
    pending = list(only)
    while pending:
        name = pending.pop()
        if name not in selected:
            selected.add(name)
            pending += depends_on.get(name, [])  # an unknown name: build_graph says so
    _check_needed(merged, depends_on, selected, only)
    _check_flags(merged, options, selected)
    reason = "not needed by " + " ".join(f"--only {name}" for name in only)
    drop_programs(
        merged,
        {name: reason for name in depends_on if name not in selected | merged.internal},
    )


def _check_needed(
    merged: Merged, depends_on: dict[str, list[str]], selected: set[str], only: tuple[str, ...]
) -> None:
    """Refuse a left-out program that a selected one depends on, with a fix that keeps --only.

    build_graph would refuse it too, but suggest leaving out the dependents,
    which --only names or needs.
    """
    running = {name: needs for name, needs in depends_on.items() if name in selected}
    for needs in running.values():
        for dependency in needs:
            if dependency in merged.excluded:
                raise DependencyError(
                    left_out(running, dependency, merged.excluded[dependency], only)
                )


def _check_left_out_flags(merged: Merged, options: Options) -> None:
    """Refuse ``--launch``/``--nolaunch``/``--autoreload`` for a program left out (-x, exclude)."""
    for flag, field in ACTING_FLAGS:
        for name in getattr(options, field):
            if name in merged.excluded and name not in merged.internal:
                also = f" and add --only {name}" if options.only else ""
                raise ConfigError(
                    f"{flag} {name}: {name} is left out ({merged.excluded[name]}); "
                    f"{keep_fix(name, merged.excluded[name])}{also}, or drop {flag} {name}"
                )


def _check_flags(merged: Merged, options: Options, selected: set[str]) -> None:
    """Refuse ``--launch``/``--nolaunch``/``--autoreload`` for a program --only leaves out."""
    running_with = " ".join(f"--only {name}" for name in options.only)
    for flag, field in ACTING_FLAGS:
        for name in getattr(options, field):
            if name in selected or name in merged.internal:
                continue
            raise ConfigError(
                f"{flag} {name}: {name} does not run with {running_with}; "
                f"add --only {name}, or drop {flag} {name}"
            )
