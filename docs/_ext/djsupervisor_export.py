"""Sphinx directive that shows the example project's export in one format, made at build time.

::

    .. djsupervisor-export:: systemd

runs ``example_project/manage.py supervisor export FORMAT`` (in production:
``DJANGO_DEBUG=0``) into a scratch directory and shows each file it wrote,
so the page cannot drift from what the command writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "example_project"
SERVER_DIR = "/srv/mysite"  # where the pages say the example project is deployed
LANGUAGES = {".yaml": "yaml", ".service": "ini", ".target": "ini", ".timer": "ini"}


def exported(fmt: str) -> dict[str, str]:
    """Return the example project's export in ``fmt``: each file's text, by name.

    Made in a copy of the project, into its ``deploy/FORMAT`` as the page
    says: a Procfile's paths are relative to it.
    """
    with tempfile.TemporaryDirectory(prefix="djs-docs-") as scratch:
        project = Path(scratch) / "mysite"
        shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
        output = project / "deploy" / fmt
        env = {
            **os.environ,
            "DJANGO_DEBUG": "0",
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        command = [sys.executable, "manage.py", "supervisor", "export", fmt]
        command += ["--output", str(output), "--name", "mysite", "--image", "mysite:1.0"]
        subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
        # Host formats hold the real paths: show where a server would have them,
        # not where these docs happened to be built.
        return {
            path.name: path.read_text()
            .replace(sys.executable, f"{SERVER_DIR}/.venv/bin/python")
            .replace(str(project), SERVER_DIR)
            for path in sorted(output.iterdir())
        }


class DjsupervisorExport(SphinxDirective):
    """Emit each file of the example project's export as a titled literal block."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(EXAMPLE / "supervisord.conf"))
        found: list[nodes.Node] = []
        for name, text in exported(self.arguments[0]).items():
            found.append(nodes.paragraph("", "", nodes.literal(name, name)))
            block = nodes.literal_block(text, text)
            block["language"] = LANGUAGES.get(Path(name).suffix, "text")
            self.set_source_info(block)
            found.append(block)
        return found


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("djsupervisor-export", DjsupervisorExport)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
