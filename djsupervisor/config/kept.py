"""The options a running supervisord's config was rendered with, kept for ``reload``.

``reload``, ``reread`` and ``update`` (and the shell's) render the config
anew from the current files. They start from the options kept in the runtime
directory when the config was last written, so that a plain ``reload`` keeps
the start's ``--pidfile``, ``-x worker`` or ``--noreload``; an option given
to the rebuilding command itself takes the kept one's place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError
from ..options import PROGRAM_FLAGS, Options
from ..runtime import RuntimeDir, write_private
from .discovery import absolute

Built = TypeVar("Built")
DEFAULTS = Options()
# Paths a later command, run from another directory, must read alike.
PATH_OPTIONS = ("project_dir", "pidfile", "logfile")


def resolve(options: Options) -> Options:
    """Return ``options`` with their paths made absolute, as of the current directory."""
    paths: dict[str, Any] = {
        name: str(absolute(Path(value)))
        for name in PATH_OPTIONS
        if (value := getattr(options, name))
    }
    return replace(options, **paths)


def merge(kept: Options, given: Options) -> Options:
    """Return the ``kept`` options, each replaced by ``given``'s if the command line gave it.

    An option takes its place whole: after a start with ``-x worker``,
    ``reload -x beat`` excludes ``beat`` alone, and ``worker`` comes back.
    ``--daemonize`` is never kept: a rebuild does not start supervisord.
    """
    given_now = {
        field.name: value
        for field in fields(Options)
        if (value := getattr(given, field.name)) != getattr(DEFAULTS, field.name)
    }
    return replace(kept, **{**given_now, "daemonize": given.daemonize})


def store(runtime: RuntimeDir, options: Options) -> None:
    """Keep ``options``, the ones the config just written was rendered with, for a rebuild."""
    kept = resolve(replace(options, daemonize=False))
    values = {
        field.name: list(value) if isinstance(value := getattr(kept, field.name), tuple) else value
        for field in fields(Options)
        if field.name != "daemonize"
    }
    write_private(runtime.options, json.dumps(values, indent=2) + "\n")


def load(runtime: RuntimeDir) -> Options | None:
    """Return the kept options, or None if none were kept (a supervisord of an older version)."""
    try:
        text = runtime.options.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return _parse(json.loads(text))
    except ValueError as exc:
        raise ConfigError(
            f"{runtime.options} does not hold the options supervisord was started with "
            f"({exc}); delete it, and give this command the options of the start"
        ) from None


def _parse(data: Any) -> Options:
    """Return the options in ``data``, a decoded options file; raise ValueError if not one."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    values: dict[str, Any] = {}
    for field in fields(Options):
        if field.name not in data or field.name == "daemonize":
            continue  # a name a later version added or dropped: its default
        value, default = data[field.name], getattr(DEFAULTS, field.name)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"{field.name} is not a list of program names")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"{field.name} is not true or false")
        elif value is not None and not isinstance(value, str):
            raise ValueError(f"{field.name} is not a path")
        values[field.name] = value
    return Options(**values)


def rebuild(given: Options, runtime: RuntimeDir, build: Callable[[Options], Built]) -> Built:
    """Build the running supervisord's config anew with the kept options and ``given``.

    ``build`` renders a config for options (config.build.build). Without kept
    options (supervisord was started by an older version), ``given`` alone.
    """
    kept = load(runtime)
    if kept is None:
        return build(given)
    try:
        return build(resolve(merge(kept, given)))
    except ConfigError as exc:
        note = _kept_note(str(exc), kept, given)
        if not note:
            raise
        raise ConfigError(f"{exc}{note}") from None


def _kept_note(message: str, kept: Options, given: Options) -> str:
    """Say so when ``message`` is about a program a kept option names (it left the files)."""
    for _short, name, _help in PROGRAM_FLAGS:
        if getattr(kept, name) and not getattr(given, name) and message.startswith(f"--{name} "):
            flags = " ".join(f"--{name} {program}" for program in getattr(kept, name))
            return (
                f"; {flags} is kept from supervisord's start: give this command the "
                f"--{name} options wanted now, or shut supervisord down and start it again"
            )
    return ""
