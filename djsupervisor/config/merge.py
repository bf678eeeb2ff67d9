"""Merge config layers and apply djsupervisor's program rules (docs/configuration.rst)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import CommandLineError, ConfigError, MissingCommandError
from ..options import AUTORELOAD, Options
from .ini import Sections
from .program_options import OWN_OPTIONS, ProgramOptions, read_options

PROCESS_KINDS = ("program", "fcgi-program", "eventlistener")
DEFAULTS = "program:__defaults__"
OVERRIDES = "program:__overrides__"
# What --exclude and --nolaunch set to turn a program off.
OFF = {"exclude": "true", "autostart": "false"}


@dataclass
class Layer:
    """The sections of one source, and where they came from (for error messages).

    An ``internal`` layer is djsupervisor's own: its programs (autoreload) get
    its own ``__defaults__`` only, never the user's defaults or overrides,
    which are meant for the project's programs.
    """

    sections: Sections
    origin: str
    internal: bool = False


@dataclass
class Merged:
    """The merged config: supervisord's sections plus djsupervisor's own options."""

    sections: Sections
    # program -> its own options (OWN_OPTIONS), read: supervisord never sees them
    options: dict[str, ProgramOptions] = field(default_factory=dict)
    origins: dict[str, list[str]] = field(default_factory=dict)  # section -> sources
    internal: set[str] = field(default_factory=set)  # djsupervisor's own programs
    internal_defaults: dict[str, str] = field(default_factory=dict)
    # program -> how it was left out ('-x migrate', 'exclude=true'), to explain a
    # dependency on it
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def own(self) -> dict[str, dict[str, str]]:
        """Return each program's own options as written (one spelling per boolean), to show."""
        return {name: dict(options.written) for name, options in self.options.items()}

    @property
    def programs(self) -> list[str]:
        """Return the names of the process sections, in config order."""
        return [name for _, name in process_sections(self.sections)]


def process_sections(sections: Iterable[str]) -> list[tuple[str, str]]:
    """Return (section, program name) for every program-like section."""
    found = []
    for section in sections:
        kind, _, name = section.partition(":")
        if kind in PROCESS_KINDS and name and section not in (DEFAULTS, OVERRIDES):
            found.append((section, name))
    return found


def merge_layers(layers: Iterable[Layer]) -> Merged:
    """Merge ``layers`` in order, option by option: later layers win."""
    merged = Merged(sections={})
    for layer in layers:
        for section, options in layer.sections.items():
            merged.sections.setdefault(section, {}).update(options)
            merged.origins.setdefault(section, []).append(layer.origin)
        if layer.internal:
            merged.internal_defaults.update(layer.sections.get(DEFAULTS, {}))
            merged.internal.update(name for _, name in process_sections(layer.sections))
    return merged


def apply_program_rules(merged: Merged, options: Options) -> Merged:
    """Apply __defaults__, __overrides__, the selection options and ``exclude``.

    Each program's own options (OWN_OPTIONS) leave its section and are read,
    once, into ``Merged.options``: a wrong value is an error here.

    The command line beats ``__overrides__``: a flag typed now is the most
    specific wish there is.
    """
    sections = dict(merged.sections)
    defaults = sections.pop(DEFAULTS, {})
    overrides = sections.pop(OVERRIDES, {})
    _refuse_nameless(sections, merged.origins)
    by_name = {name: section for section, name in process_sections(sections)}
    for name, section in by_name.items():
        if name in merged.internal:
            sections[section] = {**merged.internal_defaults, **sections[section]}
        else:
            sections[section] = {**defaults, **sections[section], **overrides}

    for flag, names, key, value in (
        ("--launch", options.launch, "autostart", "true"),
        ("--nolaunch", options.nolaunch, "autostart", "false"),
        ("--exclude", options.exclude, "exclude", "true"),
        ("--include", options.include, "exclude", "false"),
    ):
        for name in names:
            if name == AUTORELOAD and name not in by_name and value == OFF.get(key):
                # Off already (no debug mode, --noreload): django-supervisor's
                # scripts said -x autoreload outside debug mode too.
                continue
            sections[_known(name, by_name, flag)][key] = value
    for flag, names in (("--autoreload", options.autoreload), ("--only", options.only)):
        for name in names:
            _known(name, by_name, flag)

    # djsupervisor's own options, out of supervisord's sight, read once into values
    programs = {
        name: read_options(
            {k: sections[section].pop(k) for k in OWN_OPTIONS if k in sections[section]},
            name,
            f"program {name!r} (from {', '.join(merged.origins[section])})",
        )
        for name, section in by_name.items()
    }
    result = Merged(
        sections=sections,
        options=programs,
        origins=merged.origins,
        internal=merged.internal,
        internal_defaults=merged.internal_defaults,
    )
    drop_programs(
        result,
        {
            name: f"-x {name}" if name in options.exclude else "exclude=true"
            for name in by_name
            if programs[name].exclude
        },
    )
    for name, section in by_name.items():
        if name not in result.excluded:
            _check_command(name, section, sections[section].get("command", ""), merged.origins)
    return result


def drop_programs(merged: Merged, excluded: dict[str, str]) -> None:
    """Leave out the programs ``excluded`` names, each with how it was left out."""
    for section, name in process_sections(list(merged.sections)):
        if name in excluded:
            del merged.sections[section]
            del merged.options[name]
    merged.excluded.update(excluded)
    _drop_from_groups(merged.sections, set(excluded))


def _refuse_nameless(sections: Sections, origins: dict[str, list[str]]) -> None:
    for section in sections:
        kind, colon, name = section.partition(":")
        if kind in PROCESS_KINDS and colon and not name.strip():
            raise ConfigError(
                f"[{section}] (from {', '.join(origins[section])}) has no name; write [{kind}:NAME]"
            )


def _check_command(name: str, section: str, command: str, origins: dict[str, list[str]]) -> None:
    """Refuse a command supervisord could not run: missing, or not a command line."""
    where = f"program {name!r} (from {', '.join(origins[section])})"
    if not command.strip():
        raise MissingCommandError(
            f"program {name!r} has no command (from {', '.join(origins[section])}); "
            f"add 'command=...' to [{section}] or set exclude=true"
        )
    if "\0" in command:
        raise CommandLineError(f"{where}: command contains a NUL byte")
    try:
        shlex.split(command)
    except ValueError as exc:
        raise CommandLineError(
            f"{where}: command cannot be split into words ({exc}): {command!r}; "
            "quote paths with spaces or quotes in them"
        ) from None


def _known(name: str, by_name: dict[str, str], flag: str) -> str:
    if name not in by_name:
        known = ", ".join(sorted(by_name)) or "none"
        raise ConfigError(f"{flag} {name}: no such program (programs: {known})")
    return by_name[name]


def _drop_from_groups(sections: Sections, excluded: set[str]) -> None:
    """Remove excluded programs from ``[group:x]`` lists, and emptied groups."""
    for section in [s for s in sections if s.startswith("group:")]:
        members = [p.strip() for p in sections[section].get("programs", "").split(",")]
        kept = [p for p in members if p and p not in excluded]
        if len(kept) == len([p for p in members if p]):
            continue  # untouched: supervisord judges the group as the user wrote it
        if kept:
            sections[section]["programs"] = ",".join(kept)
        else:
            del sections[section]
