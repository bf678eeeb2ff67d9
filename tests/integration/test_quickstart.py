"""docs/quickstart.rst, followed word for word in a new startproject."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ..support import REPO, WAIT, free_port, http_get, wait_for
from .conftest import Project
from .test_foreground import Lines

pytestmark = pytest.mark.integration
PAGE = REPO / "docs" / "quickstart.rst"


def block(name: str) -> str:
    """Return the content of the page's code block named ``name``."""
    found = re.search(
        rf"^\.\. code-block:: \w+\n   :name: {name}\n\n((?:   .*\n|\n)+)", PAGE.read_text(), re.M
    )
    assert found, f"no code block named {name} in {PAGE}"
    return "\n".join(line[3:] for line in found[1].splitlines()).strip() + "\n"


def commands(name: str) -> list[list[str]]:
    """Return the commands of a console block (its '$ ' lines), as argument lists."""
    return [shlex.split(line[2:]) for line in block(name).splitlines() if line.startswith("$ ")]


@pytest.mark.smoke
def test_the_quick_start_works_as_written(project: Project, tmp_path: Path) -> None:
    install = commands("quickstart-install")
    # Until a release, from a checkout: this one.
    assert install[0] == ["python", "-m", "pip", "install", "-e", "/path/to/djsupervisor"]
    assert install[1][:2] == ["django-admin", "startproject"] and install[2][0] == "cd"
    subprocess.run(
        [sys.executable, "-m", "django", *install[1][1:]], cwd=tmp_path, check=True, env=project.env
    )
    project.path = tmp_path / install[2][1]
    settings = project.path / install[1][2] / "settings.py"
    assert '"djsupervisor",' in block("quickstart-settings")
    settings.write_text(
        settings.read_text().replace(
            "INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "djsupervisor",'
        )
    )
    port = str(free_port())  # the page's 8000 may be taken on this machine
    project.write("supervisord.conf", block("quickstart-conf").replace("8000", port))

    def run(words: list[str]) -> subprocess.CompletedProcess[str]:
        assert words[:3] == ["python", "manage.py", "supervisor"]
        return subprocess.run(
            [sys.executable, *words[1:]],
            cwd=project.path,
            env=project.env,
            capture_output=True,
            text=True,
            timeout=WAIT * 2,
        )

    # A page from a template of the project's own, as a project soon has.
    settings.write_text(
        settings.read_text().replace("'DIRS': [],", "'DIRS': [BASE_DIR / 'templates'],")
    )
    project.write("templates/hello.html", "first version")
    urls = project.path / install[1][2] / "urls.py"
    page = "path('hello/', TemplateView.as_view(template_name='hello.html')),"
    urls.write_text(
        "from django.views.generic import TemplateView\n"
        + urls.read_text().replace("urlpatterns = [", f"urlpatterns = [\n    {page}")
    )

    (foreground,) = commands("quickstart-foreground")
    command = project.start_foreground(*foreground[3:], stdout=subprocess.PIPE, text=False)
    assert command.stdout is not None
    output = Lines(command.stdout)
    output.wait_for(rf"djsupervisor +\| web is ready at http://127.0.0.1:{port}/$")
    wait_for(lambda: http_get(int(port), "/hello/") == "first version" or None, "the page")
    # In debug mode, a template edit shows on the next request once web restarted.
    output.wait_for(r"^autoreload +\| watching ")
    project.write("templates/hello.html", "second version")
    wait_for(lambda: http_get(int(port), "/hello/") == "second version" or None, "the edit")
    command.send_signal(signal.SIGINT)
    assert command.wait(WAIT) == 0

    for words in commands("quickstart-daemon"):
        done = run(words)
        assert done.returncode == 0, (words, done.stdout, done.stderr)
        if words[3:] == ["status"]:
            assert re.search(r"^migrate +EXITED .* done$", done.stdout, re.M)
            assert re.search(r"^web +(STARTING|RUNNING) .* ready$", done.stdout, re.M)
    assert wait_for(lambda: project.run("status").returncode != 0, "supervisord to be gone")
