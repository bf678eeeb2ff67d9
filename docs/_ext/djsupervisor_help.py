"""Sphinx directive that prints the ``manage.py supervisor --help`` text.

The command reference is generated from the command's own argparse parser so
that it cannot drift from the code::

    .. djsupervisor-help::
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

HELP_COLUMNS = "80"  # fixed width, so the output does not depend on the terminal
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@contextmanager
def _stable_terminal() -> Iterator[None]:
    """Fix the width argparse wraps to and keep colour codes out of the text."""
    saved = {name: os.environ.get(name) for name in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    os.environ["COLUMNS"] = HELP_COLUMNS
    os.environ["NO_COLOR"] = "1"
    os.environ.pop("FORCE_COLOR", None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _ensure_django() -> None:
    import django
    from django.apps import apps
    from django.conf import settings

    if not settings.configured:
        settings.configure(INSTALLED_APPS=["djsupervisor"])
    if not apps.ready:
        django.setup()


def command_help() -> tuple[str, str]:
    """Return the help text of ``manage.py supervisor`` and the command's source file."""
    _ensure_django()
    from djsupervisor.management.commands import supervisor

    with _stable_terminal():
        parser = supervisor.Command().create_parser("manage.py", "supervisor")
        text = parser.format_help()
    return _ANSI.sub("", text).rstrip() + "\n", supervisor.__file__


class DjsupervisorHelp(SphinxDirective):
    """Emit the command's ``--help`` output as a literal block."""

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        text, source = command_help()
        self.env.note_dependency(source)
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        self.set_source_info(block)
        return [block]


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("djsupervisor-help", DjsupervisorHelp)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
