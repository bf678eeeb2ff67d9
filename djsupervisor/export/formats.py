"""What each export format makes of a service, and what it cannot say (one warning each).

Each format turns the services into the values its templates need (plain
data: the templates only lay them out) and the files to write; an option a
format cannot express becomes a warning naming the program and the option.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import posixpath
import re
import shlex
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..errors import ConfigError
from .model import DEFAULT_STOPWAITSECS, Service
from .servers import ALL_INTERFACES, address, port_words

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


def _common_warnings(export: Export, service: Service, fmt: str) -> None:
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


# honcho gives each Procfile line its own PORT: the first line's is honcho's
# base port (``-p N`` or PORT, 5000 by default), each next line's 100 more.
PROCFILE_PORT_STEP = 100


def procfile(services: list[Service], target: Target) -> Export:
    export = Export()
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
        _common_warnings(export, service, "a Procfile")
        if any("\n" in word for word in [*service.argv, *service.environment.values()]):
            raise ConfigError(
                f"export: program {service.name!r}: a Procfile line cannot hold the newline "
                "of its command or environment=; put the value in an environment file"
            )
        # supervisord runs the words shlex.split gives, without a shell; the
        # shell honcho runs each line with gets them quoted, so that '>',
        # '$(...)' or '*' reach the program as they reach it under supervisord.
        directory, argv, environment = _procfile_paths(service, target)
        ported = None if service.oneshot else port_words(argv)
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


# supervisord's autorestart, as systemd's Restart= and Compose's restart: say it.
RESTART = {"unexpected": "on-failure", "true": "always", "false": "no"}


def systemd(services: list[Service], target: Target) -> Export:
    export = Export()
    # A numprocs program is a template unit: its processes are its instances.
    templated = {s.name: s.numprocs > 1 and bool(s.template_command) for s in services}
    prefixes = platform_names(
        export,
        services,
        "systemd",
        "unit names take letters, digits, ':', '_', '.' and '-'",
        lambda name: re.sub(r"[^A-Za-z0-9:_.-]", "-", name),
        lambda name: f"{target.name}-{name}",
    )
    units = {
        s.name: [f"{prefixes[s.name]}@{n}.service" for n in s.instances()]
        if templated[s.name]
        else [f"{prefixes[s.name]}.service"]
        for s in services
    }
    for service in services:
        _common_warnings(export, service, "systemd")
        template = templated[service.name]
        unit = prefixes[service.name]
        env_file = f"{unit}.env" if service.secrets else ""
        if service.per_process and not template:
            export.cannot(service, "%(process_num) with a format", "a systemd template unit")
        if service.ready and not service.container_check:
            export.cannot(
                service,
                f"ready={service.ready.describe()}",
                "systemd",
                "dependents start once it has started (it has no log to watch)",
            )
        # A one-shot has started once it has exited: no check to wait for then.
        wait = None if service.oneshot else systemd_wait(service, target.python)
        context = {
            "service": service,
            "target": target,
            "unit": unit,
            "command": service.template_command if template else service.command,
            "wait": shlex.join(wait) if wait else "",
            # The start ends when the wait does: systemd's own limit comes after it.
            "start_timeout": math.ceil(service.ready_timeout) + SYSTEMD_START_MARGIN,
            "clean_signal": service.stopsignal not in SYSTEMD_CLEAN_SIGNALS,
            "restart": "no" if service.oneshot else RESTART[service.autorestart],
            "requires": [
                name for dependency, _ in service.depends_on for name in units[dependency]
            ],
            "env_file": f"{target.output_there}/{env_file}" if env_file else "",
        }
        export.add(
            f"{unit}@.service" if template else f"{unit}.service",
            "systemd/program.service",
            context,
        )
        if env_file:
            export.add(env_file, "env", {"text": env_lines(service.secrets)}, SECRET_MODE)
    wanted = [name for service in services if service.autostart for name in units[service.name]]
    export.add(
        f"{target.name}.target", "systemd/project.target", {"target": target, "units": wanted}
    )
    return export


# Signals systemd counts as a clean exit anyway; another stop signal the
# program dies of is said with SuccessExitStatus=, as supervisord counts a stop.
SYSTEMD_CLEAN_SIGNALS = frozenset({"TERM", "INT", "HUP", "PIPE"})
SYSTEMD_START_MARGIN = 10  # seconds of TimeoutStartSec= beyond a ready check's ready_timeout
SYSTEMD_CHECK_PERIOD = 0.5  # seconds between two attempts of a ready check in ExecStartPost=
# ExecStartPost= of a program with a tcp, http or exec check: systemd counts
# the unit started (and starts what is ordered after it) once this exits 0.
# The same attempts as djsupervisor's own (an http status below 500 passes).
SYSTEMD_WAIT = """\
import shlex, socket, subprocess, sys, time, urllib.error, urllib.request
def ready():
    try:
        {attempt}
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (OSError, subprocess.SubprocessError):
        return False
deadline = time.monotonic() + {timeout}
while not ready():
    if time.monotonic() > deadline:
        sys.exit({failed!r})
    time.sleep({period})
"""


def systemd_wait(service: Service, python: str) -> list[str] | None:
    """Return the command that waits for the service's ready check to pass, if it can."""
    check = service.container_check
    if check is None:
        return None
    if check.kind == "tcp":
        attempt = f"return bool(socket.create_connection(({check.host!r}, {check.port}), 2))"
    elif check.kind == "http":
        attempt = f"return bool(urllib.request.urlopen({check.target!r}, timeout=2))"
    else:
        words = f"shlex.split({check.target!r})"
        attempt = f"return subprocess.run({words}, timeout=10).returncode == 0"
    failed = f"{service.name}: not ready after {service.ready_timeout:g} s: {check.describe()}"
    code = SYSTEMD_WAIT.format(
        attempt=attempt, timeout=service.ready_timeout, failed=failed, period=SYSTEMD_CHECK_PERIOD
    )
    return [python, "-c", code]


COMPOSE_UNNAMEABLE = re.compile(r"[^A-Za-z0-9._-]")  # what a Compose service name cannot hold
COMPOSE_CONDITIONS = {
    "started": "service_started",
    "ready": "service_healthy",
    "done": "service_completed_successfully",
}


def probe_retries(service: Service) -> int:
    """Return how many failed checks, PROBE_PERIOD apart, make its ready_timeout."""
    return math.ceil(service.ready_timeout / PROBE_PERIOD)


def healthcheck(service: Service, python: str) -> list[str] | None:
    """Return a container healthcheck's test for the service's ready check, if it has one."""
    check = service.container_check
    if check is None:
        return None
    if check.kind == "exec":
        # Split and run without a shell, as supervisord, systemd and Kubernetes run it.
        return ["CMD", *shlex.split(check.target)]
    if check.kind == "tcp":
        code = f"import socket; socket.create_connection(({check.host!r}, {check.port}), 2)"
    else:
        code = (
            "import sys, urllib.request, urllib.error\n"
            f"try: urllib.request.urlopen({check.target!r}, timeout=2)\n"
            "except urllib.error.HTTPError as e: sys.exit(e.code >= 500)"
        )
    return ["CMD", python, "-c", code]


def compose(services: list[Service], target: Target) -> Export:
    export = Export()
    entries = []
    by_name = {service.name: service for service in services}
    volumes = _sqlite_volumes(export, target)
    names = platform_names(
        export,
        services,
        "Compose",
        "service names take letters, digits, '.', '_' and '-'",
        lambda name: COMPOSE_UNNAMEABLE.sub("-", name),
    )
    for service in services:
        _common_warnings(export, service, "Compose")
        _container_warnings(export, service, "Compose")
        name = names[service.name]
        env_file = f"{name}.env" if service.secrets else ""
        if env_file:
            export.add(env_file, "env", {"text": env_lines(service.secrets)}, SECRET_MODE)
        test = healthcheck(service, target.python)
        listens = _exposed_listener(
            export, service, "container", "Compose", "published on the host's 127.0.0.1:{port}"
        )
        if listens and service.numprocs > 1:
            export.cannot(
                service, "numprocs", "Compose with a published port", "one replica can publish it"
            )
        entries.append(
            {
                "service": service,
                "name": name,
                "argv": listens.argv if listens else service.argv,
                "ports": [f"127.0.0.1:{listens.port}:{listens.port}"] if listens else [],
                "restart": "no" if service.oneshot else RESTART[service.autorestart],
                "env_file": env_file,
                "healthcheck": test,
                "retries": probe_retries(service),
                "depends_on": [
                    (
                        names[dependency],
                        _compose_condition(export, service, by_name[dependency], condition),
                    )
                    for dependency, condition in service.depends_on
                ],
            }
        )
    context = {"services": entries, "target": target, "volumes": volumes}
    if target.build:
        context["build"] = _compose_build(export, services, target)
        export.add("Dockerfile", "compose/Dockerfile", {"target": target})
    export.add("compose.yaml", "compose/compose.yaml", context)
    return export


def _exposed_listener(
    export: Export, service: Service, inside: str, fmt: str, reached: str, probe: str = ""
) -> Listener | None:
    """Return where the service listens, bound to all interfaces; say what was changed.

    ``inside`` is what it runs in (a container, a pod), ``reached`` how its
    port is reached from outside (``{port}``: the port), ``probe`` what else
    to say of a ready check on the loopback address.
    """
    listens = listener(service)
    if listens is None:
        return None
    reached = reached.format(port=listens.port)
    if listens.server == "runserver":
        export.warnings.append(
            f"program {service.name!r}: runserver is Django's development server: "
            "export with DEBUG off (e.g. --settings of production) to export its server"
        )
    if listens.argv != service.argv:
        export.warnings.append(
            f"program {service.name!r}: {listens.server} binds {listens.host}:{listens.port}, "
            f"which nothing outside its {inside} reaches: it binds {ALL_INTERFACES}:"
            f"{listens.port} in {fmt}, {reached}"
        )
    elif listens.host in LOOPBACK:
        export.warnings.append(
            f"program {service.name!r}: ready checks {listens.host}:{listens.port}; if it "
            f"listens there, nothing outside its {inside} reaches it: make it listen on "
            f"{ALL_INTERFACES} ({reached}){probe}"
        )
    return listens


def _sqlite_volumes(export: Export, target: Target) -> dict[str, str]:
    """Return a named volume for each SQLite database's directory: containers share it.

    Each container has its own copy of the image's files: a database in the
    project directory itself cannot be shared (a volume there would hide the
    code), which is a warning.
    """
    volumes: dict[str, str] = {}
    for database in target.databases:
        directory = posixpath.dirname(database)
        if directory.rstrip("/") in (target.workdir.rstrip("/"), ""):
            export.warnings.append(
                f"the SQLite database {database} is in the project directory: each container "
                "has its own copy, so what migrate does never reaches the others; move it to "
                f"a directory of its own (e.g. {posixpath.join(target.workdir, 'data')}), "
                "which the export shares as a volume, or use a database server"
            )
        elif directory not in volumes.values():
            volumes[f"sqlite-{len(volumes) + 1}" if volumes else "sqlite"] = directory
    return volumes


def _compose_build(export: Export, services: list[Service], target: Target) -> dict[str, str]:
    """Return Compose's build: for the project's image, its Dockerfile in the output directory."""
    if any(service.secrets for service in services):
        export.warnings.append(
            f"the image is built from {target.build}, the environment files too unless its "
            ".dockerignore leaves them out (and .env, .git, the database)"
        )
    return {
        "context": os.path.relpath(target.build, target.output),
        "dockerfile": os.path.relpath(os.path.join(target.output, "Dockerfile"), target.build),
    }


def for_containers(
    target: Target,
    image_given: bool,
    base_image: str,
    project_dir: str,
    databases: dict[str, dict[str, Any]],
) -> Target:
    """Return the target with what containers need to know of this machine's project.

    The project directory to build the image from (when no --image was
    given), and the project's SQLite database files, as paths on the target.
    """
    files = []
    for database in databases.values():
        name = str(database.get("NAME") or "")
        if "sqlite" in str(database.get("ENGINE", "")) and name.startswith("/"):
            if name.startswith(project_dir.rstrip("/") + "/"):
                name = posixpath.join(target.workdir, name[len(project_dir.rstrip("/")) + 1 :])
            files.append(name)
    return dataclasses.replace(
        target,
        build="" if image_given else project_dir,
        base_image=base_image,
        databases=tuple(files),
    )


@dataclass(frozen=True)
class Listener:
    """Where a program accepts connections, and its command bound to all interfaces."""

    server: str  # runserver, gunicorn, uvicorn or daphne; '' when known from its ready check
    host: str
    port: int
    argv: list[str]


def listener(service: Service) -> Listener | None:
    """Return where the service listens on TCP, if it does: a known server's or its check's.

    The address of a known server is read from its command (its own default
    if none is given), and one on loopback moved to all interfaces, which is
    what publishing a container's port reaches. Another program's comes from
    its tcp or http ready check, its command unchanged.
    """
    found = address(service.argv)
    if found is not None:
        moved = found.rewritten(host=ALL_INTERFACES) if found.host in LOOPBACK else found.argv
        return Listener(found.server, found.host, found.port, moved)
    check = service.container_check
    if check is not None and check.kind in ("tcp", "http"):
        return Listener("", check.host, check.port, service.argv)
    return None


def _compose_condition(
    export: Export, service: Service, dependency: Service, condition: str
) -> str:
    """Return Compose's condition for a dependency; say what it cannot wait for."""
    if condition == "ready" and dependency.container_check is None:
        export.cannot(
            service,
            f"depends_on={dependency.name}:ready",
            "Compose",
            f"{dependency.name}'s log: check is no healthcheck; it waits for it to start",
        )
        return COMPOSE_CONDITIONS["started"]
    return COMPOSE_CONDITIONS[condition]


WILDCARDS = frozenset({ALL_INTERFACES, "::", "0"})  # a bind that every address reaches


def probe(
    service: Service, listens: Listener | None = None, python: str = "python"
) -> dict[str, Any] | None:
    """Return a Kubernetes readinessProbe for the service's ready check, if it has one.

    The kubelet connects to the pod's address: an http or tcp check is an
    httpGet or tcpSocket probe where the program listens on all interfaces
    (a known server moved off loopback, ``listens``) or the check's host is
    not loopback; otherwise an exec probe, run in the container, with
    ``python`` (as Compose's healthcheck). An httpGet sends the check's Host.
    """
    check = service.container_check
    if check is None:
        return None
    if check.kind == "exec":
        return {"exec": {"command": shlex.split(check.target)}}
    outside = check.host not in LOOPBACK or (
        listens is not None
        and bool(listens.server)
        and listens.port == check.port
        and listens.host in LOOPBACK | WILDCARDS
    )
    if not outside:
        test = healthcheck(service, python) or []
        return {"exec": {"command": test[1:]}}
    if check.kind == "tcp":
        return {"tcpSocket": {"port": check.port}}
    url = urllib.parse.urlsplit(check.target)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    return {
        "httpGet": {
            "path": path,
            "port": check.port,
            "scheme": url.scheme.upper(),
            # The pod's address is no host the project serves (ALLOWED_HOSTS): the check's is.
            "httpHeaders": [{"name": "Host", "value": url.netloc}],
        }
    }


WAIT_PERIOD = 2  # seconds between an init container's looks at what its pod waits for
# Then it fails saying what it waited for: the pod shows Init:Error with that
# in its log (kubectl logs POD -c NAME), not Init:0/1 for ever, and Kubernetes
# runs it again after a back-off.
WAIT_TIMEOUT = 600  # seconds
# An init container's wait for a Service: a connection succeeds once one of
# its pods is ready (a Service sends connections to ready pods only).
SERVICE_WAIT = (
    "import socket, sys, time\n"
    "deadline = time.monotonic() + {timeout}\n"
    "while True:\n"
    "    try: socket.create_connection(({host!r}, {port}), 2).close(); break\n"
    "    except OSError:\n"
    "        if time.monotonic() > deadline: sys.exit({failure!r})\n"
    "        time.sleep({period})"
)
# An init container's wait for Django's migrations: migrate --check exits 0
# once none is left to apply (it applies none itself).
MIGRATIONS_WAIT = (
    'end=$(($(date +%s) + {timeout})); until "$@"; do '
    '[ "$(date +%s)" -lt "$end" ] || {{ echo {failure} >&2; exit 1; }}; sleep {period}; done'
)


def kubernetes(services: list[Service], target: Target) -> Export:
    """Return the manifests: a Secret, a Job or Deployment, a Service for each program."""
    export = Export()
    entries: list[dict[str, Any]] = []
    names = platform_names(
        export,
        services,
        "Kubernetes",
        "names take lower case letters, digits and '-', 63 at most",
        _dns_name,
        lambda name: f"{target.name}-{name}",
    )
    # Where each long-running program listens: its Service's port.
    ports = {s.name: listener(s) for s in services if not s.oneshot}
    claims = {
        _dns_name(f"{target.name}-{name}"): path
        for name, path in _sqlite_volumes(export, target).items()
    }
    for claim, path in claims.items():
        export.warnings.append(
            f"the SQLite database's directory {path} is the PersistentVolumeClaim {claim!r} "
            "(ReadWriteOnce): the pods that share it run on one node; use a database server "
            "to spread them"
        )
    containers: dict[str, dict[str, Any]] = {}
    for service in services:
        _common_warnings(export, service, "Kubernetes")
        _container_warnings(export, service, "Kubernetes")
        export.cannot_any(
            service,
            "Kubernetes",
            [
                ("stopsignal", service.stopsignal != "TERM", "Kubernetes sends SIGTERM"),
                (
                    "autorestart",
                    service.autorestart == "false" and not service.oneshot,
                    "a Deployment's pods are always restarted",
                ),
                ("user", service.user and not service.user.isdigit(), "runAsUser takes a number"),
                ("autostart=false", not service.autostart and service.oneshot, "a Job runs"),
                ("numprocs", service.numprocs > 1 and service.oneshot, "a Job runs one pod"),
            ],
        )
        resource = names[service.name]
        secret = _dns_name(f"{resource[: NAME_ROOM - 4]}-env") if service.secrets else ""
        listens = (
            None
            if service.oneshot
            else _exposed_listener(
                export,
                service,
                "pod",
                "Kubernetes",
                f"the port of the Service {resource!r}",
                "; its probe runs in its container",
            )
        )
        container: dict[str, Any] = {
            "name": _dns_name(service.name) or resource,
            "image": target.image,
            # Kubernetes expands $(VAR) in a command and an env value: $$ is a '$'.
            "command": [_dollars(word) for word in (listens.argv if listens else service.argv)],
            "workingDir": service.directory,
        }
        if service.environment:
            container["env"] = [
                {"name": k, "value": _dollars(v)} for k, v in service.environment.items()
            ]
        if secret:
            container["envFrom"] = [{"secretRef": {"name": secret}}]
        if listens:
            container["ports"] = [{"containerPort": listens.port, "protocol": "TCP"}]
        if claims:
            container["volumeMounts"] = [
                {"name": claim, "mountPath": path} for claim, path in claims.items()
            ]
        if service.user and service.user.isdigit():
            container["securityContext"] = {"runAsUser": int(service.user)}
        readiness = probe(service, listens, target.python)
        if readiness:
            container["readinessProbe"] = {
                **readiness,
                "periodSeconds": PROBE_PERIOD,
                "failureThreshold": probe_retries(service),
            }
        containers[service.name] = container
        entries.append(
            {
                "service": service,
                "resource": resource,
                "secret": secret,
                "container": [container],
                "port": listens.port if listens else 0,
                "volumes": [
                    {"name": claim, "persistentVolumeClaim": {"claimName": claim}}
                    for claim in claims
                ],
            }
        )
    for entry in entries:
        entry["init"] = _waits(export, entry["service"], containers, ports, names, target)
    context = {"services": entries, "target": target, "claims": claims}
    # Its Secrets hold the environment files' values: readable by its owner only.
    mode = SECRET_MODE if any(s.secrets for s in services) else FILE_MODE
    export.add("kubernetes.yaml", "kubernetes/kubernetes.yaml", context, mode)
    if target.build:
        export.add("Dockerfile", "compose/Dockerfile", {"target": target})
        export.warnings.append(
            f"the manifests run the image {target.image}: build it with the Dockerfile "
            f"written here (docker build -f {os.path.join(target.output, 'Dockerfile')} "
            f"-t {target.image} {target.build}), push it where the cluster pulls from, "
            "and export with --image naming it there"
        )
    return export


def _waits(
    export: Export,
    service: Service,
    containers: dict[str, dict[str, Any]],
    ports: dict[str, Listener | None],
    names: dict[str, str],
    target: Target,
) -> list[dict[str, Any]]:
    """Return the init containers that hold the service's pods until its dependencies are met.

    Django's migrations: a wait until ``migrate --check`` passes, in the
    one-shot's environment (its Job applies them). A program with a
    Service: a wait until the Service takes a connection (one of its pods is
    ready). Anything else cannot be waited for: a warning.
    """
    waits: list[dict[str, Any]] = []
    taken = {containers[service.name]["name"]}  # a pod's containers have unique names
    for dependency, condition in service.depends_on:
        their = containers[dependency]
        name = _unique(_dns_name(f"wait-for-{their['name']}"), taken)
        one_shot = dependency not in ports  # a Job
        migrate = _migrate_check(their["command"]) if one_shot else []
        listens = ports.get(dependency)
        if migrate:
            wait = {key: value for key, value in their.items() if key != "readinessProbe"}
            failure = shlex.quote(f"{dependency}'s migrations not applied in {WAIT_TIMEOUT} s")
            script = MIGRATIONS_WAIT.format(
                timeout=WAIT_TIMEOUT, failure=failure, period=WAIT_PERIOD
            )
            command = ["sh", "-c", _dollars(script), name]
            waits.append({**wait, "name": name, "command": [*command, *migrate]})
        elif listens:
            code = SERVICE_WAIT.format(
                host=names[dependency],
                port=listens.port,
                timeout=WAIT_TIMEOUT,
                failure=f"the Service {names[dependency]} took no connection in {WAIT_TIMEOUT} s",
                period=WAIT_PERIOD,
            )
            waits.append(
                {"name": name, "image": target.image, "command": [target.python, "-c", code]}
            )
        else:
            hint = (
                "its Job runs at the same time as this pod"
                if one_shot
                else "it has no Service to wait for"
            )
            export.cannot(service, f"depends_on={dependency}:{condition}", "Kubernetes", hint)
    return waits


def _unique(name: str, taken: set[str]) -> str:
    """Return ``name``, or it with a number, as no name in ``taken`` is; take it."""
    found, number = name, 1
    while found in taken:
        number += 1
        found = f"{name[: NAME_ROOM - len(str(number)) - 1]}-{number}"
    taken.add(found)
    return found


def _migrate_check(command: list[str]) -> list[str]:
    """Return Django's migrate command with --check, or [] if ``command`` is not one."""
    if "migrate" not in command:
        return []
    at = command.index("migrate")
    django = [w for w in command[:at] if w.endswith(("manage.py", "django-admin")) or w == "django"]
    return [*command[: at + 1], "--check", *command[at + 1 :]] if django else []


def _dns_name(name: str) -> str:
    """Return ``name`` as Kubernetes names resources: lower case, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:NAME_ROOM].rstrip("-")


def _dollars(text: str) -> str:
    return text.replace("$", "$$")


def _container_warnings(export: Export, service: Service, fmt: str) -> None:
    if service.per_process:
        export.cannot(service, "%(process_num) in command", fmt, "every replica runs the first's")
    if service.ready and not service.container_check:
        export.cannot(service, "ready=log:", fmt, "use a tcp, http or exec check")


FORMATS: dict[str, Callable[[list[Service], Target], Export]] = {
    "procfile": procfile,
    "systemd": systemd,
    "compose": compose,
    "kubernetes": kubernetes,
}
CONTAINER_FORMATS = ("compose", "kubernetes")
