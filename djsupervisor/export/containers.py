"""What Compose and Kubernetes share: where a program listens, its checks, the project's image."""

from __future__ import annotations

import dataclasses
import math
import posixpath
import shlex
import urllib.parse
from dataclasses import dataclass
from typing import Any

from .common import LOOPBACK, PROBE_PERIOD, Export, Target
from .model import Service
from .servers import ALL_INTERFACES, address, binding_itself


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


def exposed_listener(
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
    if listens.held:
        bind = listens.host if listens.host not in LOOPBACK else ALL_INTERFACES
        bind = f"[{bind}]" if ":" in bind else bind
        export.warnings.append(
            f"program {service.name!r}: listen={service.listen}: nothing holds its socket in "
            f"its {inside}: {listens.server} binds {bind}:{listens.port} itself in {fmt}, "
            f"{reached}"
        )
    elif listens.argv != service.argv:
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


def sqlite_volumes(export: Export, target: Target) -> dict[str, str]:
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
    held: bool = False  # its address is listen='s, which it binds itself here


def listener(service: Service) -> Listener | None:
    """Return where the service listens on TCP, if it does: a known server's or its check's.

    The address of a known server is read from its command (its own default
    if none is given), and one on loopback moved to all interfaces, which is
    what publishing a container's port reaches. Another program's comes from
    its tcp or http ready check, its command unchanged.
    """
    held = service.listen_port
    if held is not None:
        # Under supervisord it serves on the socket listen= names (fd 3,
        # whatever its own address): nothing holds one in a container, it binds it.
        host, port = held
        bound = binding_itself(service.argv, ALL_INTERFACES if host in LOOPBACK else host, port)
        if bound is not None:
            return Listener(bound[0].server, host, port, bound[1], held=True)
    found = address(service.argv)
    if found is not None:
        moved = found.rewritten(host=ALL_INTERFACES) if found.host in LOOPBACK else found.argv
        return Listener(found.server, found.host, found.port, moved)
    check = service.container_check
    if check is not None and check.kind in ("tcp", "http"):
        return Listener("", check.host, check.port, service.argv)
    return None


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


def container_warnings(export: Export, service: Service, fmt: str) -> None:
    if service.per_process:
        export.cannot(service, "%(process_num) in command", fmt, "every replica runs the first's")
    if service.ready and not service.container_check:
        export.cannot(service, "ready=log:", fmt, "use a tcp, http or exec check")


CONTAINER_FORMATS = ("compose", "kubernetes")
