"""A Procfile export run the way docs/exporting.rst says: ``honcho start`` in the output folder."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..needs import require
from ..support import REPO, WAIT, alive, descendants, free_port, run_example_task, wait_for
from .conftest import Project
from .test_foreground import Lines

pytestmark = pytest.mark.integration
# As a user runs honcho: with the project's virtualenv active (its bin first on PATH).
VENV_BIN = str(Path(sys.executable).parent)


class Honcho:
    """``honcho ARGS`` run in a directory with the virtualenv on PATH; stopped by pid."""

    def __init__(self, project: Project, directory: Path) -> None:
        self.env = {**project.env, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
        self.env.pop("PORT", None)
        self.directory = directory
        found = shutil.which("honcho", path=self.env["PATH"])
        require(found, "honcho")
        self.honcho = str(found)
        self.started: list[subprocess.Popen[bytes]] = []
        self.pids: set[int] = set()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.honcho, *args],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=WAIT,
            stdin=subprocess.DEVNULL,
        )

    def start(self, *args: str) -> tuple[subprocess.Popen[bytes], Lines]:
        process = subprocess.Popen(
            [self.honcho, *args],
            cwd=self.directory,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, to signal as a terminal would
        )
        self.started.append(process)
        assert process.stdout is not None
        return process, Lines(process.stdout)

    def watch(self, process: subprocess.Popen[bytes]) -> None:
        """Remember honcho's processes now, to make sure that they are gone at the end."""
        self.pids.update([process.pid, *descendants(process.pid)])

    def stop(self, process: subprocess.Popen[bytes]) -> int:
        """SIGTERM honcho's process group, as Ctrl-C in its terminal would; return its status."""
        self.watch(process)
        os.killpg(process.pid, signal.SIGTERM)
        return process.wait(WAIT)

    def cleanup(self) -> None:
        for process in self.started:
            if process.poll() is None:
                self.watch(process)
        for pid in alive(self.pids):
            os.kill(pid, signal.SIGKILL)
        for process in self.started:
            if process.poll() is None:
                process.wait(WAIT)


@pytest.fixture
def honcho_in(project: Project) -> Iterator[list[Honcho]]:
    made: list[Honcho] = []
    yield made
    for honcho in made:
        honcho.cleanup()


@pytest.mark.smoke
def test_honcho_start_serves_the_example_and_its_worker_runs_tasks(
    project: Project, honcho_in: list[Honcho]
) -> None:
    pytest.importorskip("django_tasks_db", reason="the example needs the [example] extra")
    shutil.rmtree(project.path)
    shutil.copytree(
        REPO / "example_project", project.path, ignore=shutil.ignore_patterns("*.sqlite3")
    )
    # As the docs' "Deploy it" says: production settings, the production env file.
    project.write("production.env", "DJANGO_DEBUG=0\nDJANGO_SECRET_KEY=procfile-test-key\n")
    project.env["DJANGO_DEBUG"] = "0"
    output = project.path.parent / "procfile"
    done = project.run(
        *("export", "procfile", "--output", str(output), "--env-file", "production.env")
    )
    assert done.returncode == 0, done.stderr
    assert "Procfile.release" in done.stderr  # the warning says how to run migrate
    assert not re.search(r"DEBUG is on|this machine's environment file", done.stderr)
    procfile = (output / "Procfile").read_text()
    assert sys.executable not in procfile and "$PORT" in procfile  # python from PATH
    honcho = Honcho(project, output)
    honcho_in.append(honcho)
    released = honcho.run("-f", "Procfile.release", "start")
    assert released.returncode == 0, released.stdout + released.stderr
    assert "Applying sessions.0001_initial... OK" in released.stdout

    port = free_port()
    process, output_lines = honcho.start("start", "-p", str(port))
    started = output_lines.wait_for(r"db_worker\.1 started \(pid=(\d+)\)")
    worker_pid = int(re.findall(r"pid=(\d+)", started[0])[0])
    # The worker honcho started (its line's exec: the same pid) did the task.
    base = f"http://127.0.0.1:{port}"
    assert run_example_task(base, "a b c d") == {"words": 4, "pid": worker_pid}
    assert process.poll() is None, output_lines.last()
    honcho.watch(process)
    assert len(alive(honcho.pids)) >= 4  # honcho, gunicorn and its 2 workers, db_worker
    honcho.stop(process)
    wait_for(lambda: not alive(honcho.pids), "every process honcho started to end", timeout=15)


SHELL_WORDS = """
[program:talk]
command=echo hi > {file} $(touch {touched}) `touch {touched}` 'a  b' *
autorestart=false
startsecs=0
"""


def test_a_procfile_line_prints_what_supervisord_prints_and_writes_nothing(
    project: Project, honcho_in: list[Honcho]
) -> None:
    written, touched = project.path / "written.txt", project.path / "touched.txt"
    project.write("supervisord.conf", SHELL_WORDS.format(file=written, touched=touched))
    expected = f"hi > {written} $(touch {touched}) `touch {touched}` a  b *"

    foreground = project.start_foreground(stdout=subprocess.PIPE, text=False)
    assert foreground.stdout is not None
    supervisord = Lines(foreground.stdout)
    said = supervisord.wait_for(r"^talk +\| ")
    foreground.send_signal(signal.SIGINT)
    assert foreground.wait(WAIT) == 0
    assert said[0].split("| ", 1)[1] == expected

    # --workdir: the project's paths as they are here (without it, a Procfile
    # says them relative to its folder: ./written.txt, the same file).
    output = project.path.parent / "procfile"
    export = ("export", "procfile", "--output", str(output), "--workdir", str(project.path))
    assert project.run(*export).returncode == 0
    honcho = Honcho(project, output)
    honcho_in.append(honcho)
    process, lines = honcho.start("start")
    assert process.wait(WAIT) == 0, lines.last()
    printed = [line.split("| ", 1)[1] for line in lines.lines if re.search(r"talk\.1 +\| ", line)]
    assert printed == [expected]
    assert not written.exists() and not touched.exists()
    assert sorted(path.name for path in output.iterdir()) == ["Procfile"]
