"""The Kubernetes export runs: each pod of the example's manifests, under Docker as a kubelet would.

There is no cluster here. The manifests are checked by kubernetes-validate
(tests/integration/test_export.py); this test runs what they say: the image
built from the exported Dockerfile (on the Debian base image, with wheels
built on this machine), each container with its command, environment (its
Secret's values, then its own, ``$(VAR)`` and ``$$`` as Kubernetes expands
them) and working directory. Pods start at once, as ``kubectl apply -f``
makes them; in each, the init containers run in turn to exit 0, then the
main one. Each claim is a volume, each Service's name an alias of its pods
on one network. The readiness probes are run as the kubelet runs them: an
httpGet or tcpSocket to the pod's address, an exec in the container.
"""

from __future__ import annotations

import datetime
import http.client
import http.cookiejar
import json
import re
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..docker import (
    Made,
    base_image,
    copy_example,
    docker_daemon,
    only_in_the_newest_full_environment,
    run,
    wheels,
)
from ..support import free_port, run_example_task
from .conftest import Project

pytestmark = pytest.mark.integration
pytest.importorskip("django_tasks_db", reason="the example needs the [example] extra")
yaml = pytest.importorskip("yaml")
only_in_the_newest_full_environment()
__all__ = ["base_image", "docker_daemon", "wheels"]  # the fixtures this module uses

START = 240.0  # seconds: building the image and starting the pods, on a loaded machine
REQUIREMENTS = "--no-index\n--find-links wheels\ndjsupervisor[example]\n"
# The export's output (kubernetes.yaml holds the Secrets), the env files, the database.
DOCKERIGNORE = "deploy\nproduction.env\n.env\n.git\ndata/*.sqlite3\n"
PRODUCTION = "DJANGO_DEBUG=0\nDJANGO_SECRET_KEY=k8s-test-not-a-secret-3f9a\n"
VARIABLE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
# A program on a schedule: a CronJob, whose pod the test runs as if it were due.
CLEANUP = (
    "\n[program:cleanup]\ncommand={{ PYTHON }} manage.py clearsessions\n"
    "schedule=@daily\ndepends_on=migrate:done\n"
)
# Where each kind of workload holds the template of its pods.
POD_TEMPLATES = {
    "Job": ("spec", "template"),
    "Deployment": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def expand(text: str, env: dict[str, str]) -> str:
    """Return ``text`` as Kubernetes runs it: ``$(VAR)`` from ``env`` if set, ``$$`` a ``$``."""

    def value(found: re.Match[str]) -> str:
        if found[1] is None:
            return "$"
        return env.get(found[1], found[0])

    return VARIABLE.sub(value, text)


@dataclass
class Cluster:
    """The manifests' objects, run under Docker: one network, a volume per claim."""

    made: Made
    name: str  # the export's --name: the prefix of every object
    documents: list[dict[str, Any]]
    image: str
    network: str = ""
    published: int = 0  # the host port (127.0.0.1) of the web Service, as kubectl port-forward

    def objects(self, kind: str) -> dict[str, dict[str, Any]]:
        return {d["metadata"]["name"]: d for d in self.documents if d["kind"] == kind}

    def pod_templates(self) -> dict[str, dict[str, Any]]:
        """Return the template of each workload's pods, by the workload's name."""
        found = {}
        for kind, path in POD_TEMPLATES.items():
            for name, obj in self.objects(kind).items():
                for key in path:
                    obj = obj[key]
                found[name] = obj
        return found

    def env(self, container: dict[str, Any]) -> dict[str, str]:
        """Return the container's environment: its Secrets' values, then its own env."""
        values: dict[str, str] = {}
        secrets = self.objects("Secret")
        for source in container.get("envFrom", []):
            values.update(secrets[source["secretRef"]["name"]].get("stringData", {}))
        for variable in container.get("env", []):
            values[variable["name"]] = expand(variable["value"], values)
        return values

    def start(self, pod: str, container: dict[str, Any], service: str = "") -> str:
        """Start one container of ``pod`` as its spec says; return its id."""
        env = self.env(container)
        command = [expand(word, env) for word in container["command"]]
        options = ["--name", f"{pod}-{container['name']}", "--network", self.network]
        if service:
            options += ["--network-alias", service]
            port = container["ports"][0]["containerPort"]
            options += ["-p", f"127.0.0.1:{self.published}:{port}"]
        for key, value in env.items():
            options += ["-e", f"{key}={value}"]
        for mount in container.get("volumeMounts", []):
            options += ["-v", f"{mount['name']}:{mount['mountPath']}"]
        if "workingDir" in container:
            options += ["-w", container["workingDir"]]
        assert container["image"] == self.image
        return self.made.start(*options, "--entrypoint", command[0], self.image, *command[1:])

    def run_pod(self, name: str, spec: dict[str, Any], service: str, ran: dict[str, Any]) -> None:
        """Run the pod's init containers one by one to exit 0, then its main container."""
        try:
            self._run_pod(name, spec, service, ran)
        except BaseException as exc:  # in a thread: the test reads it from ``ran``
            ran[f"{name} failed"] = repr(exc)

    def _run_pod(self, name: str, spec: dict[str, Any], service: str, ran: dict[str, Any]) -> None:
        for init in spec.get("initContainers", []):
            container = self.start(name, init)
            ran[f"{name}/{init['name']}"] = container
            status = run("docker", "wait", container, timeout=START).stdout.strip()
            if status != "0":
                ran[f"{name} failed"] = f"{init['name']} exited {status}: {logs(container)}"
                return
        (main,) = spec["containers"]
        ran[f"{name}/{main['name']}"] = self.start(name, main, service)


def logs(container: str) -> str:
    said = run("docker", "logs", "--tail", "30", container, check=False)
    return said.stdout + said.stderr


def address(container: str, network: str) -> str:
    """Return the container's address on ``network``: its pod's IP, where the kubelet probes."""
    inspected = json.loads(run("docker", "inspect", container).stdout)[0]
    found: str = inspected["NetworkSettings"]["Networks"][network]["IPAddress"]
    return found


def passes(probe: dict[str, Any], container: str, network: str) -> bool:
    """Run a readinessProbe once as the kubelet does; tell whether it passed."""
    if "exec" in probe:
        command = probe["exec"]["command"]
        return run("docker", "exec", container, *command, check=False).returncode == 0
    host = address(container, network)
    try:
        if "tcpSocket" in probe:
            socket.create_connection((host, probe["tcpSocket"]["port"]), 2).close()
            return True
        get = probe["httpGet"]
        connection = http.client.HTTPConnection(host, get["port"], timeout=2)
        headers = {h["name"]: h["value"] for h in get.get("httpHeaders", [])}
        connection.request("GET", get["path"], headers=headers)
        status = connection.getresponse().status
        connection.close()
        return 200 <= status < 400  # the kubelet's success
    except OSError:
        return False


def ready_in(probe: dict[str, Any], container: str, network: str) -> None:
    """Run the probe every periodSeconds until it passes; fail with the container's log."""
    deadline = time.monotonic() + START
    while not passes(probe, container, network):
        assert time.monotonic() < deadline, f"its readiness probe never passed:\n{logs(container)}"
        time.sleep(probe["periodSeconds"])


@pytest.fixture
def cluster(project: Project, base_image: str, wheels: Path) -> Iterator[Cluster]:
    """Export the example as Kubernetes (production, no --image), build its image; clean up."""
    copy_example(project.path)
    conf = project.path / "supervisord.conf"
    conf.write_text(conf.read_text() + CLEANUP)
    shutil.copytree(wheels, project.path / "wheels")
    project.write("requirements.txt", REQUIREMENTS)
    project.write(".dockerignore", DOCKERIGNORE)
    project.write("production.env", PRODUCTION)
    project.env["DJANGO_DEBUG"] = "0"
    name = f"djs-k8s-{uuid.uuid4().hex[:8]}"
    exported = project.run(
        *("export", "kubernetes", "--output", "deploy/k8s", "--name", name),
        *("--base-image", base_image, "--env-file", "production.env"),
    )
    assert exported.returncode == 0, exported.stderr
    output = project.path / "deploy" / "k8s"
    documents = [d for d in yaml.safe_load_all((output / "kubernetes.yaml").read_text()) if d]
    made = Made()
    image = f"{name}:latest"
    try:
        made.build(image, output / "Dockerfile", project.path)
        found = Cluster(made, name, documents, image, published=free_port())
        made.network(name)
        found.network = name  # Docker keys a container's networks by name
        for claim in found.objects("PersistentVolumeClaim"):
            made.volume(claim)
        yield found
    finally:
        made.remove()


def test_every_pod_runs_its_probes_pass_and_the_example_works(cluster: Cluster) -> None:
    services = {
        s["spec"]["selector"]["program"]: name for name, s in cluster.objects("Service").items()
    }
    assert services == {f"{cluster.name}-web": f"{cluster.name}-web"}  # selects web's pods
    templates = cluster.pod_templates()
    pods = {name: template["spec"] for name, template in templates.items()}
    programs = {name: found["metadata"]["labels"]["program"] for name, found in templates.items()}
    cronjob = cluster.objects("CronJob")[f"{cluster.name}-cleanup"]["spec"]
    assert (cronjob["schedule"], cronjob["timeZone"]) == ("0 0 * * *", "UTC")  # TIME_ZONE
    assert cronjob["concurrencyPolicy"] == "Forbid"
    ran: dict[str, Any] = {}
    # kubectl apply -f: every pod starts at once; their init containers order them.
    threads = [
        threading.Thread(
            target=cluster.run_pod, args=(name, spec, services.get(programs[name], ""), ran)
        )
        for name, spec in pods.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(START)
    assert not [key for key in ran if key.endswith("failed")], ran
    job = ran[f"{cluster.name}-migrate/migrate"]
    assert run("docker", "wait", job, timeout=START).stdout.strip() == "0", logs(job)
    web = ran[f"{cluster.name}-web/web"]
    # web started once the Job's migrations were applied (its init container waited).
    assert started(web) > finished(job)
    # The CronJob's pod, run as when it is due: its command runs in the image, once
    # the migrations it waits for are applied.
    cleanup = ran[f"{cluster.name}-cleanup/cleanup"]
    assert run("docker", "wait", cleanup, timeout=START).stdout.strip() == "0", logs(cleanup)
    assert started(cleanup) > finished(job)

    for name, spec in pods.items():
        (main,) = spec["containers"]
        if "readinessProbe" in main:
            ready_in(main["readinessProbe"], ran[f"{name}/{main['name']}"], cluster.network)

    base = f"http://127.0.0.1:{cluster.published}"
    worker = ran[f"{cluster.name}-db-worker/db-worker"]
    try:
        assert run_example_task(base, "one two three", f"the page on {base}", START)["words"] == 3
    except AssertionError:
        print(logs(worker))  # why the worker did not
        raise


def state(container: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(run("docker", "inspect", container).stdout)[0]["State"]
    return found


def started(container: str) -> datetime.datetime:
    return moment(state(container)["StartedAt"])


def finished(container: str) -> datetime.datetime:
    return moment(state(container)["FinishedAt"])


def moment(text: str) -> datetime.datetime:
    """Return Docker's time (RFC 3339, nanoseconds) as a datetime (microseconds)."""
    seconds, _, fraction = text.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(f"{seconds}.{fraction[:6]:0<6}+00:00")
