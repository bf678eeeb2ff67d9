"""Docker for the integration tests: a daemon, a Debian base image, the project's wheels.

There is no registry to pull from and containers cannot reach the package
index: the base image is made with ``debootstrap`` and ``docker import``
(cached by tag, left for the next run), and the project goes into images
from wheels built on this machine for the image's Python.

``dockerd`` is started when it is not running and stopped, by pid, when the
last test session that needed it ends (pytest-xdist workers share it).
Every container, network and volume a Compose project makes is removed with
it (:class:`ComposeProject`). Without Docker the tests skip, or fail under
``DJSUPERVISOR_REQUIRE_TOOLS=1`` (CI installs it: ``.ci/run``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .needs import require
from .support import REPO

# tox's full environments, oldest first: Docker's tests run in the newest only.
FULL_ENVIRONMENTS = re.findall(r"^\s+(py\S+-full)$", (REPO / "tox.ini").read_text(), re.MULTILINE)


def only_in_the_newest_full_environment() -> None:
    """Skip the calling test module in tox's other environments (Docker makes it slow).

    runtests.py names the environment standing in for the newest full one
    when its Python is missing (DJSUPERVISOR_DOCKER_ENV).
    """
    newest = os.environ.get("DJSUPERVISOR_DOCKER_ENV") or FULL_ENVIRONMENTS[-1]
    if os.environ.get("TOX_ENV_NAME", newest) != newest:
        pytest.skip(f"Docker: tox runs it in {newest} only", allow_module_level=True)


def copy_example(destination: Path, worker_waits_for_web: bool = False) -> None:
    """Copy the example project to ``destination`` (replacing it), without its database.

    ``worker_waits_for_web``: the worker starts once web is ready, not only
    started, as the deploy tests check the order.
    """
    shutil.rmtree(destination)
    shutil.copytree(
        REPO / "example_project", destination, ignore=shutil.ignore_patterns("*.sqlite3")
    )
    if worker_waits_for_web:
        conf = destination / "supervisord.conf"
        text = conf.read_text()
        assert "depends_on=migrate:done, web\n" in text
        conf.write_text(text.replace("depends_on=migrate:done, web\n", "depends_on=web:ready\n"))


BASE_IMAGE = "djsupervisor-test/bookworm-python:1"  # Debian's python3: 3.11
IMAGE_PYTHON = "3.11"  # the base image's Python, which the wheels are for
# debootstrap's packages: a venv (pip from ensurepip) and HTTPS certificates.
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
# The same with systemd as PID 1 (/sbin/init) and the bus systemctl talks over.
SYSTEMD_IMAGE = "djsupervisor-test/bookworm-systemd:1"
SYSTEMD_PACKAGES = f"{BASE_PACKAGES},systemd,systemd-sysv,dbus"
SYSTEMD_BOOT = 60.0  # seconds for systemd in a new container to finish booting
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# Shared by the test sessions of this machine (pytest-xdist workers): locks, the daemon's state.
STATE = Path(tempfile.gettempdir()) / "djsupervisor-docker"
DAEMON_START = 60.0  # seconds for a new dockerd to answer
TOOLS = ("docker", "dockerd", "docker-compose", "debootstrap")
TOOLS_PACKAGES = "docker.io, docker-compose and debootstrap"
# What the checkout's copy for its wheel leaves out: builds, caches, environments.
COPY_IGNORED = ("build", "dist", "*.egg-info", ".git", ".tox", ".venv", "venv", "*cache*", "_build")
STARTED: dict[int, subprocess.Popen[bytes]] = {}  # the daemons this session started, to reap


@contextlib.contextmanager
def locked(name: str) -> Iterator[None]:
    """Hold an exclusive lock shared by this machine's test sessions."""
    STATE.mkdir(exist_ok=True)
    with (STATE / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command, its output captured; fail the test with that output if it fails."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode:
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}",
            pytrace=False,
        )
    return result


def daemon_answers() -> bool:
    try:
        return run("docker", "info", timeout=30, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _pid_alive(pid: int) -> bool:
    """Tell whether ``pid`` is a running dockerd (not a zombie, not a reused pid)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return command.split(b"\0")[0].endswith(b"dockerd")


def _read_state() -> dict[str, int]:
    try:
        state: dict[str, int] = json.loads((STATE / "daemon.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return state if state.get("pid") and _pid_alive(state["pid"]) else {}


def _write_state(state: dict[str, int]) -> None:
    (STATE / "daemon.json").write_text(json.dumps(state))


def start_daemon() -> int:
    """Start dockerd with its defaults; return its pid once it answers."""
    log = (STATE / "dockerd.log").open("ab")
    daemon = subprocess.Popen(
        ["dockerd"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + DAEMON_START
    while not daemon_answers():
        if daemon.poll() is not None or time.monotonic() > deadline:
            if daemon.poll() is None:
                daemon.terminate()
                daemon.wait(30)
            tail = (STATE / "dockerd.log").read_text(errors="replace")[-2000:]
            require(False, f"a working dockerd (it did not answer; its log ends:\n{tail})")
        time.sleep(0.2)
    STARTED[daemon.pid] = daemon
    return daemon.pid


@pytest.fixture(scope="session")
def docker_daemon() -> Iterator[None]:
    """Make sure a Docker daemon answers: start one if need be, stop it when done."""
    missing = [tool for tool in TOOLS if not shutil.which(tool)]
    require(not missing, f"{TOOLS_PACKAGES} (missing: {', '.join(missing)})")
    with locked("daemon"):
        state = _read_state()
        if state:  # started by a test session that is still using it
            state["users"] += 1
        elif not daemon_answers():  # not running: ours to start and stop
            state = {"pid": start_daemon(), "users": 1}
        if state:
            _write_state(state)
    try:
        yield
    finally:
        with locked("daemon"):
            state = _read_state()
            if state:
                state["users"] -= 1
                _write_state(state)
                if state["users"] <= 0:
                    _stop_daemon(state["pid"])
                    (STATE / "daemon.json").unlink()


def _stop_daemon(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    if pid in STARTED:  # this session's child: reap it
        STARTED.pop(pid).wait(30)


def debian_mirror() -> str:
    """Return the Debian archive apt uses on this machine (deb822 or one-line sources)."""
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for path in sources:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                found = re.match(r"\s*(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s*$", line)
                found = found or re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", line)
                if found:
                    return found.group(1)
    return DEFAULT_MIRROR


def image_exists(tag: str) -> bool:
    return run("docker", "image", "inspect", tag, check=False).returncode == 0


@pytest.fixture(scope="session")
def base_image(docker_daemon: None) -> str:
    """Return the tag of a Debian bookworm image with python3 and venv: built once, kept."""
    with locked("base-image"):
        if not image_exists(BASE_IMAGE):
            build_base_image(BASE_IMAGE)
    return BASE_IMAGE


@pytest.fixture(scope="session")
def systemd_image(docker_daemon: None) -> str:
    """Return the tag of the base image with systemd to boot: built once, kept."""
    with locked("systemd-image"):
        if not image_exists(SYSTEMD_IMAGE):
            build_base_image(SYSTEMD_IMAGE, SYSTEMD_PACKAGES)
    return SYSTEMD_IMAGE


def build_base_image(tag: str, packages: str = BASE_PACKAGES) -> None:
    root = Path(tempfile.mkdtemp(prefix="djs-debootstrap-", dir="/var/tmp"))
    try:
        run(
            "debootstrap",
            "--variant=minbase",
            f"--include={packages}",
            "bookworm",
            str(root),
            debian_mirror(),
            timeout=900,
        )
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run(
            ["docker", "import", "-", tag], stdin=tar.stdout, capture_output=True, text=True
        )
        assert tar.stdout is not None
        tar.stdout.close()
        tar.wait()
        if imported.returncode or tar.returncode:
            pytest.fail(f"docker import {tag} failed: {imported.stderr}", pytrace=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a directory of wheels: this checkout and what it and the example need, for 3.11."""
    found = tmp_path_factory.mktemp("wheels")
    # From a copy of the checkout as it is: setuptools leaves build/ where it
    # builds, and a stale build/lib would put deleted files in the next wheel.
    source = tmp_path_factory.mktemp("source") / "djsupervisor"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*COPY_IGNORED))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "wheel", "--no-deps", "-w", str(found), str(source))
    (checkout,) = found.glob("djsupervisor-*.whl")
    # The dependencies, as wheels for the image's Python (it may not be this one).
    run(
        *pip,
        "download",
        "--only-binary=:all:",
        f"--python-version={IMAGE_PYTHON}",
        "--platform=manylinux2014_x86_64",
        "-d",
        str(found),
        f"{checkout}[example]",
    )
    return found


@dataclass
class ComposeProject:
    """A Compose project in a directory: ``docker-compose`` run there under a unique name."""

    directory: Path
    name: str
    images: tuple[str, ...] = ()  # the tags its builds make, removed with it

    def compose(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        try:
            result = subprocess.run(
                ["docker-compose", "--ansi", "never", "-p", self.name, *args],
                cwd=self.directory,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"docker-compose {' '.join(args)} took more than {timeout:.0f} s:\n{self.state()}",
                pytrace=False,
            )
        if check and result.returncode:
            pytest.fail(
                f"docker-compose {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n{self.state()}",
                pytrace=False,
            )
        return result

    def state(self) -> str:
        """Return what its services are doing and their output, to say why a step failed."""
        listing = ["docker-compose", "--ansi", "never", "-p", self.name]
        shown = [
            subprocess.run([*listing, *args], cwd=self.directory, capture_output=True, text=True)
            for args in (["ps"], ["logs", "--tail", "40"])
        ]
        return "".join(done.stdout + done.stderr for done in shown)

    def ids(self, kind: str) -> list[str]:
        """Return the ids of the project's containers, networks or volumes (by its label)."""
        listing = ["docker", kind, "ls"] if kind != "container" else ["docker", "ps", "-a"]
        label = f"label=com.docker.compose.project={self.name}"
        return run(*listing, "-q", "--filter", label, check=False).stdout.split()

    def remove(self) -> None:
        """Remove every container, network and volume of the project, and the images it built."""
        self.compose("down", "--volumes", "--remove-orphans", check=False)
        for kind in ("container", "network", "volume"):
            for found in self.ids(kind):
                run("docker", kind, "rm", "-f", found, check=False)
        for image in self.images:
            run("docker", "image", "rm", image, check=False)


@dataclass
class Made:
    """What a test makes in Docker, each kept by id and removed with it: see :meth:`remove`."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # tags

    def network(self, name: str) -> str:
        made = run("docker", "network", "create", name).stdout.strip()
        self.networks.append(made)
        return made

    def volume(self, name: str) -> str:
        made = run("docker", "volume", "create", name).stdout.strip()
        self.volumes.append(made)
        return made

    def build(self, tag: str, dockerfile: Path, context: Path) -> None:
        """Build ``tag`` from ``dockerfile`` with ``context``, as ``docker build`` does."""
        self.images.append(tag)
        run("docker", "build", "-q", "-f", str(dockerfile), "-t", tag, str(context))

    def start(self, *args: str) -> str:
        """Start a container, ``docker run -d ARGS``; return its id."""
        made = run("docker", "run", "-d", *args).stdout.strip()
        self.containers.append(made)
        return made

    def remove(self) -> None:
        """Remove the containers (killed), then the networks, volumes and images made."""
        for container in self.containers:
            run("docker", "rm", "-f", "-v", container, check=False)
        for network in self.networks:
            run("docker", "network", "rm", network, check=False)
        for volume in self.volumes:
            run("docker", "volume", "rm", volume, check=False)
        for image in self.images:
            run("docker", "image", "rm", image, check=False)


def cgroup_v2() -> bool:
    """Tell whether this machine has the unified cgroup hierarchy alone (cgroup v2).

    Its root holds cgroup.controllers; a v1 or hybrid machine's holds one
    directory per controller (and the unified one in ``unified/``).
    """
    return Path("/sys/fs/cgroup/cgroup.controllers").exists()


@dataclass
class SystemdContainer:
    """A container whose PID 1 is systemd, known by its id: started, used, removed."""

    id: str

    @classmethod
    def boot(cls, image: str, name: str) -> SystemdContainer:
        """Start ``image``'s /sbin/init in a new container named ``name``; return it once booted.

        systemd needs SYS_ADMIN without seccomp's filter to mount what it
        mounts (``--privileged`` asks for a capability not granted here), its
        own /run, and the host's cgroups: read-only on a cgroup v1 (hybrid)
        machine, as measured here; on a cgroup v2 machine (not tried here)
        read-write in the container's own cgroup namespace, as systemd
        needs there.
        """
        cgroups = (
            ["--cgroupns", "private", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"]
            if cgroup_v2()
            else ["-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro"]
        )
        started = run(
            *("docker", "run", "-d", "--name", name, "--cap-add", "SYS_ADMIN"),
            *("--security-opt", "seccomp=unconfined", "--tmpfs", "/run", "--tmpfs", "/run/lock"),
            *cgroups,
            *(image, "/sbin/init"),
        )
        container = cls(started.stdout.strip())
        try:
            container.wait_booted()
        except BaseException:
            container.remove()
            raise
        return container

    def wait_booted(self) -> None:
        deadline = time.monotonic() + SYSTEMD_BOOT
        while True:
            state = self.exec("systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"systemd in {self.id[:12]} did not boot: {state}", pytrace=False)
            time.sleep(0.2)

    def exec(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` in the container as root; fail the test if it fails (``check``)."""
        return run("docker", "exec", self.id, *args, check=check, timeout=timeout)

    def copy(self, source: str | Path, destination: str) -> None:
        """Copy a file or directory (``DIR/.``: what it holds) into the container, modes kept."""
        run("docker", "cp", str(source), f"{self.id}:{destination}")

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        """Return the unit's properties, as ``systemctl show`` says them."""
        said = self.exec("systemctl", "show", unit, "-p", ",".join(properties)).stdout
        return dict(line.split("=", 1) for line in said.splitlines() if "=" in line)

    def remove(self) -> None:
        run("docker", "rm", "-f", self.id, check=False)
