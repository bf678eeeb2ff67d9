"""What each export format makes of a service, and what it cannot say (one warning each).

Each format turns the services into the values its templates need (plain
data: the templates only lay them out) and the files to write; an option a
format cannot express becomes a warning naming the program and the option.
"""

from __future__ import annotations

import math
import re
import shlex
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .model import DEFAULT_STOPWAITSECS, Service

SECRET_MODE = 0o600  # environment files: secrets, readable by their owner only
FILE_MODE = 0o644
PROBE_PERIOD = 2  # seconds between a container's readiness checks
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


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
    output: str  # the output directory, absolute (host formats refer to their files by it)


def env_lines(values: dict[str, str]) -> str:
    """Return ``values`` as a dotenv file: each value double-quoted, with escapes."""

    def quoted(value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    return "".join(f"{key}={quoted(value)}\n" for key, value in values.items())


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


def procfile(services: list[Service], target: Target) -> Export:
    export = Export()
    lines = []
    secrets: dict[str, str] = {}
    oneshots = [s for s in services if s.oneshot]
    for service in services:
        _common_warnings(export, service, "a Procfile")
        command = service.command
        if service.environment:
            command = " ".join(f"{k}={shlex.quote(v)}" for k, v in service.environment.items())
            command += f" {service.command}"
        if service.directory != target.workdir:
            command = f"cd {shlex.quote(service.directory)} && {command}"
        name = "release" if service.oneshot and len(oneshots) == 1 else service.name
        if service.oneshot and len(oneshots) > 1:
            export.cannot(service, "oneshot", "a Procfile", "only one 'release' line runs once")
        lines.append((name, command))
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
    export.add("Procfile", "procfile/Procfile", {"lines": lines})
    if secrets:
        export.add(".env", "env", {"text": env_lines(secrets)}, SECRET_MODE)
    return export


# supervisord's autorestart, as systemd's Restart= and Compose's restart: say it.
RESTART = {"unexpected": "on-failure", "true": "always", "false": "no"}


def systemd(services: list[Service], target: Target) -> Export:
    export = Export()
    # A numprocs program is a template unit: its processes are its instances.
    templated = {s.name: s.numprocs > 1 and bool(s.template_command) for s in services}
    units = {
        s.name: [f"{target.name}-{s.name}@{n}.service" for n in s.instances()]
        if templated[s.name]
        else [f"{target.name}-{s.name}.service"]
        for s in services
    }
    for service in services:
        _common_warnings(export, service, "systemd")
        template = templated[service.name]
        unit = f"{target.name}-{service.name}"
        env_file = f"{unit}.env" if service.secrets else ""
        if service.per_process and not template:
            export.cannot(service, "%(process_num) with a format", "a systemd template unit")
        if service.ready:
            export.cannot(
                service,
                "ready",
                "systemd",
                "dependents start once it has started (Type=notify "
                "would need the program to tell systemd)",
            )
        context = {
            "service": service,
            "target": target,
            "unit": unit,
            "command": service.template_command if template else service.command,
            "restart": "no" if service.oneshot else RESTART[service.autorestart],
            "requires": [
                name for dependency, _ in service.depends_on for name in units[dependency]
            ],
            "env_file": f"{target.output}/{env_file}" if env_file else "",
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
        return ["CMD-SHELL", check.target]
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
    for service in services:
        _common_warnings(export, service, "Compose")
        _container_warnings(export, service, "Compose")
        env_file = f"{service.name}.env" if service.secrets else ""
        if env_file:
            export.add(env_file, "env", {"text": env_lines(service.secrets)}, SECRET_MODE)
        test = healthcheck(service, target.python)
        entries.append(
            {
                "service": service,
                "restart": "no" if service.oneshot else RESTART[service.autorestart],
                "env_file": env_file,
                "healthcheck": test,
                "retries": probe_retries(service),
                "depends_on": [
                    _compose_dependency(export, service, by_name[name], condition)
                    for name, condition in service.depends_on
                ],
            }
        )
    export.add("compose.yaml", "compose/compose.yaml", {"services": entries, "target": target})
    return export


def _compose_dependency(
    export: Export, service: Service, dependency: Service, condition: str
) -> tuple[str, str]:
    """Return Compose's name and condition for a dependency; say what it cannot wait for."""
    if condition == "ready" and dependency.container_check is None:
        export.cannot(
            service,
            f"depends_on={dependency.name}:ready",
            "Compose",
            f"{dependency.name}'s log: check is no healthcheck; it waits for it to start",
        )
        return dependency.name, COMPOSE_CONDITIONS["started"]
    return dependency.name, COMPOSE_CONDITIONS[condition]


def probe(service: Service) -> dict[str, Any] | None:
    """Return a Kubernetes readinessProbe for the service's ready check, if it has one."""
    check = service.container_check
    if check is None:
        return None
    if check.kind == "tcp":
        return {"tcpSocket": {"port": check.port}}
    if check.kind == "http":
        url = urllib.parse.urlsplit(check.target)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        return {"httpGet": {"path": path, "port": check.port, "scheme": url.scheme.upper()}}
    return {"exec": {"command": shlex.split(check.target)}}


def kubernetes(services: list[Service], target: Target) -> Export:
    export = Export()
    entries = []
    for service in services:
        _common_warnings(export, service, "Kubernetes")
        _container_warnings(export, service, "Kubernetes")
        export.cannot_any(
            service,
            "Kubernetes",
            [
                ("depends_on", service.depends_on, "pods start at once; use an init container"),
                ("stopsignal", service.stopsignal != "TERM", "Kubernetes sends SIGTERM"),
                (
                    "autorestart",
                    service.autorestart == "false" and not service.oneshot,
                    "a Deployment's pods are always restarted",
                ),
                ("user", service.user and not service.user.isdigit(), "runAsUser takes a number"),
                ("autostart=false", not service.autostart and service.oneshot, "a Job runs"),
                ("numprocs", service.numprocs > 1 and service.oneshot, "a Job runs one pod"),
                (
                    f"ready on {service.ready.host if service.ready else ''}",
                    service.ready and service.ready.host in LOOPBACK,
                    "the kubelet checks the pod's address: listen on 0.0.0.0 in the container",
                ),
            ],
        )
        resource = _dns_name(f"{target.name}-{service.name}")
        secret = _dns_name(f"{resource}-env") if service.secrets else ""
        container: dict[str, Any] = {
            "name": _dns_name(service.name),
            "image": target.image,
            "command": service.argv,
            "workingDir": service.directory,
        }
        if service.environment:
            container["env"] = [{"name": k, "value": v} for k, v in service.environment.items()]
        if secret:
            container["envFrom"] = [{"secretRef": {"name": secret}}]
        if service.user and service.user.isdigit():
            container["securityContext"] = {"runAsUser": int(service.user)}
        readiness = probe(service)
        if readiness:
            container["readinessProbe"] = {
                **readiness,
                "periodSeconds": PROBE_PERIOD,
                "failureThreshold": probe_retries(service),
            }
        entries.append(
            {"service": service, "resource": resource, "secret": secret, "container": [container]}
        )
    context = {"services": entries, "target": target}
    # Its Secrets hold the environment files' values: readable by its owner only.
    mode = SECRET_MODE if any(s.secrets for s in services) else FILE_MODE
    export.add("kubernetes.yaml", "kubernetes/kubernetes.yaml", context, mode)
    return export


def _dns_name(name: str) -> str:
    """Return ``name`` as Kubernetes names resources: lower case, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-")


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
