"""The Procfile, for honcho and foreman: one line per program, the one-shots apart."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import PurePosixPath

from ..errors import ConfigError
from ..inside.sockets import LISTEN_FD
from .common import (
    SECRET_MODE,
    Export,
    Target,
    common_warnings,
    env_lines,
    platform_names,
    unscheduled,
)
from .model import DEFAULT_STOPWAITSECS, Service
from .servers import binding_itself, port_words, without_descriptor

# honcho gives each Procfile line its own PORT: the first line's is honcho's
# base port (``-p N`` or PORT, 5000 by default), each next line's 100 more.
PROCFILE_PORT_STEP = 100


def procfile(services: list[Service], target: Target) -> Export:
    export = Export()
    services = unscheduled(
        export, services, "a Procfile", "the platform's scheduler (Heroku Scheduler, a crontab)"
    )
    names = platform_names(
        export,
        services,
        "a Procfile",
        "process types take letters, digits, '_' and '-'",
        lambda name: re.sub(r"[^A-Za-z0-9_-]", "-", name),
    )
    # (service, its name, its line, its port's words if it serves on one)
    Line = tuple[Service, str, str, tuple[list[str], str] | None]
    served: list[Line] = []
    others: list[Line] = []
    release: list[str] = []
    secrets: dict[str, str] = {}
    for service in services:
        common_warnings(export, service, "a Procfile")
        directory, argv, environment = _procfile_paths(service, target)
        binding = _bound_to_listen(service, argv)
        descriptor = binding is None and without_descriptor(service.argv) != service.argv
        export.unheld_socket(
            service,
            "a Procfile",
            f"; its --fd {LISTEN_FD} has no socket there: bind an address of its own"
            if descriptor
            else "",
        )
        if any("\n" in word for word in [*service.argv, *service.environment.values()]):
            raise ConfigError(
                f"export: program {service.name!r}: a Procfile line cannot hold the newline "
                "of its command or environment=; put the value in an environment file"
            )
        # supervisord runs the words shlex.split gives, without a shell; the
        # shell honcho runs each line with gets them quoted, so that '>',
        # '$(...)' or '*' reach the program as they reach it under supervisord.
        ported = None if service.oneshot else port_words(binding or argv)
        words = ported[0] if ported else [shlex.quote(word) for word in argv]
        assignments = [f"{k}={shlex.quote(v)}" for k, v in environment.items()]
        cd = ["cd", shlex.quote(directory), "&&"] if directory != "." else []
        line = " ".join([*cd, *assignments, "exec", *words])
        if service.oneshot:
            release.append(line)
        else:
            (served if ported else others).append((service, names[service.name], line, ported))
        for key, value in service.secrets.items():
            if secrets.get(key, value) != value:
                export.cannot(service, f"its own value of {key}", "a Procfile's shared .env")
            secrets.setdefault(key, value)
        export.cannot_any(
            service,
            "a Procfile",
            [
                ("user", service.user, ""),
                ("numprocs", service.numprocs > 1, f"use 'honcho start -c {service.name}=N'"),
                ("stopsignal", service.stopsignal != "TERM", ""),
                ("stopwaitsecs", service.stopwaitsecs != DEFAULT_STOPWAITSECS, ""),
                ("autorestart", service.autorestart == "true", "processes are not restarted"),
                ("autostart", not service.autostart, "every line starts"),
                ("depends_on", service.depends_on, "processes all start at once"),
                ("ready", service.ready, ""),
            ],
        )
    # The servers first: the first line gets honcho's base port itself.
    lines = []
    for position, (service, name, line, ported) in enumerate([*served, *others]):
        lines.append((name, line))
        if ported:
            port = "PORT" if not position else f"PORT+{position * PROCFILE_PORT_STEP}"
            export.warnings.append(
                f"program {service.name!r}: its port {ported[1]} is $PORT in the Procfile: "
                f"honcho gives it {port} ('honcho start -p N' or PORT=N; 5000 by default)"
            )
    export.add("Procfile", "procfile/Procfile", {"lines": lines})
    if release:
        command = release[0] if len(release) == 1 else " && ".join(f"({x})" for x in release)
        export.add("Procfile.release", "procfile/Procfile", {"lines": [("release", command)]})
        programs = ", ".join(repr(s.name) for s in services if s.oneshot)
        export.warnings.append(
            f"the one-shot {programs} is the 'release' line of Procfile.release, not of the "
            "Procfile: honcho and foreman run every line as a process and stop all when one "
            "exits; run 'honcho -f Procfile.release start' before 'honcho start' (on Heroku, "
            "move the line into the Procfile)"
        )
    if secrets:
        export.add(".env", "env", {"text": env_lines(secrets)}, SECRET_MODE)
    return export


def _bound_to_listen(service: Service, argv: list[str]) -> list[str] | None:
    """Return a known server's command binding listen='s address itself, or None.

    Nothing holds a socket for it under honcho or foreman: the server binds
    the address (its port then becomes $PORT), where under supervisord it
    takes the held socket.
    """
    if service.listen_port is None:
        return None
    bound = binding_itself(argv, *service.listen_port)
    return None if bound is None else bound[1]


def _procfile_paths(service: Service, target: Target) -> tuple[str, list[str], dict[str, str]]:
    """Return the directory a Procfile line goes to, and the command and environment it runs.

    With ``--workdir``, as they are there. Without, no path of this machine
    is written: the directory is relative to the Procfile's folder, and the
    project directory in the command and environment relative to that
    directory, so the output runs from wherever the project is checked out.
    """
    if not target.relative:
        return service.directory, service.argv, service.environment
    project = target.project_dir.rstrip("/") or "/"
    inside = PurePosixPath(service.directory).is_relative_to(project)
    if not inside:
        return service.directory, service.argv, service.environment
    to_project = os.path.relpath(project, service.directory)
    # The project directory as a whole path, or a path's start: not /srv/app2 for /srv/app.
    pattern = re.compile(rf"(?<![\w.-]){re.escape(project)}(?=/|$|[^\w.-])")

    def moved(text: str) -> str:
        return pattern.sub(lambda _: to_project, text)

    return (
        os.path.relpath(service.directory, target.output),
        [moved(word) for word in service.argv],
        {key: moved(value) for key, value in service.environment.items()},
    )
