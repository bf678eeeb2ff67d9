"""A real Django project in a temporary directory, driven through manage.py.

Every process a test starts is ended by pid at teardown: supervisord (from its
pidfile), the programs it started (from the status it reported) and, as a last
resort, anything still carrying this project's SUPERVISOR_SERVER_URL.
"""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
import xmlrpc.client
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from djsupervisor.control import Server
from djsupervisor.runtime import default_base_dir, project_key
from djsupervisor.stale import find_orphans, is_alive, read_pid, stop_process_groups

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WAIT = 30.0  # seconds: the most a test waits for something it expects to happen

SETTINGS = """
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "integration-tests"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["djsupervisor"]
ROOT_URLCONF = "urls"
DATABASES = {}
USE_TZ = True
"""

URLS = """
from django.http import HttpResponse
from django.urls import path

def hello(request):
    return HttpResponse((Path(__file__).parent / "greeting.txt").read_text())

from pathlib import Path
urlpatterns = [path("", hello)]
"""

MANAGE = """
import os, sys
if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def wait_for(predicate: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    """Poll ``predicate`` until it returns something true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def http_get(port: int) -> str | None:
    """Return the body served on ``port`` at /, or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
            return answer.read().decode()
    except OSError:
        return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Project:
    """A throwaway Django project with djsupervisor installed."""

    path: Path
    env: dict[str, str]
    seen_pids: set[int] = field(default_factory=set)
    foreground: list[subprocess.Popen[str]] = field(default_factory=list)

    def write(self, name: str, text: str) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
        return target

    def add_settings(self, text: str) -> None:
        with (self.path / "settings.py").open("a") as settings:
            settings.write(textwrap.dedent(text))

    def command(self, *args: str) -> list[str]:
        return [sys.executable, str(self.path / "manage.py"), "supervisor", *args]

    def run(self, *args: str, timeout: float = 60) -> Result:
        done = subprocess.run(
            self.command(*args),
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def start_foreground(self, *args: str, **popen: object) -> subprocess.Popen[str]:
        popen.setdefault("stdout", subprocess.DEVNULL)
        popen.setdefault("stderr", subprocess.DEVNULL)
        popen.setdefault("text", True)
        process = subprocess.Popen(self.command(*args), cwd=self.path, env=self.env, **popen)
        self.foreground.append(process)
        return process

    def config(self) -> configparser.RawConfigParser:
        config = self.config_or_none()
        assert config is not None, self.run("getconfig").stderr
        return config

    def config_or_none(self) -> configparser.RawConfigParser | None:
        result = self.run("getconfig")
        if result.returncode != 0:
            return None
        parser = configparser.RawConfigParser(interpolation=None)
        parser.read_string(result.stdout)
        return parser

    def server(self) -> Server:
        return server_of(self.config())

    def pidfile(self) -> Path:
        return Path(self.config()["supervisord"]["pidfile"])

    def logfile(self) -> Path:
        return Path(self.config()["supervisord"]["logfile"])

    def runtime_dir(self) -> Path:
        """Return the project's runtime directory (where the rendered config lives)."""
        return default_base_dir() / project_key(self.path.resolve())

    def processes(self, server: Server | None = None) -> dict[str, dict[str, object]]:
        """Return supervisord's process info by name (and remember the pids)."""
        try:
            infos = (server or self.server()).proxy().supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Error):
            return {}
        for info in infos:
            if info["pid"]:
                self.seen_pids.add(info["pid"])
        return {info["name"]: info for info in infos}

    def wait_running(self, *names: str, server: Server | None = None) -> dict[str, int]:
        """Wait until ``names`` are RUNNING; return their pids."""
        server = server or self.server()

        def running() -> dict[str, int] | None:
            infos = self.processes(server)
            if all(infos.get(n, {}).get("statename") == "RUNNING" for n in names):
                return {n: int(infos[n]["pid"]) for n in names}
            return None

        try:
            return wait_for(running, f"{names} to be RUNNING")  # type: ignore[return-value]
        except AssertionError as exc:
            # Say what supervisord reported last, so a failure can be diagnosed.
            raise AssertionError(f"{exc}; supervisord reports {self.processes(server)}") from None

    def cleanup(self) -> None:
        for process in self.foreground:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(WAIT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        # The tests use the default runtime location: find it by the library's
        # own rule, so that even a config the test broke leaves nothing behind.
        runtime = self.runtime_dir()
        pidfiles, sockets = [runtime / "supervisord.pid"], [runtime / "supervisor.sock"]
        config = self.config_or_none()  # None when the test broke the config
        if config is not None:
            self.processes(server_of(config))
            pidfiles.append(Path(config["supervisord"]["pidfile"]))
            if config.has_option("unix_http_server", "file"):
                sockets.append(Path(config["unix_http_server"]["file"]))
        for pidfile in pidfiles:
            supervisord = read_pid(pidfile)
            if supervisord and is_alive(supervisord):
                os.kill(supervisord, signal.SIGKILL)
        for path in sockets:
            self.seen_pids.update(find_orphans(f"unix://{path}"))
        stop_process_groups(sorted(pids_alive(self.seen_pids)))
        shutil.rmtree(runtime, ignore_errors=True)


def server_of(config: configparser.RawConfigParser) -> Server:
    """Return how to reach the supervisord that ``config`` (getconfig's output) describes."""
    ctl = config["supervisorctl"]
    return Server(ctl["serverurl"], ctl.get("username"), ctl.get("password"))


@pytest.fixture
def new_project(tmp_path: Path) -> Iterator[Callable[[str], Project]]:
    """Return a factory of projects under ``tmp_path``; clean them all up afterwards."""
    made: list[Project] = []
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def make(name: str) -> Project:
        path = tmp_path / name
        path.mkdir()
        proj = Project(path, dict(env))
        proj.write("manage.py", MANAGE)
        proj.write("settings.py", SETTINGS)
        proj.write("urls.py", URLS)
        proj.write("greeting.txt", "hello from djsupervisor")
        made.append(proj)
        return proj

    try:
        yield make
    finally:
        for proj in made:
            proj.cleanup()


@pytest.fixture
def project(new_project: Callable[[str], Project]) -> Project:
    return new_project("proj")


def pids_alive(pids: Iterable[int]) -> list[int]:
    return [pid for pid in pids if is_alive(pid)]


def _children_by_parent() -> dict[int, list[int]]:
    """Return every process's children, by parent pid."""
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue  # gone meanwhile
            found.setdefault(ppid, []).append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    """Return the processes whose parent is ``pid``."""
    return _children_by_parent().get(pid, [])


def descendants(pid: int) -> list[int]:
    """Return every process below ``pid``."""
    by_parent = _children_by_parent()
    found, todo = [], [pid]
    while todo:
        below = by_parent.get(todo.pop(), [])
        found += below
        todo += below
    return found
