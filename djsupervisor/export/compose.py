"""A Compose file (and a Dockerfile when no --image is given): one service per program."""

from __future__ import annotations

import os
import re

from .common import (
    RESTART,
    SECRET_MODE,
    Export,
    Target,
    common_warnings,
    env_lines,
    platform_names,
    unscheduled,
)
from .containers import (
    container_warnings,
    exposed_listener,
    healthcheck,
    probe_retries,
    sqlite_volumes,
)
from .model import Service

COMPOSE_UNNAMEABLE = re.compile(r"[^A-Za-z0-9._-]")  # what a Compose service name cannot hold
COMPOSE_CONDITIONS = {
    "started": "service_started",
    "ready": "service_healthy",
    "done": "service_completed_successfully",
}


def compose(services: list[Service], target: Target) -> Export:
    export = Export()
    entries = []
    services = unscheduled(
        export, services, "Compose", "the host's crontab running it in the image (docker run --rm)"
    )
    by_name = {service.name: service for service in services}
    volumes = sqlite_volumes(export, target)
    names = platform_names(
        export,
        services,
        "Compose",
        "service names take letters, digits, '.', '_' and '-'",
        lambda name: COMPOSE_UNNAMEABLE.sub("-", name),
    )
    for service in services:
        common_warnings(export, service, "Compose")
        container_warnings(export, service, "Compose")
        export.unheld_socket(service, "Compose")
        name = names[service.name]
        env_file = f"{name}.env" if service.secrets else ""
        if env_file:
            export.add(env_file, "env", {"text": env_lines(service.secrets)}, SECRET_MODE)
        test = healthcheck(service, target.python)
        listens = exposed_listener(
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
                    if _in_compose(export, service, dependency, condition, by_name)
                ],
            }
        )
    context = {"services": entries, "target": target, "volumes": volumes}
    if target.build:
        context["build"] = _compose_build(export, services, target)
        export.add("Dockerfile", "compose/Dockerfile", {"target": target})
    export.add("compose.yaml", "compose/compose.yaml", context)
    return export


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


def _in_compose(
    export: Export, service: Service, dependency: str, condition: str, by_name: dict[str, Service]
) -> bool:
    """Tell whether the dependency is a Compose service; say it is not (it runs on a schedule)."""
    if dependency in by_name:
        return True
    export.cannot(
        service,
        f"depends_on={dependency}:{condition}",
        "Compose",
        f"{dependency} runs on a schedule, which Compose has not: it is left out",
    )
    return False


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
