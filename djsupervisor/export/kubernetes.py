"""Kubernetes manifests: a Deployment, Job or CronJob per program, a Service for each listening."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from typing import Any

from .common import (
    FILE_MODE,
    NAME_ROOM,
    PROBE_PERIOD,
    SECRET_MODE,
    Export,
    Target,
    common_warnings,
    platform_names,
    unnamed_zone,
)
from .containers import (
    Listener,
    container_warnings,
    exposed_listener,
    listener,
    probe,
    probe_retries,
    sqlite_volumes,
)
from .model import Service
from .timers import EVERY_ZONE, as_cron

# listen=: a pod being replaced or scaled down leaves its Service's endpoints
# first; its preStop hook waits this long for the routing to follow before
# the program gets SIGTERM, and the grace period covers the wait, the
# program's stopwaitsecs and this margin.
DRAIN_SECONDS = 5
GRACE_MARGIN = 2  # seconds
# A rollout that starts each new pod before one old pod stops: never fewer
# ready pods than the replicas wanted, as supervisord's held socket keeps it.
ROLLING_UPDATE = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
# A CronJob's name: the controller names each Job it makes NAME-<minutes since
# the epoch>, within a label's 63 characters.
CRONJOB_NAME_ROOM = 52  # characters
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
    """Return the manifests: a Secret, a Job, CronJob or Deployment, a Service for each program."""
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
        for name, path in sqlite_volumes(export, target).items()
    }
    for claim, path in claims.items():
        export.warnings.append(
            f"the SQLite database's directory {path} is the PersistentVolumeClaim {claim!r} "
            "(ReadWriteOnce): the pods that share it run on one node; use a database server "
            "to spread them"
        )
    containers: dict[str, dict[str, Any]] = {}
    for service in services:
        common_warnings(export, service, "Kubernetes")
        container_warnings(export, service, "Kubernetes")
        unnamed_zone(export, service, target, "Kubernetes", "the cluster's (UTC mostly)")
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
                (
                    "autostart=false",
                    not service.autostart and service.oneshot and not service.schedule,
                    "a Job runs",
                ),
                ("numprocs", service.numprocs > 1 and service.oneshot, "a Job runs one pod"),
            ],
        )
        resource = names[service.name]
        secret = _dns_name(f"{resource[: NAME_ROOM - 4]}-env") if service.secrets else ""
        listens = (
            None
            if service.oneshot
            else exposed_listener(
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
        served = bool(service.listen) and not service.oneshot
        if served:
            container["lifecycle"] = {
                "preStop": {"exec": {"command": ["sleep", str(DRAIN_SECONDS)]}}
            }
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
        try:
            cron = as_cron(service.schedule) if service.schedule else None
        except ValueError as why:
            export.cannot(service, f"schedule={service.schedule}", "Kubernetes", str(why))
            continue
        if cron:
            resource = _cronjob_name(export, service, resource)
        entries.append(
            {
                "service": service,
                "resource": resource,
                "schedule": cron or "",
                # every counts seconds: its cron line is read in UTC, which never jumps.
                "zone": EVERY_ZONE if service.schedule and service.schedule.every else target.zone,
                "secret": secret,
                "container": [container],
                "port": listens.port if listens else 0,
                "strategy": ROLLING_UPDATE if served else None,
                "grace": (
                    DRAIN_SECONDS + service.stopwaitsecs + GRACE_MARGIN
                    if served
                    else service.stopwaitsecs
                ),
                "volumes": [
                    {"name": claim, "persistentVolumeClaim": {"claimName": claim}}
                    for claim in claims
                ],
            }
        )
    scheduled = {service.name for service in services if service.schedule}
    for entry in entries:
        entry["init"] = _waits(
            export, entry["service"], containers, ports, names, scheduled, target
        )
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
    scheduled: set[str],
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
                "it runs on its schedule"
                if dependency in scheduled
                else "its Job runs at the same time as this pod"
                if one_shot
                else "it has no Service to wait for"
            )
            export.cannot(service, f"depends_on={dependency}:{condition}", "Kubernetes", hint)
    return waits


def _cronjob_name(export: Export, service: Service, resource: str) -> str:
    """Return ``resource`` cut to a CronJob's length, with a suffix from the program's name.

    The warning says its final name, instead of the one it had before.
    """
    if len(resource) <= CRONJOB_NAME_ROOM:
        return resource
    digest = hashlib.sha256(service.name.encode()).hexdigest()[:6]
    name = f"{resource[: CRONJOB_NAME_ROOM - len(digest) - 1].rstrip('-')}-{digest}"
    said = f"program {service.name!r} is named "
    export.warnings = [warning for warning in export.warnings if not warning.startswith(said)]
    export.warnings.append(
        f"{said}{name!r} in Kubernetes: names take lower case letters, digits and '-', a "
        f"CronJob's {CRONJOB_NAME_ROOM} at most"
    )
    return name


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
