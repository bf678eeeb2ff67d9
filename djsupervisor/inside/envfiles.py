"""Give supervisord's processes the variables of environment files, exactly as written.

supervisord expands ``%`` in ``environment=`` (``%%``, ``%(ENV_HOME)s``, and a
lone ``%`` is an error) and its ini reader cuts a value at `` ;`` or `` #``:
a value written there would not reach the program as its file says. The
config build writes the variables instead to a private JSON file, which the
config names in ``[rpcinterface:djsupervisor]`` (``environment``), and this
module, inside supervisord, adds them to each process's config:

* when supervisord starts or reloads, from djsupervisor's rpcinterface
  factory, which runs after supervisord has made its process groups and
  before it spawns anything;
* each time ``reread`` or ``update`` reads the config again, before
  supervisord compares it with the running one: a program whose variables
  did not change is not restarted, one whose variables did is.

The file leaves out the keys of a program's own ``environment=``, which win.

This module runs inside supervisord: supervisor and the standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from supervisor.options import make_namespec

OPTION = "environment"  # the option of [rpcinterface:djsupervisor] naming the file
NAMESPACE = "djsupervisor"  # the section's name after 'rpcinterface:'


def dumps(variables: dict[str, dict[str, str]], processes: dict[str, list[str]]) -> str:
    """Return the file's text: each program's ``variables``, and the names of its ``processes``."""
    owners = {
        namespec: program
        for program in variables
        for namespec in processes.get(program) or [program]
    }
    return json.dumps({"programs": variables, "processes": owners})


def load(path: Path) -> dict[str, dict[str, str]]:
    """Return the variables of each process (by 'group:name') the file at ``path`` gives."""
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
        programs = table["programs"]
        return {namespec: programs[program] for namespec, program in table["processes"].items()}
    except OSError as exc:
        raise ValueError(f"djsupervisor: cannot read {path}: {exc.strerror}") from None
    except (ValueError, LookupError, TypeError, AttributeError):
        raise ValueError(f"djsupervisor: {path} is not what djsupervisor wrote") from None


def give(options: Any) -> None:
    """Add the variables to the process configs supervisord's ``options`` read last."""
    path = named_file(options)
    if path is None:
        return
    variables = load(path)
    for group in options.process_group_configs:
        for process in group.process_configs:
            own = variables.get(make_namespec(group.name, process.name))
            if own:
                process.environment = {**(process.environment or {}), **own}


def named_file(options: Any) -> Path | None:
    """Return the file the config supervisord read last names, if any."""
    for name, _factory, extras in options.configroot.supervisord.rpcinterface_factories:
        if name == NAMESPACE and extras.get(OPTION):
            return Path(extras[OPTION])
    return None


def follow(options: Any) -> None:
    """Give the variables again each time supervisord reads its config anew (``reloadConfig``).

    supervisor has no hook there: its ``process_config`` is wrapped, on this
    instance of its options only (a reload makes a new one).
    """
    if not isinstance(options.process_config, _Rereader):  # one call per server section
        options.process_config = _Rereader(options.process_config, options)


class _Rereader:
    """supervisor's ``process_config``, followed by :func:`give`."""

    def __init__(self, read: Callable[..., None], options: Any) -> None:
        self.read = read
        self.options = options

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.read(*args, **kwargs)
        give(self.options)
