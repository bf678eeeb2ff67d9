"""What every export format shares: the files made, the target, names and warnings.

Each format (procfile.py, systemd.py, compose.py, kubernetes.py) turns the
services into the values its templates need (plain data: the templates
only lay them out) and the files to write; an option a format cannot
express becomes a warning naming the program and the option."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .model import Service

SECRET_MODE = 0o600  # environment files: secrets, readable by their owner only
FILE_MODE = 0o644
PROBE_PERIOD = 2  # seconds between a container's readiness checks
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
NAME_ROOM = 63  # characters: Kubernetes' names (DNS labels); the other formats take more


@dataclass
class Export:
    """The files of one format, and what it could not express."""

    files: dict[str, tuple[str, dict[str, Any], int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, path: str, template: str, context: dict[str, Any], mode: int = FILE_MODE) -> None:
        self.files[path] = (template, context, mode)

    def cannot(self, service: Service, option: str, fmt: str, hint: str = "") -> None:
        self.warnings.append(
            f"program {service.name!r}: {option} cannot be expressed in {fmt}"
            + (f"; {hint}" if hint else "")
        )

    def unheld_socket(self, service: Service, fmt: str, hint: str = "") -> None:
        """Warn that ``fmt`` restarts a program with listen= without a socket held for it."""
        if service.listen:
            self.cannot(
                service,
                f"listen={service.listen}",
                fmt,
                "nothing holds its socket while it restarts: connections are refused until it "
                "listens again" + hint,
            )

    def cannot_any(
        self, service: Service, fmt: str, rows: Iterable[tuple[str, object, str]]
    ) -> None:
        """Warn about each (option, used, hint) row whose option the service uses."""
        for option, used, hint in rows:
            if used:
                self.cannot(service, option, fmt, hint)


@dataclass(frozen=True)
class Target:
    """What the user said about the target: the project's name, image, paths there."""

    name: str
    image: str
    workdir: str
    python: str
    output: str  # the output directory, absolute, on this machine
    # Containers: the project directory on this machine when no --image was
    # given (Compose then builds one from it with a Dockerfile on --base-image).
    build: str = ""
    base_image: str = "python:3.12-slim"
    databases: tuple[str, ...] = ()  # SQLite database files, as paths on the target
    project_dir: str = ""  # the project's directory on this machine
    # No --workdir for a Procfile: paths in the project are written relative
    # (to the Procfile's folder, where honcho and foreman run each line).
    relative: bool = False
    # The time zone cron schedules are read in (the project's TIME_ZONE, which
    # Django makes the export's own), where it has a name: 'Europe/Riga'.
    zone: str | None = None

    @property
    def output_there(self) -> str:
        """Return where the target finds the output: below --workdir if it is in the project.

        Host formats name their files (systemd's environment files) by it: a
        project deployed with its ``deploy/`` folder to ``--workdir`` finds
        them there, not at this machine's path.
        """
        output = PurePosixPath(self.output)
        if self.project_dir and output.is_relative_to(self.project_dir):
            return str(PurePosixPath(self.workdir) / output.relative_to(self.project_dir))
        return self.output


def env_lines(values: dict[str, str]) -> str:
    """Return ``values`` as a dotenv file: each value double-quoted, with escapes."""

    def quoted(value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    return "".join(f"{key}={quoted(value)}\n" for key, value in values.items())


def platform_names(
    export: Export,
    services: list[Service],
    fmt: str,
    rule: str,
    valid: Callable[[str], str],
    full: Callable[[str], str] = lambda name: name,
) -> dict[str, str]:
    """Return each program's name as ``fmt`` takes it: valid, unique, the same each time.

    ``valid`` turns ``full(name)`` into a valid name (``rule`` says what is
    valid). A name it changes that then clashes with another program's, or
    that is left empty, gets a suffix made from the program's own name alone;
    each changed name is a warning.
    """
    cleaned = {s.name: valid(full(s.name)) for s in services}
    taken = [name for name in cleaned.values()]
    names = {}
    for service in services:
        name = cleaned[service.name]
        clash = taken.count(name) > 1
        if (name != full(service.name) and clash) or not name.strip("-_."):
            digest = hashlib.sha256(service.name.encode()).hexdigest()[:6]
            name = valid(f"{name[: NAME_ROOM - len(digest) - 1]}-{digest}")
        if name != full(service.name):
            export.warnings.append(
                f"program {service.name!r} is named {name!r} in {fmt}: {rule}"
                + (f", and {cleaned[service.name]!r} was another program's" if clash else "")
            )
        names[service.name] = name
    return names


LOG_HINT = "the output goes to the platform's log"
# Why an option no format says cannot be said, where there is more to it.
UNMAPPED_HINTS = {"priority": "order the start with depends_on", "redirect_stderr": LOG_HINT}


def common_warnings(export: Export, service: Service, fmt: str) -> None:
    for option, value in service.unmapped.items():
        logging = option.startswith(("stdout_", "stderr_"))  # log files, their sizes, syslog
        hint = LOG_HINT if logging else UNMAPPED_HINTS.get(option, "")
        export.cannot(service, f"{option}={value}", fmt, hint)
    if service.uses_environ:
        export.warnings.append(
            f"program {service.name!r}: %(ENV_...)s in command was expanded with this "
            "machine's environment"
        )
    for key in service.from_environ:
        export.warnings.append(
            f"program {service.name!r}: {key} comes from %(ENV_...)s: this machine's value "
            "is written with the environment files' values (never inline)"
        )


# supervisord's autorestart, as systemd's Restart= and Compose's restart: say it.
RESTART = {"unexpected": "on-failure", "true": "always", "false": "no"}


def unscheduled(export: Export, services: list[Service], fmt: str, hint: str) -> list[Service]:
    """Return the services but the scheduled ones, which ``fmt`` has no scheduler to run: say so."""
    for service in services:
        if service.schedule:
            export.cannot(
                service,
                f"schedule={service.schedule}",
                fmt,
                "it is left out: run it with a systemd timer or a Kubernetes CronJob (export "
                f"systemd or kubernetes) or {hint}",
            )
    return [service for service in services if not service.schedule]


def unnamed_zone(export: Export, service: Service, target: Target, fmt: str, whose: str) -> None:
    """Warn that ``fmt`` reads a cron schedule in ``whose`` zone: this machine's has no name."""
    if service.schedule and service.schedule.cron and not target.zone:
        export.warnings.append(
            f"program {service.name!r}: schedule={service.schedule} is read in this machine's "
            f"time zone, which has no name: {fmt} reads it in {whose}; set TIME_ZONE in the "
            "settings"
        )
