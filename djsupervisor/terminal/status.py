"""``status``: supervisorctl's report of the processes, without importing supervisorctl.

``status`` is the command people run most; supervisorctl's import alone adds
about 25 ms to it (bench/control.py). The output and exit status are supervisorctl's own;
``--json`` prints the same processes for scripts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence

from ..graph import UnknownName, resolve_name
from ..protocol import DOWN, ProcessState, Supervisor

MIN_NAME_WIDTH = 30  # characters; supervisorctl pads names to at least this
NAME_GAP = 3  # spaces between the longest name and the state
STATE_WIDTH = 10  # characters
# supervisorctl's exit statuses for status (LSB): some process is not
# running; a name matched nothing.
NOT_RUNNING = 3
UNKNOWN = 4


def status(
    supervisor: Supervisor,
    names: Sequence[str],
    output: Callable[[str], None],
    errors: Callable[[str], None] | None = None,
    programs: Mapping[str, str] | None = None,
) -> int:
    """Print the status of the processes ``names`` (all if none) and return the exit status.

    Unknown names are said to ``errors`` (``output`` if None), as supervisorctl
    says them. With ``programs`` (each process's program, by its name), print a
    JSON array instead of the columns (docs: scripting); the exit status is the same.
    """
    processes = supervisor.process_states()
    matching, unknown = select(processes, names)
    for message in unknown:
        (errors or output)(message)
    if programs is not None:
        now = time.time()
        output(json.dumps([process.as_json(now, programs) for process in matching], indent=2))
    else:
        for line in format_statuses(matching):
            output(line)
    # As in supervisorctl, a stopped process outweighs an unknown name; a
    # one-shot that is done, or a scheduled one between runs, is as it should be.
    if any(p.statename in DOWN and not p.resting for p in matching):
        return NOT_RUNNING
    return UNKNOWN if unknown else 0


def select(
    processes: list[ProcessState], names: Sequence[str]
) -> tuple[list[ProcessState], list[str]]:
    """Return the processes ``names`` ask for, and an error line per name that matched none.

    A name is 'process', 'group:process' or 'group:*', as supervisorctl
    reads it (a bare group name is no process); 'all' or no name means
    every process.
    """
    if not names or "all" in names:
        return processes, []
    by_namespec = {process.namespec: process for process in processes}
    matching: list[ProcessState] = []
    unknown: list[str] = []
    for name in names:
        try:
            matching += [by_namespec[spec] for spec in resolve_name(name, by_namespec)]
        except UnknownName as exc:
            kind, what = ("process", name) if exc.group is None else ("group", exc.group)
            unknown.append(f"{what}: ERROR (no such {kind})")
    return matching, unknown


def format_statuses(processes: list[ProcessState]) -> list[str]:
    """Return supervisorctl's status lines: name, state and description in columns.

    Where djsupervisor has something to say of a process (ready, waiting for a
    dependency, blocked...), it follows in a column of its own.
    """
    width = max([MIN_NAME_WIDTH, *(len(process.namespec) for process in processes)]) + NAME_GAP
    described = max((len(p.description) for p in processes if p.readiness), default=0)
    lines = []
    for process in processes:
        line = f"{process.namespec:<{width}}{process.statename:<{STATE_WIDTH}}{process.description}"
        if process.readiness:
            line = f"{line:<{width + STATE_WIDTH + described + NAME_GAP}}{process.readiness}"
        lines.append(line)
    return lines
