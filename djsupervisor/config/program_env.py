"""One program's working directory and environment, for a command run as it would be (``run``)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from supervisor.datatypes import dict_of_key_value_pairs
from supervisor.options import expand

from ..errors import ConfigError, SupervisorValueError
from .build import Config
from .merge import process_sections


def expansions(program: str, numprocs: int, here: Path, number: object = 0) -> dict[str, object]:
    """Return the ``%(name)s`` values supervisord expands in the options of process ``number``."""
    return {
        **{f"ENV_{key}": value for key, value in os.environ.items()},
        "here": str(here),
        "program_name": program,
        "group_name": program,
        "process_num": number,
        "numprocs": numprocs,
        "host_node_name": socket.gethostname(),
    }


def program_setting(config: Config, program: str) -> tuple[Path, dict[str, str]]:
    """Return the directory and the whole environment supervisord gives ``program``'s processes.

    Its own ``environment=`` is expanded as supervisord expands it, for the
    first process; the environment files' variables are taken as written.
    """
    sections = dict((name, section) for section, name in process_sections(config.merged.sections))
    if program not in sections:
        known = ", ".join(sorted(sections)) or "none"
        raise ConfigError(f"run: no program {program!r} (programs: {known})")
    options = config.merged.sections[sections[program]]
    numprocs = int(options.get("numprocs", "1") or 1)
    names = expansions(program, numprocs, config.project_dir)
    try:
        own = dict_of_key_value_pairs(expand(options.get("environment", ""), names, "environment"))
        directory = expand(options.get("directory", str(config.project_dir)), names, "directory")
    except ValueError as exc:  # what supervisord would refuse to start
        raise SupervisorValueError(f"run: program {program!r}: {exc}") from None
    environment = config.environments.get(sections[program])
    from_files = environment.secrets if environment else {}
    return Path(directory), {**os.environ, **from_files, **own}


def run_as(config: Config, args: list[str]) -> None:
    """Replace this process with ``args``' command, run as the program it names first.

    ``args`` is ``PROG COMMAND [ARGS...]``; the command runs in PROG's
    directory and environment, attached to the terminal, and its exit status
    is the command's.
    """
    if len(args) < 2:
        raise ConfigError("run: give a program and a command, e.g. 'run web python -V'")
    program, *command = args
    directory, environment = program_setting(config, program)
    os.chdir(directory)
    try:
        os.execvpe(command[0], command, environment)
    except OSError as exc:
        raise ConfigError(f"run: {command[0]}: {exc.strerror}") from None
