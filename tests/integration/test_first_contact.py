"""README's quick start and docs/quickstart.rst, followed as written in a new virtualenv.

The code blocks are read from the two pages by their ``:name:``. A project
made by ``django-admin startproject`` gets the settings and the
supervisord.conf they show; a new virtualenv gets what they say to pip
install (this checkout for ``/path/to/djsupervisor``, the rest from the
package index); their commands run, and what a user sees is checked: the
output the quick start shows, the states, the page served.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from djsupervisor.proctable import is_alive

from ..support import REPO, WAIT, free_port, http_get, wait_for
from .conftest import Project
from .test_foreground import Lines

pytestmark = pytest.mark.integration

README = REPO / "README.rst"
QUICKSTART = REPO / "docs" / "quickstart.rst"
CHECKOUT = "/path/to/djsupervisor"  # how the pages name a checkout of this repository
DOCS_PORT = "8000"  # the pages' port; a free one replaces it, 8000 may be taken here
PIP_TIMEOUT = 600  # seconds: pip may download from the package index
LOOK_AGAIN = 10  # seconds a test runs `logs` again for a line still on its way
WELCOME = "The install worked successfully!"  # startproject's page in debug mode
LOGS_LINES = 20  # what `logs` prints by default
# What a checkout's copy leaves out: version control, caches, builds, virtualenvs.
NOT_COPIED = (".git", ".tox", ".venv*", "*cache*", "*.egg-info", "_build", ".coverage*")
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"


# -- The pages' code blocks ---------------------------------------------------


def indentation(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def code_blocks(page: Path) -> dict[str, str]:
    """Return the content of ``page``'s named code blocks (``:name:``), dedented, by name."""
    lines = page.read_text().splitlines()
    found: dict[str, str] = {}
    for number, line in enumerate(lines):
        if not re.fullmatch(r" *\.\. code-block:: \S+", line):
            continue
        directive = indentation(line)
        inside = lines[number + 1 :]
        end = next(  # the first line not indented under the directive
            (i for i, text in enumerate(inside) if text.strip() and indentation(text) <= directive),
            len(inside),
        )
        body = inside[:end]
        options = {}
        while body and (option := re.fullmatch(r" +:(\w+):\s*(.*)", body[0])):
            options[option[1]] = option[2]
            body = body[1:]
        if "name" in options:
            found[options["name"]] = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
    return found


def block(page: Path, name: str) -> str:
    blocks = code_blocks(page)
    assert name in blocks, f"no code block named {name} in {page}"
    return blocks[name]


def for_django(text: str, django: tuple[int, int]) -> str:
    """Keep the lines of ``text`` meant for ``django``: a comment may say "Django 5.2 (only)"
    or "Django 6.0 and later"; lines that name no version are for all."""
    kept = []
    for line in text.splitlines():
        said = re.search(r"#.*\bDjango (\d+)\.(\d+)( and later)?", line)
        if said:
            version = (int(said[1]), int(said[2]))
            if not (django >= version if said[3] else django == version):
                continue
        kept.append(line)
    return "\n".join(kept) + "\n"


@dataclass
class Step:
    """One ``$`` command of a console block and the output the page shows for it."""

    words: list[str]
    shown: list[str]


def session(text: str) -> list[Step]:
    steps: list[Step] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append(Step(shlex.split(line[2:], comments=True), []))
        else:
            steps[-1].shown.append(line)
    return steps


# A line as a page shows it, in pieces: what of it is this run's own, and the rest.
PIECES = re.compile(
    rf"(?P<any>\.\.\.)|(?P<path>(?<!\S)/[^\s,]*)|(?P<number>\d+)|(?P<space>\s+)"
    rf"|(?P<month>\b(?:{MONTHS})\b)|(?P<noon>\b[AP]M\b)|(?P<text>.)"
)
AS_RUN = {  # how each piece may differ in this run
    "any": ".*",  # the page left this out
    "path": r"/[^\s,]*",
    "number": r"\d+",  # pids, times, sizes, ports, versions
    "space": r"\s+",  # columns are as wide as this run's values
    "month": rf"(?:{MONTHS})",
    "noon": "[AP]M",
}


def line_pattern(shown: str) -> str:
    """Return a regex for a line as a page shows it (see PIECES and AS_RUN)."""
    return "".join(
        AS_RUN.get(piece.lastgroup or "", re.escape(piece[0]))
        for piece in PIECES.finditer(shown.rstrip())
    )


def shows(shown: list[str], real: str) -> bool:
    """Tell whether ``real`` is the output shown, line by line; a line ``...`` skips lines."""
    pattern = "".join(
        r"(?:.*\n)*?" if line == "..." else line_pattern(line) + r"[ \t]*\n" for line in shown
    )
    text = "".join(line.rstrip() + "\n" for line in real.splitlines())
    return re.fullmatch(pattern, text) is not None


def assert_output_is(shown: list[str], real: str, words: list[str]) -> None:
    assert shows(shown, real), (
        f"the page shows for {shlex.join(words)}:\n"
        + "\n".join(shown)
        + f"\nwhich printed:\n{real}"
    )


# -- A new virtualenv and a new project ---------------------------------------


@dataclass
class Venv:
    path: Path
    env: dict[str, str]
    checkout: Path  # what the pages' /path/to/djsupervisor stands for

    def program(self, word: str) -> str:
        """Return the virtualenv's program called ``word`` (python, pip, django-admin)."""
        installed = self.path / "bin" / word
        assert installed.exists(), f"{word} is not in the virtualenv"
        return str(installed)

    def run(
        self, words: list[str], cwd: Path, timeout: float = WAIT * 2
    ) -> subprocess.CompletedProcess[str]:
        """Run ``words`` as a user would in a shell where the virtualenv is active."""
        argv = [
            self.program(words[0]),
            *(str(self.checkout) if w == CHECKOUT else w for w in words[1:]),
        ]
        return subprocess.run(
            argv,
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def install(self, words: list[str], cwd: Path) -> None:
        assert words[0] in ("pip", "python") and "install" in words, words
        done = self.run(words, cwd, timeout=PIP_TIMEOUT)
        assert done.returncode == 0, f"{shlex.join(words)} failed:\n{done.stdout}{done.stderr}"

    def django(self) -> tuple[int, int]:
        done = self.run(["python", "-c", "import django; print(*django.VERSION[:2])"], REPO)
        assert done.returncode == 0, done.stderr
        major, minor = done.stdout.split()
        return int(major), int(minor)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """Return a new virtualenv, empty but for pip, shared by the module's tests.

    Its checkout is a copy of this one's working tree: in debug mode the
    autoreload program watches an editable install's sources, which someone
    may be editing here, and pip writes its build files next to them.
    """
    base = tmp_path_factory.mktemp("first-contact")
    checkout = base / "djsupervisor"
    shutil.copytree(REPO, checkout, ignore=shutil.ignore_patterns(*NOT_COPIED))
    path = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=WAIT * 4)
    env = dict(os.environ)  # pip's own settings and cache stay
    for variable in (
        "PYTHONPATH",
        "PYTHONHOME",
        "DJANGO_SETTINGS_MODULE",
        "PYTHONDONTWRITEBYTECODE",
    ):
        env.pop(variable, None)
    env["VIRTUAL_ENV"] = str(path)
    env["PATH"] = os.pathsep.join([str(path / "bin"), env.get("PATH", "")])
    return Venv(path, env, checkout)


@pytest.fixture
def cleanup(venv: Venv) -> Iterator[Callable[[Path], Project]]:
    """Return a function that registers a project directory to clean up after the test.

    Cleaning up ends, by pid, supervisord and the programs of each project
    (see conftest's Project), however the test ended.
    """
    made: list[Project] = []

    def register(path: Path) -> Project:
        made.append(Project(path, venv.env, python=venv.program("python")))
        return made[-1]

    try:
        yield register
    finally:
        for project in made:
            project.cleanup()


def again_until(
    good: Callable[[str], bool], venv: Venv, words: list[str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``words`` until their output is ``good`` (or a few seconds have passed): a
    program's latest line may still be on its way to its log, and a user would look again."""
    deadline = time.monotonic() + LOOK_AGAIN
    while True:
        done = venv.run(words, cwd)
        if good(done.stdout) or time.monotonic() > deadline:
            return done
        time.sleep(0.2)


def startproject(venv: Venv, words: list[str], cwd: Path) -> Path:
    """Run ``django-admin startproject NAME``; return the project's directory."""
    assert words[:2] == ["django-admin", "startproject"] and len(words) == 3, words
    done = venv.run(words, cwd)
    assert done.returncode == 0, done.stderr
    return cwd / words[2]


def add_settings(project: Path, snippet: str, django: tuple[int, int]) -> None:
    """Do to the project's settings.py what ``snippet`` shows: add its INSTALLED_APPS
    to the list (``...`` being what is there), set the other settings it has."""
    settings = project / project.name / "settings.py"
    text = settings.read_text()
    snippet = for_django(snippet, django)
    for statement in ast.parse(snippet).body:
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == "INSTALLED_APPS"
        ):
            assert isinstance(statement.value, ast.List), snippet
            apps = [ast.literal_eval(e) for e in statement.value.elts if not is_ellipsis(e)]
            listed = re.search(r"^INSTALLED_APPS = \[\n(?:.*\n)*?\]\n", text, re.M)
            assert listed, "no INSTALLED_APPS in startproject's settings"
            new = "".join(f"    {app!r},\n" for app in apps if repr(app) not in listed[0])
            text = text[: listed.end() - 2] + new + text[listed.end() - 2 :]
        else:
            text += "\n" + (ast.get_source_segment(snippet, statement) or "") + "\n"
    settings.write_text(text)


def is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def add_conf(project: Path, snippet: str, port: int) -> None:
    """Add ``snippet`` to the project's supervisord.conf, on ``port`` instead of 8000."""
    conf = project / "supervisord.conf"
    before = conf.read_text() + "\n" if conf.exists() else ""
    conf.write_text(before + snippet.replace(DOCS_PORT, str(port)))


def assert_stopped(project: Project, supervisord: int) -> None:
    wait_for(lambda: not is_alive(supervisord), "supervisord to be gone")
    assert not (project.runtime_dir() / "supervisor.sock").exists()


def daemon_pid(output: str) -> int:
    started = re.match(r"supervisord is running \(pid (\d+)\)", output)
    assert started, output
    return int(started[1])


# -- README ---------------------------------------------------------------------


def test_readme_quick_start_runs_as_written(
    venv: Venv, cleanup: Callable[[Path], Project], tmp_path: Path
) -> None:
    for line in block(README, "readme-install").splitlines():
        venv.install(shlex.split(line, comments=True), tmp_path)
    django = venv.django()
    # One line per Django: the one for the Django just installed.
    for line in for_django(block(README, "readme-worker-install"), django).splitlines():
        venv.install(shlex.split(line, comments=True), tmp_path)

    # "Quick start in your project": the test's project is a new one.
    path = startproject(venv, ["django-admin", "startproject", "mysite"], tmp_path)
    project = cleanup(path)
    add_settings(path, block(README, "readme-settings"), django)
    add_settings(path, block(README, "readme-worker-settings"), django)
    port = free_port()
    add_conf(path, block(README, "readme-conf"), port)
    add_conf(path, block(README, "readme-worker-conf"), port)

    supervisord = 0
    ran = []
    for line in block(README, "readme-run").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue  # a comment going on from the line before
        assert words[:2] == ["python", "manage.py"], line
        command = words[2:]
        if command in (
            ["supervisor"],
            ["supervisor", "run", "web", "python", "manage.py", "shell"],
        ):
            continue  # the foreground: test_quick_start; an interactive shell
        done = venv.run(words, path)
        said = done.stdout + done.stderr
        assert done.returncode == 0, f"{line}:\n{said}"
        assert "Traceback" not in said, f"{line}:\n{said}"
        ran.append(command[:2])
        if command == ["check"]:
            assert "System check identified no issues" in said
        elif command == ["supervisor", "--daemonize"]:
            supervisord = daemon_pid(done.stdout)
            assert WELCOME in (http_get(port) or ""), "the page"
        elif command == ["supervisor", "status"]:
            for state in (
                r"autoreload +RUNNING ",
                r"db_worker +RUNNING ",
                r"migrate +EXITED .* done",
                r"web +RUNNING .* ready",
            ):
                assert re.search(rf"^{state}", done.stdout, re.M), (state, done.stdout)
        elif command == ["supervisor", "restart", "web"]:
            assert done.stdout.split("\n") == ["web: stopped", "web: started", ""]
        elif command == ["supervisor", "logs"]:
            lines = done.stdout.splitlines()
            assert len(lines) == LOGS_LINES, done.stdout
            assert all(re.match(r"(autoreload|db_worker|migrate|web) +\| ", x) for x in lines)
            assert '"GET / HTTP/1.1" 200' in done.stdout  # the page the test got
        elif command == ["supervisor", "getconfig"]:
            assert re.search(r"^\[program:db_worker\]$", said, re.M)
            assert "manage.py djsupervisor_db_worker --no-reload" in said
        elif command[:2] == ["supervisor", "export"]:
            assert sorted(p.name for p in (path / "deploy").iterdir()) == [
                "mysite-db_worker.service",
                "mysite-migrate.service",
                "mysite-web.service",
                "mysite.target",
            ]
        elif command == ["supervisor", "shutdown"]:
            assert done.stdout == "Shut down\n"
            assert_stopped(project, supervisord)
        else:
            pytest.fail(f"README's quick start runs {line!r}: say here what it should print")
    assert ran[-1] == ["supervisor", "shutdown"] and ["supervisor", "--daemonize"] in ran


# -- docs/quickstart.rst --------------------------------------------------------


def run_session(venv: Venv, project: Project, name: str) -> None:
    """Run the console block ``name`` of the quick start; check each command's output."""
    supervisord = 0
    for step in session(block(QUICKSTART, name)):
        assert step.words[:2] == ["python", "manage.py"], step.words
        if step.words[2:4] == ["supervisor", "logs"]:
            done = again_until(partial(shows, step.shown), venv, step.words, project.path)
        else:
            done = venv.run(step.words, project.path)
        said = done.stdout + done.stderr
        assert done.returncode == 0, f"{shlex.join(step.words)}:\n{said}"
        assert_output_is(step.shown, said, step.words)
        if step.words[2:] == ["supervisor", "--daemonize"]:
            supervisord = daemon_pid(done.stdout)
        if step.words[2:] == ["supervisor", "shutdown"]:
            assert_stopped(project, supervisord)


def test_quick_start_runs_as_written(
    venv: Venv, cleanup: Callable[[Path], Project], tmp_path: Path
) -> None:
    cwd = tmp_path
    for step in session(block(QUICKSTART, "quickstart-install")):
        if step.words[0] == "django-admin":
            cwd = startproject(venv, step.words, cwd)
        elif step.words[0] == "cd":
            assert cwd.name == step.words[1], (cwd, step.words)
        else:
            venv.install(step.words, cwd)
    project = cleanup(cwd)
    django = venv.django()
    add_settings(cwd, block(QUICKSTART, "quickstart-settings"), django)
    port = free_port()
    add_conf(cwd, block(QUICKSTART, "quickstart-conf"), port)

    # In the foreground, until the page answers; then Ctrl-C.
    (foreground,) = [step.words for step in session(block(QUICKSTART, "quickstart-foreground"))]
    assert foreground == ["python", "manage.py", "supervisor"]
    process = subprocess.Popen(
        [venv.program("python"), *foreground[1:]],
        cwd=cwd,
        env=venv.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    project.foreground.append(process)
    assert process.stdout is not None
    output = Lines(process.stdout)
    output.wait_for(rf"^djsupervisor +\| web is ready at http://127.0.0.1:{port}/$")
    assert WELCOME in (http_get(port) or ""), "the page"
    # Every line the page shows is printed (the programs' lines may interleave otherwise).
    for shown in block(QUICKSTART, "quickstart-foreground-output").splitlines():
        if shown != "...":
            output.wait_for(rf"^{line_pattern(shown)}\s*$")
    process.send_signal(signal.SIGINT)
    assert process.wait(WAIT) == 0, output.last()

    run_session(venv, project, "quickstart-daemon")

    # A background worker.
    for step in session(for_django(block(QUICKSTART, "quickstart-worker-install"), django)):
        venv.install(step.words, cwd)
    add_settings(cwd, block(QUICKSTART, "quickstart-worker-settings"), django)
    add_conf(cwd, block(QUICKSTART, "quickstart-worker-conf"), port)
    run_session(venv, project, "quickstart-worker-run")
