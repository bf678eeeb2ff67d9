"""A project to export in the export tests: its files written, production settings on."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.test import override_settings


@contextlib.contextmanager
def project_to_export(path: Path, conf: str, runtime: Path, **settings: Any) -> Iterator[Path]:
    """Write a project at ``path`` (``conf`` as its supervisord.conf); yield it, DEBUG off.

    ``runtime`` is its runtime base (a short path: sockets); ``settings``
    are more settings to override while it is exported.
    """
    path.mkdir(parents=True, exist_ok=True)
    (path / "manage.py").write_text("")
    (path / "supervisord.conf").write_text(conf)
    with override_settings(
        INSTALLED_APPS=["djsupervisor"],
        SUPERVISOR_RUNTIME_DIR=str(runtime),
        DEBUG=False,
        **settings,
    ):
        yield path
