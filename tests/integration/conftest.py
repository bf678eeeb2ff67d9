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
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from djsupervisor.client import Client
from djsupervisor.control.stale import SERVER_URL_VARIABLE
from djsupervisor.errors import DjsupervisorError
from djsupervisor.proctable import (
    ProcessId,
    is_alive,
    read_pid,
    stop_process_groups,
    with_environment,
)
from djsupervisor.runtime import default_base_dir, project_key

from ..support import REPO, WAIT, command_lines, wait_for

pytestmark = pytest.mark.integration

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


# supervisor commands that print what the programs wrote.
PROGRAM_OUTPUT = frozenset({"tail", "logs", "maintail", "fg", "attach", "run"})
TRACEBACK = "Traceback (most recent call last)"


def assert_no_traceback(args: tuple[str, ...], output: str) -> None:
    """Fail if a command printed a Python traceback: every error must be one clear line."""
    assert TRACEBACK not in output, f"manage.py {' '.join(args)} printed a traceback:\n{output}"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Project:
    """A throwaway Django project with djsupervisor installed."""

    path: Path
    env: dict[str, str]
    seen: set[ProcessId] = field(default_factory=set)  # every program process it reported
    foreground: list[subprocess.Popen[Any]] = field(default_factory=list)
    python: str = sys.executable  # the Python its manage.py runs with (a virtualenv's)

    def write(self, name: str, text: str) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
        return target

    def add_settings(self, text: str) -> None:
        with (self.path / "settings.py").open("a") as settings:
            settings.write(textwrap.dedent(text))

    def command(self, *args: str) -> list[str]:
        return [self.python, str(self.path / "manage.py"), "supervisor", *args]

    def run(self, *args: str, timeout: float = 60, traceback: bool = False) -> Result:
        """Run ``manage.py supervisor ARGS``; see :meth:`run_manage` for ``traceback``."""
        return self.run_manage("supervisor", *args, timeout=timeout, traceback=traceback)

    def run_manage(self, *args: str, timeout: float = 60, traceback: bool = False) -> Result:
        """Run ``manage.py ARGS``.

        Fail if it prints a Python traceback, unless the test asks for one
        (``traceback=True``) or the command shows the programs' own output,
        where a program's traceback is what the user asked to see.
        """
        done = subprocess.run(
            [self.python, str(self.path / "manage.py"), *args],
            cwd=self.path,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        shows_output = PROGRAM_OUTPUT.intersection(args[1:2])
        if not (traceback or shows_output):
            assert_no_traceback(args, done.stdout + done.stderr)
        return Result(done.returncode, done.stdout, done.stderr)

    def start_foreground(self, *args: str, **popen: Any) -> subprocess.Popen[Any]:
        popen.setdefault("stdout", subprocess.DEVNULL)
        popen.setdefault("stderr", subprocess.DEVNULL)
        popen.setdefault("text", True)
        process: subprocess.Popen[Any] = subprocess.Popen(
            self.command(*args), cwd=self.path, env=self.env, **popen
        )
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

    def client(self) -> Client:
        """Return the client of the running supervisord (else of the config getconfig prints).

        Until supervisord first starts, getconfig's password is a fresh one
        each time: the stored one is made by the start.
        """
        rendered = self.runtime_dir() / "supervisord.conf"
        if rendered.exists():
            parser = configparser.RawConfigParser(interpolation=None)
            parser.read_string(rendered.read_text())
            return client_of(parser)
        return client_of(self.config())

    def pidfile(self) -> Path:
        return Path(self.config()["supervisord"]["pidfile"])

    def logfile(self) -> Path:
        return Path(self.config()["supervisord"]["logfile"])

    def runtime_dir(self) -> Path:
        """Return the project's runtime directory (where the rendered config lives)."""
        # The path as the project is reached, symbolic links and all.
        return default_base_dir() / project_key(Path(os.path.normpath(self.path)))

    def processes(self, client: Client | None = None) -> dict[str, dict[str, Any]]:
        """Return supervisord's process info by name (and remember the processes)."""
        try:
            infos = (client or self.client()).call("supervisor.getAllProcessInfo")
        except DjsupervisorError:
            return {}
        for info in infos:
            if info["pid"]:
                self.seen.add(ProcessId.of(info["pid"]))
        return {info["name"]: info for info in infos}

    def wait_running(self, *names: str, client: Client | None = None) -> dict[str, int]:
        """Wait until ``names`` are RUNNING; return their pids."""

        def running() -> dict[str, int] | None:
            infos = self.processes(client)
            if all(infos.get(n, {}).get("statename") == "RUNNING" for n in names):
                return {n: int(infos[n]["pid"]) for n in names}
            return None

        try:
            return wait_for(running, f"{names} to be RUNNING")
        except TimeoutError as exc:
            # Say what supervisord reported last, so a failure can be diagnosed.
            raise AssertionError(f"{exc}; supervisord reports {self.processes(client)}") from None

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
            self.processes(client_of(config))
            pidfiles.append(Path(config["supervisord"]["pidfile"]))
            if config.has_option("unix_http_server", "file"):
                sockets.append(Path(config["unix_http_server"]["file"]))
        for pidfile in pidfiles:
            supervisord = read_pid(pidfile)
            # A pidfile left by a killed supervisord may name a process that
            # got its pid since: kill only one that runs this project.
            if supervisord and is_alive(supervisord) and self.runs_here(supervisord):
                os.kill(supervisord, signal.SIGKILL)
        for path in sockets:
            self.seen.update(with_environment(SERVER_URL_VARIABLE, f"unix://{path}"))
        stop_process_groups(self.seen)
        shutil.rmtree(runtime, ignore_errors=True)

    def runs_here(self, pid: int) -> bool:
        """Tell whether process ``pid`` is this project's command or supervisord."""
        argv = command_lines().get(pid, [])
        return any(str(self.path) in word or str(self.runtime_dir()) in word for word in argv)


def client_of(config: configparser.RawConfigParser) -> Client:
    """Return how to reach the supervisord that ``config`` (getconfig's output) describes."""
    ctl = config["supervisorctl"]
    return Client(ctl["serverurl"], ctl.get("username"), ctl.get("password"))


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
