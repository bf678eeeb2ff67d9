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
from dataclasses import dataclass
from pathlib import Path

import pytest

from .needs import require
from .support import REPO

BASE_IMAGE = "djsupervisor-test/bookworm-python:1"  # Debian's python3: 3.11
IMAGE_PYTHON = "3.11"  # the base image's Python, which the wheels are for
# debootstrap's packages: a venv (pip from ensurepip) and HTTPS certificates.
BASE_PACKAGES = "python3,python3-venv,ca-certificates"
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


def build_base_image(tag: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="djs-debootstrap-", dir="/var/tmp"))
    try:
        run(
            "debootstrap",
            "--variant=minbase",
            f"--include={BASE_PACKAGES}",
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
